"""Every committed event reaches every live subscriber, whatever the broker lost (issue 12).

A publish can be lost after its commit: the broker was down, stalled or slow past the publish
budget, or the process died between commit and publish. A subscriber hears of such a loss only
when a later event shows the gap — the last event of a quiet thread might never arrive. So each
process compares, every `interval`, the log's head of each stream its subscribers follow with
the highest seq that reached them (live, or read from the log); a stream whose events committed
by the previous look have still not arrived (a publish merely in flight would have) is repaired:
its subscribers are told to replay from the log. A lost event thus arrives within two intervals, with or without later traffic, broker
or no broker."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.event import last_seqs
from subscriptions import metrics
from subscriptions.broadcast import HubBroadcast

logger = logging.getLogger("hub.live")

STREAMS_PER_QUERY = 500


class HeadWatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broadcast: HubBroadcast,
        interval: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.broadcast = broadcast
        self.interval = interval
        self._behind: dict[str, int] = {}  # stream: its head at the last look, if behind
        self.repairs = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:
                logger.exception("live repair: comparing stream heads failed; trying again")

    async def check(self) -> list[str]:
        """One look: the streams repaired now."""
        streams = self.broadcast.local_channels()
        heads: dict[str, int] = {}
        for start in range(0, len(streams), STREAMS_PER_QUERY):
            chunk = streams[start : start + STREAMS_PER_QUERY]
            async with self.sessions() as session:
                heads.update(zip(chunk, await last_seqs(session, chunk), strict=True))
        # Behind now; and repaired if what was committed by the last look has still not come
        # (a publish merely in flight arrives within the interval).
        behind = {s: head for s, head in heads.items() if head > self.broadcast.seen(s)}
        repaired = [s for s in behind if self.broadcast.seen(s) < self._behind.get(s, 0)]
        for stream in repaired:
            self.broadcast.repair(stream, behind.pop(stream))
        if repaired:
            self.repairs += len(repaired)
            metrics.LIVE_REPAIRS.inc(len(repaired))
            logger.warning("live repair: %d stream(s) had events the broker lost", len(repaired))
        self._behind = behind
        return repaired
