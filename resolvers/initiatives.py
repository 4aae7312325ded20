"""Initiatives: reading and filtering, writing drafts (optionally answering a call for
practices), the featured flag. Their review is the one mechanism of `resolvers/reviews.py`."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow, AnySelect
from models.initiative import (
    Initiative,
    InitiativeCountry,
    InitiativeObjective,
    InitiativePartner,
    InitiativePrinciple,
    InitiativeRegion,
    InitiativeResource,
    InitiativeStatus,
)
from models.organization import Organization
from models.reference import GuidingPrinciple, UnRegion
from models.resource import Resource
from models.review import ReviewState
from resolvers import policy
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.calls import closed_call_problem
from resolvers.edits import Changes, patched
from resolvers.errors import ClientError, ErrorCode, Problem, ProblemList, message_values
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.revisions import INITIATIVE_ABOUT_TABLES, edit_target, stored_content
from resolvers.search_index import reindex
from resolvers.search_sources import INITIATIVES
from resolvers.translations import mark_outdated
from resolvers.unit_of_work import Change, Refused, UnitOfWork, mutation, reading_back
from resolvers.validation import clean_country, clean_language, clean_objectives, clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

INITIATIVE_COLUMNS = (
    Initiative.id,
    Initiative.title,
    Initiative.title_key,  # the TITLE order's keyset reads it from the row
    Initiative.summary,
    Initiative.language,
    Initiative.lead_organization_id,
    Initiative.status,
    Initiative.starts_on,
    Initiative.ends_on,
    Initiative.results,
    Initiative.replicability,
    Initiative.is_global,
    Initiative.featured,
    Initiative.call_id,
    Initiative.revision_of_id,
    Initiative.merged_at,
    Initiative.state,
    Initiative.review_round,
    Initiative.author_id,
    Initiative.organization_id,
    Initiative.submitted_at,
    Initiative.reviewed_at,
    Initiative.approved_at,
    Initiative.review_by,
    Initiative.under_re_review,
    Initiative.needs_additional_reviewer,
    Initiative.created_at,
)
MAX_TEXT = 20_000
MAX_PARTNERS = 50
NO_SUCH_INITIATIVE = Problem("initiativeId", "No such initiative.", ErrorCode.NOT_FOUND)


class InitiativeOrder(enum.Enum):
    NEWEST = "NEWEST"
    RECENTLY_REVIEWED = "RECENTLY_REVIEWED"
    TITLE = "TITLE"


ORDERS = {
    InitiativeOrder.NEWEST: Keyset(
        "initiatives-newest", (Initiative.created_at, Initiative.id), descending=True
    ),
    InitiativeOrder.RECENTLY_REVIEWED: Keyset(
        "initiatives-reviewed", (Initiative.reviewed_at, Initiative.id), descending=True
    ),
    InitiativeOrder.TITLE: Keyset("initiatives-title", (Initiative.title_key, Initiative.id)),
}


@dataclass(frozen=True)
class InitiativeFilter:
    """Every criterion given must match; within a list, any value matches."""

    objectives: Sequence[int] = ()
    principles: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    statuses: Sequence[InitiativeStatus] = ()
    featured: bool | None = None
    call_id: int | None = None
    states: Sequence[ReviewState] = (ReviewState.APPROVED,)
    started_from: date | None = None
    started_until: date | None = None


def _any_of(table: Any, column: str, values: Sequence[object]) -> ColumnElement[bool]:
    return exists().where(
        table.initiative_id == Initiative.id, getattr(table, column).in_(list(values))
    )


def filtered_initiatives(viewer: Viewer, criteria: InitiativeFilter) -> AnySelect:
    problems = ProblemList()
    statement = select(*INITIATIVE_COLUMNS).where(
        policy.visible_initiatives(viewer), Initiative.revision_of_id.is_(None)
    )
    if criteria.states:
        statement = statement.where(Initiative.state.in_(list(criteria.states)))
    if criteria.objectives:
        numbers = clean_objectives(problems, "objectives", criteria.objectives)
        statement = statement.where(_any_of(InitiativeObjective, "objective_number", numbers))
    if criteria.principles:
        letters = [p.strip().lower() for p in criteria.principles]
        statement = statement.where(_any_of(InitiativePrinciple, "principle_letter", letters))
    if criteria.countries:
        codes = [clean_country(problems, "countries", c) for c in criteria.countries]
        statement = statement.where(_any_of(InitiativeCountry, "code", codes))
    if criteria.regions:
        m49 = [r.value for r in criteria.regions]
        statement = statement.where(_any_of(InitiativeRegion, "m49", m49))
    if criteria.statuses:
        statement = statement.where(Initiative.status.in_(list(criteria.statuses)))
    if criteria.featured is not None:
        statement = statement.where(Initiative.featured.is_(criteria.featured))
    if criteria.call_id is not None:
        statement = statement.where(Initiative.call_id == criteria.call_id)
    if criteria.started_from is not None:
        statement = statement.where(Initiative.starts_on >= criteria.started_from)
    if criteria.started_until is not None:
        statement = statement.where(Initiative.starts_on <= criteria.started_until)
    if problems:
        raise ClientError(" ".join(f"{p.field}: {p.text}" for p in problems))
    return statement


async def initiatives_page(
    sessions: Sessions,
    viewer: Viewer,
    criteria: InitiativeFilter,
    order: InitiativeOrder,
    request: PageRequest,
) -> Page:
    statement = filtered_initiatives(viewer, criteria)
    return await fetch_page(sessions, statement, ORDERS[order], request)


REVISION_ORDER = Keyset("initiative-revisions", (Initiative.id,), descending=True)


async def revisions_page(
    sessions: Sessions, viewer: Viewer, initiative_id: int, request: PageRequest
) -> Page:
    """Proposed and merged revisions of an initiative, newest first, as the viewer may see them."""
    statement = select(*INITIATIVE_COLUMNS).where(
        Initiative.revision_of_id == initiative_id, policy.visible_initiatives(viewer)
    )
    return await fetch_page(sessions, statement, REVISION_ORDER, request)


async def count_initiatives(sessions: Sessions, viewer: Viewer, criteria: InitiativeFilter) -> int:
    total = select(func.count()).select_from(filtered_initiatives(viewer, criteria).subquery())
    async with sessions() as session:
        return int((await session.execute(total)).scalar_one())


async def initiatives_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions,
        select(*INITIATIVE_COLUMNS).where(
            Initiative.id.in_(ids), policy.visible_initiatives(viewer)
        ),
        ids,
    )


async def partners_by_initiative(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, InitiativePartner.initiative_id, InitiativePartner.organization_id, ids
    )


async def objectives_by_initiative(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, InitiativeObjective.initiative_id, InitiativeObjective.objective_number, ids
    )


async def principles_by_initiative(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, InitiativePrinciple.initiative_id, InitiativePrinciple.principle_letter, ids
    )


async def countries_by_initiative(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, InitiativeCountry.initiative_id, InitiativeCountry.code, ids
    )


async def regions_by_initiative(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, InitiativeRegion.initiative_id, InitiativeRegion.m49, ids
    )


async def resources_by_initiative(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, InitiativeResource.initiative_id, InitiativeResource.resource_id, ids
    )


# --- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitiativeContent:
    title: str
    status: InitiativeStatus
    summary: str = ""
    lead_organization_id: int | None = None
    partner_ids: Sequence[int] = ()
    starts_on: date | None = None
    ends_on: date | None = None
    results: str = ""
    replicability: str = ""
    is_global: bool = False
    objectives: Sequence[int] = ()
    principles: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    resource_ids: Sequence[int] = ()
    # The language its text is written in; None: as it is (an edit), or en (a new one).
    language: str | None = None


@dataclass(frozen=True)
class InitiativeResult:
    initiative: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def _existing(
    session: AsyncSession, column: Any, keys: Sequence[int], *where: Any
) -> set[int]:
    if not keys:
        return set()
    return set((await session.execute(select(column).where(column.in_(keys), *where))).scalars())


async def _clean(
    session: AsyncSession,
    viewer: Viewer,
    data: InitiativeContent,
    problems: ProblemList | None = None,
    linked: Sequence[int] = (),
) -> tuple[dict[str, object], dict[str, list[object]]]:
    """Columns and what it is about, as stored; or `Refused` with every problem (those already
    in `problems` too). Resources already `linked` stay linked even if the viewer no longer
    sees them; new ones must be visible to the viewer."""
    problems = ProblemList() if problems is None else problems
    objectives = clean_objectives(problems, "objectives", data.objectives)
    if not objectives:
        problems.add("objectives", "Name at least one GCM objective.", ErrorCode.REQUIRED)
    letters = set((await session.execute(select(GuidingPrinciple.letter))).scalars())
    principles = sorted({p.strip().lower() for p in data.principles})
    if set(principles) - letters:
        problems.add(
            "principles",
            "Guiding principles are lettered {letters}.",
            values=message_values(letters=", ".join(sorted(letters))),
        )
    countries: list[str] = sorted(
        {c for c in (clean_country(problems, "countries", c) for c in data.countries) if c}
    )
    if not (countries or data.regions or data.is_global):
        problems.add(
            "countries", "Name its countries or regions, or mark it global.", ErrorCode.REQUIRED
        )
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        problems.add("endsOn", "Must not be before `startsOn`.")
    organizations = {data.lead_organization_id, *data.partner_ids} - {None}
    found = await _existing(session, Organization.id, [o for o in organizations if o is not None])
    if organizations - found:
        problems.add("partnerIds", "No such organisation.", ErrorCode.NOT_FOUND)
    if len(data.partner_ids) > MAX_PARTNERS:
        problems.add(
            "partnerIds",
            "At most {max_partners} partners.",
            ErrorCode.TOO_LONG,
            values=message_values(max_partners=MAX_PARTNERS),
        )
    resources = set(data.resource_ids)
    visible = await _existing(
        session, Resource.id, list(resources), policy.visible_resources(viewer)
    )
    if resources - visible - set(linked):
        problems.add("resourceIds", "No such resource.", ErrorCode.NOT_FOUND)
    columns: dict[str, object] = {
        **(
            {"language": clean_language(problems, "language", data.language)}
            if data.language is not None
            else {}
        ),
        "title": clean_text(problems, "title", data.title, max_length=300),
        "summary": clean_text(
            problems, "summary", data.summary, max_length=2_000, multiline=True, required=False
        ),
        "status": data.status,
        "lead_organization_id": data.lead_organization_id,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "results": clean_text(
            problems, "results", data.results, max_length=MAX_TEXT, multiline=True, required=False
        ),
        "replicability": clean_text(
            problems,
            "replicability",
            data.replicability,
            max_length=MAX_TEXT,
            multiline=True,
            required=False,
        ),
        "is_global": data.is_global,
    }
    about: dict[str, list[object]] = {
        "objective_number": list(objectives),
        "principle_letter": list(principles),
        "code": list(countries),
        "m49": list[object](sorted({r.value for r in data.regions})),
        "organization_id": list[object](dict.fromkeys(data.partner_ids)),
        "resource_id": list[object](dict.fromkeys(data.resource_ids)),
    }
    if problems:
        raise Refused(*problems)
    return columns, about


async def _write_about(
    session: AsyncSession, initiative_id: int, about: dict[str, list[object]]
) -> None:
    for table, column in INITIATIVE_ABOUT_TABLES:
        await session.execute(delete(table).where(table.initiative_id == initiative_id))
        session.add_all(table(initiative_id=initiative_id, **{column: v}) for v in about[column])


async def insert_draft(
    session: AsyncSession, viewer: Viewer, data: InitiativeContent, call_id: int | None = None
) -> Initiative:
    """Validate `data` and add it as a DRAFT by the signed-in viewer, for their organisation,
    inside the caller's transaction (raises `Refused` with every problem of the content)."""
    columns, about = await _clean(session, viewer, data)
    initiative = Initiative(
        author_id=viewer.member_id,
        organization_id=viewer.organization_id,
        call_id=call_id,
        **columns,
    )
    session.add(initiative)
    await session.flush()
    await _write_about(session, initiative.id, about)
    await reindex(session, INITIATIVES, [initiative.id])
    return initiative


def visible_initiative(viewer: Viewer, initiative_id: int) -> AnySelect:
    """The initiative's row, if the viewer may see it."""
    return select(*INITIATIVE_COLUMNS).where(
        Initiative.id == initiative_id, policy.visible_initiatives(viewer)
    )


async def _answered(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, change: Change[int]
) -> InitiativeResult:
    """Run `change` as one mutation: the initiative it wrote, as the viewer sees it once
    committed (read in its transaction), or why nothing changed."""
    answer = partial(visible_initiative, viewer)
    done = await mutation(sessions, events, viewer, reading_back(change, answer))
    return InitiativeResult(initiative=done.value, problems=done.problems)


async def create_initiative(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    data: InitiativeContent,
    call_id: int | None,
) -> InitiativeResult:
    """A new DRAFT by the viewer, for their organisation, answering a call if one is given
    (refused after the call's deadline)."""

    async def change(work: UnitOfWork) -> int:
        if call_id is not None and (problem := await closed_call_problem(work.session, call_id)):
            raise Refused(problem)
        return (await insert_draft(work.session, viewer, data, call_id)).id

    return await _answered(sessions, events, viewer, change)


async def update_initiative(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    initiative_id: int,
    changes: Changes,
) -> InitiativeResult:
    """The author changes the fields sent (those of `InitiativeContent`; `resolvers/edits.py`),
    the others keep their value. A draft (or an initiative whose changes were requested)
    changes in place; editing a published initiative creates a revision (a DRAFT of its own)
    that is reviewed before it replaces the public content."""

    async def change(work: UnitOfWork) -> int:
        # Locked (PostgreSQL): two edits at once are taken one after the other, so a
        # published initiative never gets two open revisions.
        initiative = await work.session.scalar(
            select(Initiative)
            .where(Initiative.id == initiative_id, policy.visible_initiatives(viewer))
            .with_for_update(of=Initiative)
        )
        if initiative is None:
            raise Refused(NO_SUCH_INITIATIVE)
        if not policy.may_act_as_author(viewer, initiative.author_id):
            raise Refused(
                Problem("initiativeId", "Only the author edits it.", ErrorCode.NOT_ALLOWED)
            )
        target, base = await edit_target(work.session, initiative, "initiative")
        current = await stored_content(work.session, base, InitiativeContent)
        problems = ProblemList()
        data = patched(current, changes, problems)
        columns, about = await _clean(
            work.session, viewer, data, problems, linked=current.resource_ids
        )
        for name, value in columns.items():
            setattr(target, name, value)
        await mark_outdated(work.session, target)
        work.session.add(target)
        await work.session.flush()
        await _write_about(work.session, target.id, about)
        if target is initiative:  # a revision is found once merged into it
            await reindex(work.session, INITIATIVES, [initiative.id])
        return target.id

    return await _answered(sessions, events, viewer, change)


async def set_featured(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, initiative_id: int, featured: bool
) -> InitiativeResult:
    """Moderators showcase published initiatives (the flagship showcase)."""

    async def change(work: UnitOfWork) -> int:
        initiative = await work.session.scalar(
            select(Initiative).where(
                Initiative.id == initiative_id, policy.visible_initiatives(viewer)
            )
        )
        if initiative is None:
            raise Refused(NO_SUCH_INITIATIVE)
        if not policy.may_feature(viewer):
            raise Refused(
                Problem(None, "Only moderators feature initiatives.", ErrorCode.NOT_ALLOWED)
            )
        if featured and (initiative.state is not ReviewState.APPROVED or initiative.revision_of_id):
            raise Refused(
                Problem(
                    None,
                    "Only published initiatives are featured (it is {state}).",
                    ErrorCode.INVALID_TRANSITION,
                    values=message_values(state=initiative.state.value),
                )
            )
        initiative.featured = featured
        return initiative.id

    return await _answered(sessions, events, viewer, change)
