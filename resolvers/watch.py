"""What a live subscription asks the policy: may this viewer watch the stream, in which scope."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Watch:
    """May the viewer watch a stream, and their permission scope on it (viewers with equal
    scopes see the same data). `stable`: only the stream's own access events (a thread moved
    or deleted) can change the answer, so it need not be asked again for every event."""

    scope: tuple[object, ...]
    stable: bool


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
