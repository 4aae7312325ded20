"""Carrying committed events to live subscribers through the broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from broadcaster import Broadcast

from models.event import StoredEvent
from subscriptions import metrics
from subscriptions.broadcast import GAP
from subscriptions.tracing import current_traceparent

# Brokers limit message size (PostgreSQL NOTIFY: 8,000 bytes). A larger event is announced as
# a gap instead; subscribers then read it from the log, where it is already committed.
MAX_MESSAGE_BYTES = 7_000
# How long a mutation's answer may wait for the broker after its commit; what is not published
# by then reaches subscribers through the live repair, within its interval.
PUBLISH_BUDGET_SECONDS = 2.0

logger = logging.getLogger("hub.publication")


class EventPublisher:
    """Publishes events that are already committed to the log. Publishing anything else would
    let subscribers see changes that a rollback then takes back — hence the method's name."""

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast

    async def publish_committed(self, events: Sequence[StoredEvent]) -> None:
        """Publish each event; never raise. The change is committed: a broker failing now
        (even in a way no backend's retry knows) must not answer the mutation as failed, nor
        keep the transaction's other events from going out. What is lost here is in the log,
        and subscribers repair it from there."""
        try:
            async with asyncio.timeout(PUBLISH_BUDGET_SECONDS):
                for event in events:
                    await self._publish(event)
        except TimeoutError:
            logger.warning(
                "publishing stalled for %.0f s after a commit: the rest of its %d event(s) is "
                "left to the live repair (subscriptions/heads.py)",
                PUBLISH_BUDGET_SECONDS,
                len(events),
            )

    async def _publish(self, event: StoredEvent) -> None:
        message = replace(event, traceparent=current_traceparent()).to_json()
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            message = GAP
        try:
            await self.broadcast.publish(event.stream, message)
            metrics.EVENTS_PUBLISHED.labels("ok").inc()
        except Exception:
            metrics.EVENTS_PUBLISHED.labels("failed").inc()
            logger.exception(
                "publishing %s #%d after its commit failed; subscribers repair it from the log",
                event.stream,
                event.seq,
            )


def thread_stream(thread_id: int) -> str:
    return f"thread:{thread_id}"


def community_stream(community_id: int) -> str:
    return f"community:{community_id}"


def member_stream(member_id: int) -> str:
    return f"member:{member_id}"


def webinar_stream(webinar_id: int) -> str:
    """The event-log stream of a webinar's live events (chat, Q&A, status)."""
    return f"webinar:{webinar_id}"


def moderation_stream() -> str:
    """The stream of what waits for moderators: new flags, items submitted for review, join
    requests and support requests (one stream: they arrive a few a minute, not a second)."""
    return "moderation"
