"""What a viewer is to a webinar (registration, host role, community role, staff), batched
for DataLoaders, and whether they may watch its live events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.community import CommunityMember
from models.db import AnySelect
from models.webinar import (
    RegistrationStatus,
    Webinar,
    WebinarHost,
    WebinarHostRole,
    WebinarRegistration,
    WebinarVisibility,
)
from resolvers import policy
from resolvers.policy import Viewer, WebinarAccess
from resolvers.watch import Watch

Sessions = async_sessionmaker[AsyncSession]

WEBINAR_COLUMNS = (
    Webinar.id,
    Webinar.title,
    Webinar.description,
    Webinar.language,
    Webinar.starts_at,
    Webinar.ends_at,
    Webinar.timezone,
    Webinar.visibility,
    Webinar.community_id,
    Webinar.status,
    Webinar.capacity,
    Webinar.registered_count,
    Webinar.registration_deadline,
    Webinar.join_url,
    Webinar.recording_url,
    Webinar.slow_mode_seconds,
    Webinar.revision,
    Webinar.created_at,
)


def visible_webinar(viewer: Viewer, webinar_id: int) -> AnySelect:
    """The webinar's row, if the viewer may see it."""
    return select(*WEBINAR_COLUMNS).where(Webinar.id == webinar_id, policy.visible_webinars(viewer))


async def access_of(
    session: AsyncSession, viewer: Viewer, ids: Sequence[int]
) -> list[WebinarAccess]:
    """The viewer's access to each webinar in three queries, whatever the number of ids."""
    if viewer.member_id is None or not ids:
        return [WebinarAccess() for _ in ids]
    registrations = dict(
        (
            await session.execute(
                select(WebinarRegistration.webinar_id, WebinarRegistration.status).where(
                    WebinarRegistration.webinar_id.in_(ids),
                    WebinarRegistration.member_id == viewer.member_id,
                    WebinarRegistration.status != RegistrationStatus.CANCELLED,
                )
            )
        ).all()
    )
    host_roles: dict[int, WebinarHostRole] = {}
    for webinar_id, role in await session.execute(
        select(WebinarHost.webinar_id, WebinarHost.role).where(
            WebinarHost.webinar_id.in_(ids), WebinarHost.member_id == viewer.member_id
        )
    ):
        host_roles[webinar_id] = policy.stronger_host_role(host_roles.get(webinar_id), role)
    community_roles = dict(
        (
            await session.execute(
                select(Webinar.id, CommunityMember.role)
                .join(CommunityMember, CommunityMember.community_id == Webinar.community_id)
                .where(Webinar.id.in_(ids), CommunityMember.member_id == viewer.member_id)
            )
        ).all()
    )
    return [
        policy.webinar_access(
            viewer,
            registration=registrations.get(i),
            host_role=host_roles.get(i),
            community_role=community_roles.get(i),
        )
        for i in ids
    ]


async def access_by_webinar(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[WebinarAccess]:
    async with sessions() as session:
        return await access_of(session, viewer, ids)


async def access_to(session: AsyncSession, viewer: Viewer, webinar_id: int) -> WebinarAccess:
    return (await access_of(session, viewer, [webinar_id]))[0]


async def watch_webinar(sessions: Sessions, viewer: Viewer, webinar_id: int) -> Watch | None:
    """May the viewer follow the webinar's live events (registered, host or moderator), and in
    which scope: organisers and moderators see who asked anonymous questions, others do not.
    A public webinar's answer changes only on the webinar's own access events; a community's
    also with the community's membership, so it is asked again for every event."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Webinar.visibility).where(
                    Webinar.id == webinar_id, policy.visible_webinars(viewer)
                )
            )
        ).first()
        if row is None:
            return None
        access = await access_to(session, viewer, webinar_id)
    if not policy.takes_part_live(access):
        return None
    scope = ("webinar", viewer.role, policy.sees_anonymous_authors(access))
    return Watch(scope=scope, stable=row.visibility is WebinarVisibility.PUBLIC)
