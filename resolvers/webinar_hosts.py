"""Organisers and speakers of webinars: members, or named guests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow
from models.member import Member
from models.webinar import WebinarHost, WebinarHostRole
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.unit_of_work import Refused
from resolvers.validation import clean_text

Sessions = async_sessionmaker[AsyncSession]

MAX_HOSTS = 20


async def hosts_by_webinar(sessions: Sessions, ids: Sequence[int]) -> list[list[AnyRow]]:
    """Organisers and speakers of each webinar, in the order they were given. A host's name
    is part of the announcement (public with the webinar); their profile stays behind the
    directory's policy."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                WebinarHost.webinar_id,
                WebinarHost.role,
                WebinarHost.member_id,
                func.coalesce(Member.name, WebinarHost.guest_name).label("name"),
                WebinarHost.guest_affiliation,
            )
            .outerjoin(Member, Member.id == WebinarHost.member_id)
            .where(WebinarHost.webinar_id.in_(ids))
            .order_by(WebinarHost.webinar_id, WebinarHost.id)
        )
        hosts: dict[int, list[AnyRow]] = defaultdict(list)
        for row in rows:
            hosts[row.webinar_id].append(row)
    return [hosts[i] for i in ids]


@dataclass(frozen=True)
class HostInput:
    """A member (by key) or a named guest."""

    member_id: int | None = None
    name: str | None = None
    affiliation: str | None = None


def clean_hosts(problems: ProblemList, name: str, hosts: Sequence[HostInput]) -> list[HostInput]:
    clean = []
    if len(hosts) > MAX_HOSTS:
        problems.add(
            name,
            "At most {max_hosts}.",
            ErrorCode.TOO_LONG,
            values=message_values(max_hosts=MAX_HOSTS),
        )
    for host in hosts[:MAX_HOSTS]:
        if (host.member_id is None) == (host.name is None):
            problems.add(name, "Give each either a member or a guest's name.")
            continue
        if host.member_id is not None:
            clean.append(HostInput(member_id=host.member_id))
            continue
        guest = clean_text(problems, name, host.name or "", max_length=200)
        affiliation = clean_text(
            problems, name, host.affiliation or "", max_length=200, required=False
        )
        clean.append(HostInput(name=guest, affiliation=affiliation or None))
    return clean


async def require_members(session: AsyncSession, hosts: Sequence[HostInput]) -> None:
    keys = {h.member_id for h in hosts if h.member_id is not None}
    found = set((await session.execute(select(Member.id).where(Member.id.in_(keys)))).scalars())
    if keys - found:
        raise Refused(Problem("organisers", "No such member.", ErrorCode.NOT_FOUND))


def host_rows(
    webinar_id: int, role: WebinarHostRole, hosts: Sequence[HostInput]
) -> list[WebinarHost]:
    return [
        WebinarHost(
            webinar_id=webinar_id,
            role=role,
            member_id=h.member_id,
            guest_name=h.name,
            guest_affiliation=h.affiliation,
        )
        for h in hosts
    ]
