"""Communities of practice: creation, membership, join requests and invitations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.community import (
    Community,
    CommunityJoinRequest,
    CommunityLanguage,
    CommunityMember,
    CommunityObjective,
    CommunityRole,
    CommunityVisibility,
    JoinRequestKind,
    JoinRequestStatus,
)
from models.db import AnyRow, AnySelect
from models.member import Member
from models.moderation import AuditEntry, ModerationAction
from resolvers import policy
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.errors import ErrorCode, Problem, ProblemList
from resolvers.moderation_events import ModerationEventKind, emit_moderation_event
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import (
    clean_language,
    clean_languages,
    clean_objectives,
    clean_text,
    language_order_key,
)
from resolvers.watch import Watch
from subscriptions.events import EventPublisher, community_stream, member_stream

Sessions = async_sessionmaker[AsyncSession]

COMMUNITY_COLUMNS = (
    Community.id,
    Community.slug,
    Community.name,
    Community.name_key,
    Community.description,
    Community.visibility,
    Community.language,
    Community.ends_at,
    Community.created_at,
)
COMMUNITY_ORDER = Keyset("communities", (Community.name_key, Community.id))
MEMBERSHIP_ORDER = Keyset("community-members", (CommunityMember.member_id,))
REQUEST_ORDER = Keyset("join-requests", (CommunityJoinRequest.id,))
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

NO_SUCH_COMMUNITY = Problem("communityId", "No such community.", ErrorCode.NOT_FOUND)
NOT_A_MODERATOR = Problem(
    None, "Only moderators of this community may do this.", ErrorCode.NOT_ALLOWED
)
ONLY_MODERATORS_CREATE = Problem(None, "Only moderators create communities.", ErrorCode.NOT_ALLOWED)
SLUG_TAKEN = Problem("slug", "A community with this slug exists.", ErrorCode.CONFLICT)
NOT_A_MEMBER = Problem("memberId", "Not a member of this community.", ErrorCode.NOT_FOUND)


def _visible(viewer: Viewer) -> AnySelect:
    return select(*COMMUNITY_COLUMNS).where(policy.visible_communities(viewer))


async def communities_page(sessions: Sessions, viewer: Viewer, request: PageRequest) -> Page:
    return await fetch_page(sessions, _visible(viewer), COMMUNITY_ORDER, request)


async def communities_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(sessions, _visible(viewer).where(Community.id.in_(ids)), ids)


async def community_by_slug(sessions: Sessions, viewer: Viewer, slug: str) -> AnyRow | None:
    async with sessions() as session:
        return (await session.execute(_visible(viewer).where(Community.slug == slug))).first()


async def roles_of(
    sessions: Sessions, viewer: Viewer, community_ids: Sequence[int]
) -> list[CommunityRole | None]:
    """The viewer's role in each community (None: not a member)."""
    if viewer.member_id is None:
        return [None for _ in community_ids]
    async with sessions() as session:
        rows = await session.execute(
            select(CommunityMember.community_id, CommunityMember.role).where(
                CommunityMember.member_id == viewer.member_id,
                CommunityMember.community_id.in_(community_ids),
            )
        )
        roles = dict(rows.all())
    return [roles.get(i) for i in community_ids]


async def role_in(
    session: AsyncSession, member_id: int | None, community_id: int
) -> CommunityRole | None:
    if member_id is None:
        return None
    return await session.scalar(
        select(CommunityMember.role).where(
            CommunityMember.community_id == community_id, CommunityMember.member_id == member_id
        )
    )


async def readable(sessions: Sessions, viewer: Viewer, ids: Sequence[int]) -> list[bool]:
    """For each community, whether the viewer reads its threads and follows its activity."""
    async with sessions() as session:
        found = set(
            await session.scalars(
                select(Community.id).where(
                    Community.id.in_(ids), policy.readable_communities(viewer)
                )
            )
        )
    return [i in found for i in ids]


async def objectives_by_community(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, CommunityObjective.community_id, CommunityObjective.objective_number, ids
    )


async def languages_by_community(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, CommunityLanguage.community_id, CommunityLanguage.tag, ids, language_order_key
    )


async def community_members_page(
    sessions: Sessions, viewer: Viewer, community_id: int, request: PageRequest
) -> Page:
    """Members and their community roles, for whoever may see the community."""
    statement = (
        select(CommunityMember.member_id, CommunityMember.role, CommunityMember.joined_at)
        .join(Community, Community.id == CommunityMember.community_id)
        .where(CommunityMember.community_id == community_id, policy.readable_communities(viewer))
    )
    return await fetch_page(sessions, statement, MEMBERSHIP_ORDER, request)


@dataclass(frozen=True)
class NewCommunity:
    slug: str
    name: str
    description: str
    visibility: CommunityVisibility
    objectives: Sequence[int] = ()
    languages: Sequence[str] = ()
    ends_at: datetime | None = None
    language: str = "en"  # the language its name and description are written in


@dataclass(frozen=True)
class CommunityResult:
    community: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _clean_new_community(data: NewCommunity, problems: ProblemList) -> NewCommunity:
    slug = data.slug.strip().lower()
    if not _SLUG.fullmatch(slug) or len(slug) > 80:
        problems.add("slug", "Lower-case letters, digits and single hyphens, at most 80.")
    ends_at = data.ends_at
    if ends_at is not None and ends_at.tzinfo is None:
        problems.add("endsAt", "Give a time zone (for example 2027-01-31T17:00:00Z).")
    return NewCommunity(
        slug=slug,
        name=clean_text(problems, "name", data.name, max_length=200),
        description=clean_text(
            problems,
            "description",
            data.description,
            max_length=20_000,
            required=False,
            multiline=True,
        ),
        visibility=data.visibility,
        objectives=clean_objectives(problems, "objectives", data.objectives),
        languages=clean_languages(problems, "languages", data.languages),
        ends_at=ends_at,
        language=clean_language(problems, "language", data.language),
    )


async def create_community(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: NewCommunity
) -> CommunityResult:
    problems = ProblemList()
    clean = _clean_new_community(data, problems)
    # Who may not create communities hears that, not what is wrong with the input.
    not_allowed = [] if policy.may_create_communities(viewer) else [ONLY_MODERATORS_CREATE]

    async def change(work: UnitOfWork) -> AnyRow | None:
        community = Community(
            slug=clean.slug,
            name=clean.name,
            description=clean.description,
            visibility=clean.visibility,
            ends_at=clean.ends_at,
            language=clean.language,
            created_by_id=viewer.member_id,
        )
        work.session.add(community)
        await work.session.flush()
        work.session.add_all(
            CommunityObjective(community_id=community.id, objective_number=n)
            for n in clean.objectives
        )
        work.session.add_all(
            CommunityLanguage(community_id=community.id, tag=t) for t in clean.languages
        )
        work.session.add(
            CommunityMember(
                community_id=community.id,
                member_id=viewer.member_id,
                role=CommunityRole.MODERATOR,
            )
        )
        return await work.read_back(_visible(viewer).where(Community.id == community.id))

    done = await mutation(
        sessions, events, viewer, change, problems=not_allowed or problems, conflict=SLUG_TAKEN
    )
    return CommunityResult(community=done.value, problems=done.problems)


async def _community(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:
        raise Refused(NO_SUCH_COMMUNITY)
    return community


async def _add_member(
    work: UnitOfWork, community_id: int, member_id: int, role: CommunityRole = CommunityRole.MEMBER
) -> None:
    work.session.add(CommunityMember(community_id=community_id, member_id=member_id, role=role))
    await work.emit(
        community_stream(community_id),
        "MEMBER_JOINED",
        {"community": community_id, "member": member_id},
    )


async def _pending(
    session: AsyncSession, community_id: int, member_id: int
) -> CommunityJoinRequest | None:
    return await session.scalar(
        select(CommunityJoinRequest).where(
            CommunityJoinRequest.community_id == community_id,
            CommunityJoinRequest.member_id == member_id,
            CommunityJoinRequest.status == JoinRequestStatus.PENDING,
        )
    )


@dataclass(frozen=True)
class MembershipResult:
    """`joined`: the viewer is now a member; `pending`: a request waits for a moderator."""

    joined: bool = False
    pending: bool = False
    community: AnyRow | None = None  # as the viewer sees it after the change, read in it
    problems: list[Problem] = field(default_factory=list)


async def join_community(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, community_id: int, message: str
) -> MembershipResult:
    """Join a public community; ask to join a private one (or accept an invitation to it)."""
    problems = ProblemList()
    message = clean_text(
        problems, "message", message, max_length=2_000, required=False, multiline=True
    )

    async def change(work: UnitOfWork) -> MembershipResult:
        joining = await join(work)
        answer = _visible(viewer).where(Community.id == community_id)
        return replace(joining, community=await work.read_back(answer))

    async def join(work: UnitOfWork) -> MembershipResult:
        assert viewer.member_id is not None
        community = await _community(work.session, community_id)
        if await role_in(work.session, viewer.member_id, community_id) is not None:
            return MembershipResult(joined=True)
        pending = await _pending(work.session, community_id, viewer.member_id)
        invited = pending is not None and pending.kind is JoinRequestKind.INVITATION
        if policy.may_join_at_once(community.visibility, invited=invited):
            if pending is not None:
                pending.status, pending.decided_at = JoinRequestStatus.ACCEPTED, utcnow()
            await _add_member(work, community_id, viewer.member_id)
            return MembershipResult(joined=True)
        if pending is None:
            request = CommunityJoinRequest(
                community_id=community_id,
                member_id=viewer.member_id,
                kind=JoinRequestKind.REQUEST,
                message=message,
                created_by_id=viewer.member_id,
            )
            work.session.add(request)
            await work.session.flush()
            await emit_moderation_event(
                work,
                ModerationEventKind.JOIN_REQUESTED,
                community_id=community_id,
                member_id=viewer.member_id,
                join_request=request.id,
                reason=message,
            )
        return MembershipResult(pending=True)

    done = await mutation(sessions, events, viewer, change, problems=problems)
    return done.value or MembershipResult(problems=done.problems)


async def leave_community(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, community_id: int
) -> list[Problem]:
    async def change(work: UnitOfWork) -> None:
        result = await work.session.execute(
            delete(CommunityMember).where(
                CommunityMember.community_id == community_id,
                CommunityMember.member_id == viewer.member_id,
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Refused(NO_SUCH_COMMUNITY)
        await work.emit(
            community_stream(community_id),
            "MEMBER_LEFT",
            {"community": community_id, "member": viewer.member_id},
        )

    return (await mutation(sessions, events, viewer, change)).problems


async def _require_moderator(work: UnitOfWork, viewer: Viewer, community_id: int) -> Community:
    community = await _community(work.session, community_id)
    role = await role_in(work.session, viewer.member_id, community_id)
    if not policy.moderates_community(viewer, role):
        raise Refused(NOT_A_MODERATOR)
    return community


async def decide_join_request(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, request_id: int, accept: bool
) -> list[Problem]:
    """A community moderator accepts or declines a member's request to join."""
    missing = Problem("requestId", "No such pending request.", ErrorCode.NOT_FOUND)

    async def change(work: UnitOfWork) -> None:
        request = await work.session.get(CommunityJoinRequest, request_id)
        if request is None or request.status is not JoinRequestStatus.PENDING:
            raise Refused(missing)
        if request.kind is not JoinRequestKind.REQUEST:
            raise Refused(missing)
        await _require_moderator(work, viewer, request.community_id)
        request.status = JoinRequestStatus.ACCEPTED if accept else JoinRequestStatus.DECLINED
        request.decided_at = utcnow()
        if accept:
            await _add_member(work, request.community_id, request.member_id)

    return (await mutation(sessions, events, viewer, change)).problems


async def invite_member(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, community_id: int, member_id: int
) -> list[Problem]:
    """A community moderator invites a member; the member joins with `joinCommunity`."""

    async def change(work: UnitOfWork) -> None:
        await _require_moderator(work, viewer, community_id)
        if await work.session.get(Member, member_id) is None:
            raise Refused(Problem("memberId", "No such member.", ErrorCode.NOT_FOUND))
        if await role_in(work.session, member_id, community_id) is not None:
            return
        pending = await _pending(work.session, community_id, member_id)
        if pending is not None and pending.kind is JoinRequestKind.REQUEST:
            # They asked already: an invitation is an acceptance.
            pending.status, pending.decided_at = JoinRequestStatus.ACCEPTED, utcnow()
            await _add_member(work, community_id, member_id)
        elif pending is None:
            work.session.add(
                CommunityJoinRequest(
                    community_id=community_id,
                    member_id=member_id,
                    kind=JoinRequestKind.INVITATION,
                    created_by_id=viewer.member_id,
                )
            )

    return (await mutation(sessions, events, viewer, change)).problems


async def remove_community_member(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    community_id: int,
    member_id: int,
    reason: str,
) -> list[Problem]:
    """A moderator removes a member: from the commit on, the member reads nothing private."""
    problems = ProblemList()
    reason = clean_text(problems, "reason", reason, max_length=2_000, multiline=True)

    async def change(work: UnitOfWork) -> None:
        await _require_moderator(work, viewer, community_id)
        result = await work.session.execute(
            delete(CommunityMember).where(
                CommunityMember.community_id == community_id,
                CommunityMember.member_id == member_id,
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Refused(NOT_A_MEMBER)
        work.session.add(
            AuditEntry(
                actor_id=viewer.member_id,
                action=ModerationAction.REMOVE_COMMUNITY_MEMBER,
                subject_type="Member",
                subject_id=member_id,
                community_id=community_id,
                reason=reason,
            )
        )
        payload = {"community": community_id, "member": member_id}
        await work.emit(community_stream(community_id), "MEMBER_REMOVED", payload)
        await work.emit(member_stream(member_id), "REMOVED_FROM_COMMUNITY", payload)

    return (await mutation(sessions, events, viewer, change, problems=problems)).problems


async def set_community_role(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    community_id: int,
    member_id: int,
    role: CommunityRole,
) -> list[Problem]:
    async def change(work: UnitOfWork) -> None:
        await _require_moderator(work, viewer, community_id)
        membership = await work.session.get(CommunityMember, (community_id, member_id))
        if membership is None:
            raise Refused(NOT_A_MEMBER)
        membership.role = role

    return (await mutation(sessions, events, viewer, change)).problems


async def join_requests_page(
    sessions: Sessions, viewer: Viewer, community_id: int, request: PageRequest
) -> Page | None:
    """Pending requests and invitations of a community, for its moderators; None for others."""
    async with sessions() as session:
        role = await role_in(session, viewer.member_id, community_id)
    if not policy.moderates_community(viewer, role):
        return None
    statement = select(
        CommunityJoinRequest.id,
        CommunityJoinRequest.community_id,
        CommunityJoinRequest.member_id,
        CommunityJoinRequest.kind,
        CommunityJoinRequest.message,
        CommunityJoinRequest.created_at,
    ).where(
        CommunityJoinRequest.community_id == community_id,
        CommunityJoinRequest.status == JoinRequestStatus.PENDING,
    )
    return await fetch_page(sessions, statement, REQUEST_ORDER, request)


async def watch_community(sessions: Sessions, viewer: Viewer, community_id: int) -> Watch | None:
    """May the viewer follow the community's activity (None: no), and in what scope. A public
    community's answer is stable (visibility never changes); a private one's is asked again
    for every event, as membership may have ended."""
    async with sessions() as session:
        visibility = await session.scalar(
            select(Community.visibility).where(
                Community.id == community_id, policy.readable_communities(viewer)
            )
        )
        if visibility is None:
            return None
        role = await role_in(session, viewer.member_id, community_id)
    return Watch(scope=(viewer.role, role), stable=visibility is CommunityVisibility.PUBLIC)
