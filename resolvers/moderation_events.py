"""Moderators' live work: one event stream of what waits for them (new flags, items submitted
for review, join requests, support requests), and who may watch which of its events."""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.community import Community
from models.event import StoredEvent, stream_position
from resolvers import policy
from resolvers.policy import Viewer
from resolvers.unit_of_work import UnitOfWork
from resolvers.watch import Watch
from subscriptions.events import moderation_stream

Sessions = async_sessionmaker[AsyncSession]


class ModerationEventKind(enum.Enum):
    """What arrived for moderators."""

    FLAG_RAISED = "FLAG_RAISED"
    REVIEW_SUBMITTED = "REVIEW_SUBMITTED"
    JOIN_REQUESTED = "JOIN_REQUESTED"
    SUPPORT_REQUESTED = "SUPPORT_REQUESTED"


async def emit_moderation_event(
    work: UnitOfWork,
    kind: ModerationEventKind,
    *,
    community_id: int | None,
    member_id: int | None,
    **subject: int | str,
) -> None:
    """Tell moderators, in the transaction that makes the change. `community_id`: the
    community whose moderators it concerns (None: the hub's global staff); `member_id`: who
    flagged, asked or submitted; `subject`: what it is about (`post`, `flag`, `request`, ...)."""
    payload = {"community": community_id, "member": member_id, **subject}
    await work.emit(moderation_stream(), kind.value, payload)


async def _moderated_communities(sessions: Sessions, viewer: Viewer) -> frozenset[int]:
    if viewer.member_id is None or policy.watches_all_moderation(viewer):
        return frozenset()
    async with sessions() as session:
        rows = await session.scalars(
            select(Community.id).where(policy.moderated_by(viewer, Community.id))
        )
        return frozenset(rows)


async def watch_moderation(sessions: Sessions, viewer: Viewer) -> Watch | None:
    """None when the viewer moderates nothing. Asked again for every event (`stable` is
    false): a moderator who steps down stops receiving their community's events at once."""
    moderated = await _moderated_communities(sessions, viewer)
    scope = policy.moderation_watch_scope(viewer, moderated)
    if scope is None:
        return None

    async def admits(event: StoredEvent) -> bool:
        community = event.payload.get("community")
        return policy.may_see_moderation_event(
            viewer, moderated, int(community) if community is not None else None
        )

    return Watch(scope=scope, stable=False, admits=admits)


async def moderation_position(sessions: Sessions, viewer: Viewer) -> int | None:
    """The stream's last seq, for those who may watch it (None for everyone else)."""
    if await watch_moderation(sessions, viewer) is None:
        return None
    async with sessions() as session:
        return (await stream_position(session, moderation_stream()))[0]
