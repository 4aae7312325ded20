"""What a live subscription asks the policy: may this viewer watch the stream, in which scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from models.event import StoredEvent

Admits = Callable[[StoredEvent], Awaitable[bool]]


@dataclass(frozen=True)
class Watch:
    """May the viewer watch a stream, and their permission scope on it (viewers with equal
    scopes see the same data). `stable`: only the stream's own access events (a thread moved
    or deleted) can change the answer, so it need not be asked again for every event.
    `admits`, when set, asks the policy about each event's own subject before it is sent (a
    member's notifications: each about something else); an event it refuses is skipped."""

    scope: tuple[object, ...]
    stable: bool
    admits: Admits | None = None

    async def refuses(self, event: StoredEvent) -> bool:
        return self.admits is not None and not await self.admits(event)


# Events after which even a stable answer must be asked again.
ACCESS_EVENTS = frozenset(
    {
        "THREAD_MOVED",
        "THREAD_DELETED",
        # support requests: a proposed expert who declines no longer sees the request
        "EXPERT_DECLINED",
        # webinars: a participant who cancels stops receiving the webinar's events
        "WEBINAR_REGISTRATION_CANCELLED",
    }
)
