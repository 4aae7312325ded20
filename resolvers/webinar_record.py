"""A webinar's lasting record in the knowledge base: filing the recording and the answered
questions as a resource draft (which then goes through the normal review), and the published
resources organisers link to a webinar."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from models.db import AnyRow, insert_ignoring_duplicates
from models.member import Member
from models.organization import Organization
from models.reference import UnRegion
from models.resource import Resource, ResourceKind, SourceType
from models.review import ReviewState
from models.webinar import (
    QuestionStatus,
    Webinar,
    WebinarLanguage,
    WebinarObjective,
    WebinarQuestion,
    WebinarStatus,
)
from models.webinar_record import WebinarRecord, WebinarResource
from resolvers import policy
from resolvers.errors import ClientError, ErrorCode, Problem, message_values
from resolvers.pagination import Page, PageRequest, decode_cursor, encode_cursor
from resolvers.policy import Viewer
from resolvers.resources import (
    MAX_BODY,
    RESOURCE_COLUMNS,
    ResourceContent,
    insert_draft,
    visible_resource,
)
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation
from resolvers.webinar_access import access_to, visible_webinar
from resolvers.webinar_registrations import lock_webinar
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

LISTING = "webinar-resources"
MAX_TITLE = 300
MAX_SUMMARY = 2_000
NOT_AN_ORGANISER = Problem(
    "webinarId",
    "Only the webinar's organisers and moderators may do this.",
    ErrorCode.NOT_ALLOWED,
)


# --- Reading ----------------------------------------------------------------------------------


async def records_by_webinar(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    """The resource filed from each webinar, as the viewer may see it (else None)."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(*RESOURCE_COLUMNS, WebinarRecord.webinar_id.label("record_of"))
                .join(WebinarRecord, WebinarRecord.resource_id == Resource.id)
                .where(WebinarRecord.webinar_id.in_(ids), policy.visible_resources(viewer))
            )
        ).all()
    by_webinar = {row.record_of: row for row in rows}
    return [by_webinar.get(i) for i in ids]


def _bound(cursor: str) -> int:
    (value,) = decode_cursor(LISTING, cursor, 1)
    if not isinstance(value, int):
        raise ClientError("Malformed cursor.")
    return value


async def linked_resource_pages(
    sessions: Sessions, viewer: Viewer, keys: Sequence[tuple[int, PageRequest]]
) -> list[Page]:
    """A page of each webinar's linked resources (published, visible to the viewer), in the
    order they were linked: one query per distinct page request, whatever the number of
    webinars (a window function ranks each webinar's links)."""
    by_request: dict[PageRequest, list[int]] = defaultdict(list)
    for webinar_id, request in keys:
        by_request[request].append(webinar_id)
    pages: dict[tuple[int, PageRequest], Page] = {}
    async with sessions() as session:
        for request, webinar_ids in by_request.items():
            upwards = not request.backwards
            order = WebinarResource.id.asc() if upwards else WebinarResource.id.desc()
            ranked = (
                select(
                    *RESOURCE_COLUMNS,
                    WebinarResource.webinar_id.label("linked_to"),
                    WebinarResource.id.label("link_id"),
                    func.row_number()
                    .over(partition_by=WebinarResource.webinar_id, order_by=order)
                    .label("link_rank"),
                )
                .join(WebinarResource, WebinarResource.resource_id == Resource.id)
                .where(
                    WebinarResource.webinar_id.in_(webinar_ids),
                    policy.listed_webinar_resources(viewer),
                )
            )
            cursor = request.before if request.backwards else request.after
            if cursor is not None:
                bound = _bound(cursor)
                ranked = ranked.where(
                    WebinarResource.id > bound if upwards else WebinarResource.id < bound
                )
            table = ranked.subquery()
            rows = (
                await session.execute(
                    select(table)
                    .where(table.c.link_rank <= request.size + 1)
                    .order_by(table.c.linked_to, table.c.link_rank)
                )
            ).all()
            grouped: dict[int, list[AnyRow]] = defaultdict(list)
            for row in rows:
                grouped[row.linked_to].append(row)
            for webinar_id in webinar_ids:
                pages[(webinar_id, request)] = _page(
                    sessions, viewer, webinar_id, request, grouped[webinar_id]
                )
    return [pages[key] for key in keys]


def _page(
    sessions: Sessions,
    viewer: Viewer,
    webinar_id: int,
    request: PageRequest,
    rows: list[AnyRow],
) -> Page:
    has_more = len(rows) > request.size
    rows = rows[: request.size]
    if request.backwards:
        rows.reverse()

    async def count() -> int:
        return (await linked_resource_counts(sessions, viewer, [webinar_id]))[0]

    return Page(
        rows=rows,
        cursors=[encode_cursor(LISTING, (row.link_id,)) for row in rows],
        has_next_page=has_more if not request.backwards else request.before is not None,
        has_previous_page=has_more if request.backwards else request.after is not None,
        count=count,
    )


async def linked_resource_counts(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[int]:
    """How many resources each webinar lists for the viewer, in one query."""
    async with sessions() as session:
        rows = await session.execute(
            select(WebinarResource.webinar_id, func.count())
            .join(Resource, Resource.id == WebinarResource.resource_id)
            .where(WebinarResource.webinar_id.in_(ids), policy.listed_webinar_resources(viewer))
            .group_by(WebinarResource.webinar_id)
        )
        counts = {webinar_id: int(n) for webinar_id, n in rows}
    return [counts.get(i, 0) for i in ids]


# --- Filing the record ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordDetails:
    """What the organiser may set on the draft; everything else comes from the webinar."""

    title: str | None = None
    summary: str | None = None
    language: str | None = None
    source_type: SourceType = SourceType.OTHER
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    themes: Sequence[str] = ()


@dataclass(frozen=True)
class RecordResult:
    resource: AnyRow | None = None
    webinar: AnyRow | None = None
    already_filed: bool = False
    problems: list[Problem] = field(default_factory=list)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def _plain(text: str) -> str:
    """A name as literal Markdown text (no formatting, no links)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


async def _answered_questions(session: AsyncSession, webinar_id: int) -> list[str]:
    """Each answered question as Markdown, in Q&A order (most votes, then oldest). An
    anonymous asker is not named; dismissed and unanswered questions are left out."""
    asker = aliased(Member)
    answerer = aliased(Member)
    rows = await session.execute(
        select(
            WebinarQuestion.body,
            WebinarQuestion.anonymous,
            WebinarQuestion.answer,
            WebinarQuestion.answered_live,
            WebinarQuestion.vote_count,
            asker.name.label("asker"),
            answerer.name.label("answerer"),
        )
        .outerjoin(asker, asker.id == WebinarQuestion.author_id)
        .outerjoin(answerer, answerer.id == WebinarQuestion.answered_by_id)
        .where(
            WebinarQuestion.webinar_id == webinar_id,
            WebinarQuestion.status == QuestionStatus.ANSWERED,
        )
        .order_by(WebinarQuestion.vote_count.desc(), WebinarQuestion.order_key.desc())
    )
    sections = []
    for number, row in enumerate(rows, start=1):
        if row.anonymous:
            who = "Asked anonymously"
        elif row.asker:
            who = f"Asked by {_plain(row.asker)}"
        else:
            who = "Asked by a participant"
        votes = f"{row.vote_count} vote{'' if row.vote_count == 1 else 's'}"
        by = f" by {_plain(row.answerer)}" if row.answerer else ""
        if row.answer and row.answer.strip():
            answer = f"**Answer**{by}:\n\n{_quoted(row.answer)}"
        else:
            answer = f"*Answered live during the webinar{by}.*"
        sections.append(
            f"### Question {number}\n\n*{who} · {votes}*\n\n{_quoted(row.body)}\n\n{answer}"
        )
    return sections


def _body(description: str, questions: list[str]) -> str:
    """The description, then as many answered questions as fit the resource's body limit."""
    parts = [description.strip()] if description.strip() else []
    if not questions:
        return "\n\n".join(parts)
    parts.append("## Questions and answers")
    text = "\n\n".join(parts)
    for index, section in enumerate(questions):
        left = len(questions) - index
        note = f"\n\n*{left} more answered questions are in the webinar's Q&A.*"
        if len(text) + 2 + len(section) + len(note) > MAX_BODY:
            return text + note
        text = f"{text}\n\n{section}"
    return text


async def _record_content(
    session: AsyncSession, viewer: Viewer, webinar: Webinar, details: RecordDetails
) -> ResourceContent:
    objectives = list(
        (
            await session.execute(
                select(WebinarObjective.objective_number)
                .where(WebinarObjective.webinar_id == webinar.id)
                .order_by(WebinarObjective.objective_number)
            )
        ).scalars()
    )
    languages = (
        await session.execute(
            select(WebinarLanguage.tag, WebinarLanguage.interpretation)
            .where(WebinarLanguage.webinar_id == webinar.id)
            .order_by(WebinarLanguage.interpretation, WebinarLanguage.tag)
        )
    ).all()
    tags = list(dict.fromkeys(tag for tag, _ in languages))
    language = details.language or (tags[0] if tags else "")
    publisher = ""
    if viewer.organization_id is not None:
        publisher = (
            await session.scalar(
                select(Organization.name).where(Organization.id == viewer.organization_id)
            )
        ) or ""
    held_on = webinar.ends_at.date()
    title = details.title if details.title is not None else f"{webinar.title} (recording)"
    summary = details.summary
    if summary is None:
        summary = (
            f"Recording of the webinar “{webinar.title}” held on {held_on.isoformat()}, "
            "with the questions answered."
        )
    return ResourceContent(
        title=title[:MAX_TITLE] if details.title is None else title,
        kind=ResourceKind.MULTIMEDIA,
        language=language,
        source_type=details.source_type,
        summary=summary[:MAX_SUMMARY] if details.summary is None else summary,
        body=_body(webinar.description, await _answered_questions(session, webinar.id)),
        link=webinar.recording_url,
        publisher=publisher,
        published_on=held_on,
        is_global=not (details.countries or details.regions),
        is_general=not objectives,
        objectives=objectives,
        countries=details.countries,
        regions=details.regions,
        other_languages=[t for t in tags if t != language],
        themes=details.themes,
    )


async def _file(
    work: UnitOfWork, viewer: Viewer, webinar_id: int, details: RecordDetails
) -> tuple[int, bool]:
    """The resource filed from the webinar, and whether it was filed before."""
    # The webinar's row lock serialises concurrent filings of the same webinar.
    webinar = await lock_webinar(work.session, viewer, webinar_id)
    access = await access_to(work.session, viewer, webinar_id)
    if not policy.may_file_webinar_record(access):
        raise Refused(NOT_AN_ORGANISER)
    filed = await work.session.scalar(
        select(WebinarRecord.resource_id).where(WebinarRecord.webinar_id == webinar_id)
    )
    if filed is not None:
        return filed, True
    if webinar.status is not WebinarStatus.ENDED:
        raise Refused(
            Problem(
                "webinarId",
                "A {status} webinar is filed once it has ENDED.",
                ErrorCode.INVALID_TRANSITION,
                values=message_values(status=webinar.status.value),
            )
        )
    if not webinar.recording_url:
        raise Refused(
            Problem(
                "recordingUrl",
                "Add the recording link first (updateWebinar), then file it.",
                ErrorCode.REQUIRED,
            )
        )
    content = await _record_content(work.session, viewer, webinar, details)
    resource = await insert_draft(work.session, viewer, content)
    work.session.add(
        WebinarRecord(webinar_id=webinar_id, resource_id=resource.id, filed_by_id=viewer.member_id)
    )
    # Linked at once: it shows among the webinar's resources when published.
    work.session.add(
        WebinarResource(
            webinar_id=webinar_id, resource_id=resource.id, linked_by_id=viewer.member_id
        )
    )
    return resource.id, False


async def file_record(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    webinar_id: int,
    details: RecordDetails,
) -> RecordResult:
    """Organisers and moderators file an ENDED webinar with a recording as a resource DRAFT,
    authored by them (then `submitForReview` as any resource). Once per webinar: filing again
    answers the record already filed (`already_filed`), never a second one."""

    async def change(work: UnitOfWork) -> RecordResult:
        resource_id, already_filed = await _file(work, viewer, webinar_id, details)
        return RecordResult(
            resource=await work.read_back(visible_resource(viewer, resource_id)),
            webinar=await work.read_back(visible_webinar(viewer, webinar_id)),
            already_filed=already_filed,
        )

    done = await mutation(sessions, events, viewer, change)
    if done.value is None:
        return RecordResult(problems=done.problems)
    if done.value.resource is None:
        # Filed by another organiser and still theirs alone to see (a draft in the making).
        return RecordResult(
            webinar=done.value.webinar,
            already_filed=True,
            problems=[
                Problem(
                    "webinarId",
                    "Another organiser already filed this webinar; their draft shows here "
                    "once it is published.",
                    ErrorCode.CONFLICT,
                )
            ],
        )
    return done.value


# --- Linking published resources ---------------------------------------------------------------


@dataclass(frozen=True)
class LinkResult:
    webinar_id: int | None = None
    resource_id: int | None = None
    problems: list[Problem] = field(default_factory=list)


async def _organised(work: UnitOfWork, viewer: Viewer, webinar_id: int) -> None:
    """Lock the webinar; refuse unless the viewer may change its list of resources."""
    await lock_webinar(work.session, viewer, webinar_id)
    access = await access_to(work.session, viewer, webinar_id)
    if not policy.may_link_webinar_resources(access):
        raise Refused(NOT_AN_ORGANISER)


async def link_resource(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    webinar_id: int,
    resource_id: int,
) -> LinkResult:
    """Organisers and moderators link a published resource to a webinar, before or after it;
    linking one already linked changes nothing."""

    async def change(work: UnitOfWork) -> None:
        await _organised(work, viewer, webinar_id)
        resource = (
            await work.session.execute(
                select(Resource.state, Resource.revision_of_id).where(
                    Resource.id == resource_id, policy.visible_resources(viewer)
                )
            )
        ).first()
        if resource is None:
            raise Refused(Problem("resourceId", "No such resource.", ErrorCode.NOT_FOUND))
        if resource.state is not ReviewState.APPROVED or resource.revision_of_id is not None:
            raise Refused(
                Problem(
                    "resourceId",
                    "Only published resources are linked (this one is {state}).",
                    ErrorCode.INVALID_TRANSITION,
                    values=message_values(state=resource.state.value),
                )
            )
        await insert_ignoring_duplicates(
            work.session,
            WebinarResource,
            webinar_id=webinar_id,
            resource_id=resource_id,
            linked_by_id=viewer.member_id,
        )

    return _linked(await mutation(sessions, events, viewer, change), webinar_id, resource_id)


async def unlink_resource(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    webinar_id: int,
    resource_id: int,
) -> LinkResult:
    """Organisers and moderators take a resource off a webinar's list."""

    async def change(work: UnitOfWork) -> None:
        await _organised(work, viewer, webinar_id)
        removed = await work.session.execute(
            delete(WebinarResource)
            .where(
                WebinarResource.webinar_id == webinar_id,
                WebinarResource.resource_id == resource_id,
            )
            .returning(WebinarResource.id)
        )
        if removed.first() is None:
            raise Refused(
                Problem(
                    "resourceId",
                    "That resource is not linked to this webinar.",
                    ErrorCode.NOT_FOUND,
                )
            )

    return _linked(await mutation(sessions, events, viewer, change), webinar_id, resource_id)


def _linked(done: Outcome[None], webinar_id: int, resource_id: int) -> LinkResult:
    if done.problems:
        return LinkResult(problems=done.problems)
    return LinkResult(webinar_id=webinar_id, resource_id=resource_id)
