"""Members: the directory, profiles, expertise, languages and roles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.member import Member, MemberExpertise, MemberLanguage, Role
from models.organization import Organization, OrganizationKind
from resolvers import policy
from resolvers.auth import revoke_member_tokens
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.edits import Changes, sent
from resolvers.errors import ClientError, ErrorCode, Problem, ProblemList
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import MEMBERS
from resolvers.unit_of_work import Change, Refused, UnitOfWork, mutation, reading_back
from resolvers.validation import (
    clean_country,
    clean_languages,
    clean_objectives,
    clean_text,
    language_order_key,
)
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

# The directory is read as plain rows: no ORM identity map on the hot path.
MEMBER_COLUMNS = (
    Member.id,
    Member.name,
    Member.name_key,
    Member.email,
    Member.organization_id,
    Member.country,
    Member.bio,
    Member.is_expert,
    Member.role,
    Member.created_at,
    Member.updated_at,
)
DIRECTORY_ORDER = Keyset("members", (Member.name_key, Member.id))


@dataclass(frozen=True)
class MemberFilter:
    """Expert-directory filters; every one given must match (objectives: any of them)."""

    objectives: Sequence[int] = ()
    country: str | None = None
    language: str | None = None
    languages: Sequence[str] = ()  # any of them
    organization_kind: OrganizationKind | None = None
    is_expert: bool | None = None
    roles: Sequence[Role] = ()  # any of them


def _visible(viewer: Viewer) -> AnySelect:
    return select(*MEMBER_COLUMNS).where(policy.visible_members(viewer))


def _speaks(problems: ProblemList, field: str, languages: Sequence[str]) -> ColumnElement[bool]:
    """Declares any of `languages` (BCP 47; `es` also matches `es-MX`)."""
    tags = clean_languages(problems, field, list(languages)) or [""]
    return exists().where(
        MemberLanguage.member_id == Member.id,
        or_(
            *(
                or_(MemberLanguage.tag == tag, MemberLanguage.tag.startswith(tag + "-"))
                for tag in tags
            )
        ),
    )


def _filtered(statement: AnySelect, problems: ProblemList, criteria: MemberFilter) -> AnySelect:
    if criteria.objectives:
        numbers = clean_objectives(problems, "objectives", criteria.objectives)
        statement = statement.where(
            exists().where(
                MemberExpertise.member_id == Member.id,
                MemberExpertise.objective_number.in_(numbers),
            )
        )
    if criteria.country is not None:
        statement = statement.where(
            Member.country == clean_country(problems, "country", criteria.country)
        )
    if criteria.language is not None:
        statement = statement.where(_speaks(problems, "language", [criteria.language]))
    if criteria.languages:
        statement = statement.where(_speaks(problems, "languages", criteria.languages))
    if criteria.roles:
        statement = statement.where(Member.role.in_(criteria.roles))
    if criteria.organization_kind is not None:
        statement = statement.where(
            exists().where(
                Organization.id == Member.organization_id,
                Organization.kind == criteria.organization_kind,
            )
        )
    if criteria.is_expert is not None:
        statement = statement.where(Member.is_expert.is_(criteria.is_expert))
    return statement


def directory(viewer: Viewer, criteria: MemberFilter) -> AnySelect:
    """The directory's members matching `criteria`, as the viewer may see them (unordered)."""
    problems = ProblemList()
    statement = _filtered(_visible(viewer), problems, criteria)
    if problems:
        raise ClientError(" ".join(f"{p.field}: {p.text}" for p in problems))
    return statement


async def members_page(
    sessions: Sessions, viewer: Viewer, criteria: MemberFilter, request: PageRequest
) -> Page:
    return await fetch_page(sessions, directory(viewer, criteria), DIRECTORY_ORDER, request)


async def members_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    """Rows in the order of `ids`; None where a member does not exist or may not be seen."""
    return await rows_by_ids(sessions, _visible(viewer).where(Member.id.in_(ids)), ids)


def in_preference_order(declared: Iterable[tuple[int, str]]) -> list[str]:
    """A member's declared (position, tag)s as tags in their order (ties: the UN order)."""
    return [tag for *_, tag in sorted((p, language_order_key(t), t) for p, t in declared)]


async def _languages_of(session: AsyncSession, member_ids: Sequence[int]) -> list[list[str]]:
    statement = select(MemberLanguage.member_id, MemberLanguage.position, MemberLanguage.tag).where(
        MemberLanguage.member_id.in_(member_ids)
    )
    found: dict[int, list[tuple[int, str]]] = {}
    for member_id, position, tag in await session.execute(statement):
        found.setdefault(member_id, []).append((position, tag))
    return [in_preference_order(found.get(i, [])) for i in member_ids]


async def languages_by_member(sessions: Sessions, member_ids: Sequence[int]) -> list[list[str]]:
    """Each member's languages in their own order of preference (ties: the UN order)."""
    async with sessions() as session:
        return await _languages_of(session, member_ids)


async def declared_languages(
    session: AsyncSession, member_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    """Members' languages, each in their own order (what the mail they get is written in)."""
    found = await _languages_of(session, member_ids)
    return {
        member_id: tuple(languages) for member_id, languages in zip(member_ids, found, strict=True)
    }


async def expertise_by_member(sessions: Sessions, member_ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, MemberExpertise.member_id, MemberExpertise.objective_number, member_ids
    )


async def replace_languages(session: AsyncSession, member_id: int, tags: Sequence[str]) -> None:
    await session.execute(delete(MemberLanguage).where(MemberLanguage.member_id == member_id))
    session.add_all(
        MemberLanguage(member_id=member_id, tag=tag, position=position)
        for position, tag in enumerate(tags)
    )


async def replace_expertise(session: AsyncSession, member_id: int, numbers: Sequence[int]) -> None:
    await session.execute(delete(MemberExpertise).where(MemberExpertise.member_id == member_id))
    session.add_all(
        MemberExpertise(member_id=member_id, objective_number=number) for number in numbers
    )


@dataclass(frozen=True)
class MemberResult:
    """The member as the viewer now sees it, or the problems that changed nothing."""

    member: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _clean_profile(changes: Changes, problems: ProblemList) -> dict[str, Any]:
    clean = sent(changes, problems, clearable=("country",))
    if "name" in clean:
        clean["name"] = clean_text(problems, "name", clean["name"], max_length=200)
    if "country" in clean:
        clean["country"] = clean_country(problems, "country", clean["country"])
    if "bio" in clean:
        clean["bio"] = clean_text(
            problems, "bio", clean["bio"], max_length=5_000, required=False, multiline=True
        )
    if "languages" in clean:
        clean["languages"] = clean_languages(problems, "languages", clean["languages"])
    if "expertise" in clean:
        clean["expertise"] = clean_objectives(problems, "expertise", clean["expertise"])
    return clean


async def update_profile(sessions: Sessions, viewer: Viewer, changes: Changes) -> MemberResult:
    """The viewer changes the fields of their profile that they sent (`resolvers/edits.py`)."""
    problems = ProblemList()
    clean = _clean_profile(changes, problems)

    async def change(work: UnitOfWork) -> int:
        assert viewer.member_id is not None
        member = await work.session.get_one(Member, viewer.member_id)
        if "languages" in clean:
            await replace_languages(work.session, member.id, clean.pop("languages"))
        if "expertise" in clean:
            await replace_expertise(work.session, member.id, clean.pop("expertise"))
        for name, value in clean.items():
            setattr(member, name, value)
        member.updated_at = utcnow()
        await reindex(work.session, MEMBERS, [member.id])
        return member.id

    done = await mutation(sessions, None, viewer, _answered(viewer, change), problems=problems)
    return MemberResult(member=done.value, problems=done.problems)


NO_SUCH_MEMBER = Problem("memberId", "No such member.", ErrorCode.NOT_FOUND)


def _answered(viewer: Viewer, change: Change[int]) -> Change[AnyRow | None]:
    """`change`, answering with the member it wrote as the viewer sees them, read in its
    transaction."""
    return reading_back(change, lambda member_id: _visible(viewer).where(Member.id == member_id))


async def set_member_role(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, member_id: int | None, role: Role
) -> MemberResult:
    """Admins change roles; the member's sessions end so the new role takes effect at once."""
    refusals = []
    if not policy.may_set_roles(viewer):
        refusals.append(Problem(None, "Only admins set roles.", ErrorCode.NOT_ALLOWED))
    elif member_id == viewer.member_id:
        refusals.append(
            Problem("memberId", "Admins cannot change their own role.", ErrorCode.NOT_ALLOWED)
        )

    async def change(work: UnitOfWork) -> int:
        member = await work.session.get(Member, member_id) if member_id is not None else None
        if member is None:
            raise Refused(NO_SUCH_MEMBER)
        if member.role is not role:
            member.role = role
            await revoke_member_tokens(work, member.id)
        return member.id

    done = await mutation(
        sessions, events, viewer, _answered(viewer, change), problems=refusals, sign_in=False
    )
    return MemberResult(member=done.value, problems=done.problems)


async def assign_member_organization(
    sessions: Sessions, viewer: Viewer, *, member_id: int, changes: Changes
) -> MemberResult:
    """Admins say which organisation a member speaks for (it weighs in reviews later):
    `organization_id` None removes the member from theirs; left out, it stays."""
    refusals = ProblemList()
    if not policy.may_manage_organizations(viewer):
        refusals.add(None, "Only admins assign organisations.", ErrorCode.NOT_ALLOWED)
    values = sent(changes, refusals, clearable=("organization_id",))

    async def change(work: UnitOfWork) -> int:
        member = await work.session.get(Member, member_id)
        if member is None:
            raise Refused(NO_SUCH_MEMBER)
        if "organization_id" not in values:
            return member.id
        organization_id = values["organization_id"]
        if (
            organization_id is not None
            and await work.session.get(Organization, organization_id) is None
        ):
            raise Refused(Problem("organizationId", "No such organisation.", ErrorCode.NOT_FOUND))
        member.organization_id = organization_id
        return member.id

    done = await mutation(
        sessions, None, viewer, _answered(viewer, change), problems=refusals, sign_in=False
    )
    return MemberResult(member=done.value, problems=done.problems)
