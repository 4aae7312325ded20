"""Bench-only probe, imported at start-up by the hub processes `fanout.py` starts (it puts
this directory on their PYTHONPATH): on SIGUSR1 the process prints how many times it executed
a live event and how many times it shared a result (`schema.fanout.SHARED_RESULTS`) to its
log. Nothing else changes; the request path is untouched."""

from __future__ import annotations

import signal
import sys
from types import FrameType

PREFIX = "BENCH_FANOUT"


def _report(signum: int, frame: FrameType | None) -> None:
    fanout = sys.modules.get("schema.fanout")
    results = getattr(fanout, "SHARED_RESULTS", None)
    executions = getattr(results, "executions", -1)
    shared = getattr(results, "shared", -1)
    print(f"{PREFIX} executions={executions} shared={shared}", file=sys.stderr, flush=True)


signal.signal(signal.SIGUSR1, _report)
