"""Bench-only probe, imported at start-up by the hub processes `fanout.py` starts (it puts
this directory on their PYTHONPATH). On SIGUSR1 the process prints to its log:

- when it started publishing each event since the previous signal (`BENCH_PUBLISH stream seq
  unix-time`), for publish→receive latency. The first signal wraps
  `EventPublisher.publish_committed` to note the time (one `time.time()` per commit);
- how many times it executed a live event and how many times it shared a result
  (`schema.fanout.SHARED_RESULTS`), last, so that a reader who sees it has the rest.

Nothing else changes."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

PREFIX = "BENCH_FANOUT"
_published: list[tuple[str, int, float]] = []
_wrapped = False


def _note_publishing() -> None:
    global _wrapped
    events = sys.modules.get("subscriptions.events")
    if _wrapped or events is None:
        return
    original = events.EventPublisher.publish_committed

    async def publish_committed(self: Any, committed: Sequence[Any]) -> None:
        started = time.time()
        _published.extend((event.stream, event.seq, started) for event in committed)
        await original(self, committed)

    events.EventPublisher.publish_committed = publish_committed
    _wrapped = True


def _report(signum: int, frame: FrameType | None) -> None:
    _note_publishing()
    lines = [f"BENCH_PUBLISH {stream} {seq} {at:.6f}" for stream, seq, at in _published]
    _published.clear()
    fanout = sys.modules.get("schema.fanout")
    results = getattr(fanout, "SHARED_RESULTS", None)
    executions = getattr(results, "executions", -1)
    shared = getattr(results, "shared", -1)
    lines.append(f"{PREFIX} executions={executions} shared={shared}")
    print("\n".join(lines), file=sys.stderr, flush=True)


signal.signal(signal.SIGUSR1, _report)
