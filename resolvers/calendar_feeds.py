"""Secret calendar feed URLs: calendar apps subscribe to a bare URL and cannot send a bearer
token, so each member may hold one random feed token (only its keyed hash is stored). It
reads the member's own webinars and nothing else; resetting it revokes the old URL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.member import Member
from models.webinar import CalendarFeed
from resolvers.auth import AuthConfig, token_digest
from resolvers.errors import Problem
from resolvers.policy import Viewer
from resolvers.unit_of_work import UnitOfWork, mutation

Sessions = async_sessionmaker[AsyncSession]

FEED_PREFIX = "cal_"  # a marker, not a secret


@dataclass(frozen=True)
class FeedResult:
    token: str | None = None
    problems: list[Problem] = field(default_factory=list)


async def reset_feed(
    sessions: Sessions, config: AuthConfig, viewer: Viewer, *, enabled: bool = True
) -> FeedResult:
    """A new feed token for the viewer (shown once), or none when not `enabled`; the previous
    one stops working either way."""
    token = FEED_PREFIX + secrets.token_urlsafe(32) if enabled else None

    async def change(work: UnitOfWork) -> str | None:
        assert viewer.member_id is not None
        await work.session.execute(
            delete(CalendarFeed).where(CalendarFeed.member_id == viewer.member_id)
        )
        if token is not None:
            digest = token_digest(config, token)
            work.session.add(CalendarFeed(member_id=viewer.member_id, token_hash=digest))
        return token

    done = await mutation(sessions, None, viewer, change)
    return FeedResult(token=done.value, problems=done.problems)


async def viewer_for_feed(sessions: Sessions, config: AuthConfig, token: str) -> Viewer | None:
    """The member a feed token belongs to, as a viewer; None for an unknown or replaced one."""
    if not token.startswith(FEED_PREFIX) or len(token) > 200:
        return None
    async with sessions() as session:
        row = (
            await session.execute(
                select(Member.id, Member.role, Member.organization_id)
                .join(CalendarFeed, CalendarFeed.member_id == Member.id)
                .where(CalendarFeed.token_hash == token_digest(config, token))
            )
        ).first()
    if row is None:
        return None
    return Viewer(member_id=row.id, role=row.role, organization_id=row.organization_id)
