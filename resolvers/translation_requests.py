"""Translation requests: members ask to have an item in a language (`request_translation`);
translators list the open ones (`requests_page`), most asked first. A request is one row per
(item, language) with its count of requesters; submitting a translation into the language
closes it (`translations.close_requests`), and asking again after that opens it anew.

Every decision is `resolvers/policy/`'s; every change goes through `unit_of_work.mutation`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.translation import (
    TranslatableKind,
    Translation,
    TranslationRequest,
    TranslationRequester,
    TranslationStatus,
)
from resolvers import policy
from resolvers.errors import NOT_SIGNED_IN, ErrorCode, Problem, ProblemList
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.translations import KINDS, Sessions, clean_language, same_language, visible_item
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation
from subscriptions.events import EventPublisher

MOST_ASKED_FIRST = Keyset(
    "translation_requests",
    (TranslationRequest.requester_count, TranslationRequest.id),
    descending=True,
)


@dataclass(frozen=True)
class RequestInput:
    kind: TranslatableKind
    item_id: int
    language: str


def _columns(viewer: Viewer) -> list[Any]:
    mine = exists().where(
        TranslationRequester.request_id == TranslationRequest.id,
        TranslationRequester.member_id == (viewer.member_id or 0),
    )
    return [
        TranslationRequest.id,
        TranslationRequest.kind,
        TranslationRequest.item_id,
        TranslationRequest.language,
        TranslationRequest.requester_count,
        TranslationRequest.requested_at,
        mine.label("requested_by_me"),
    ]


def _item_visible(viewer: Viewer) -> ColumnElement[bool]:
    """The request's item is one the viewer may see, by its kind's own policy."""
    return or_(
        *(
            and_(
                TranslationRequest.kind == kind,
                TranslationRequest.item_id.in_(select(spec.model.id).where(spec.visible(viewer))),
            )
            for kind, spec in KINDS.items()
        )
    )


def visible_requests(viewer: Viewer) -> ColumnElement[bool]:
    return policy.visible_translation_requests(viewer, _item_visible(viewer))


async def requests_page(
    sessions: Sessions, viewer: Viewer, language: str | None, request: PageRequest
) -> Page:
    """The open requests the viewer may see, in `language` (its primary subtag: `es` and
    `es-MX` are one language to a translator) or in any, most asked first."""
    statement: AnySelect = select(*_columns(viewer)).where(visible_requests(viewer))
    if language is not None:
        statement = statement.where(same_language(TranslationRequest.language, language))
    return await fetch_page(sessions, statement, MOST_ASKED_FIRST, request)


async def _translated(
    session: AsyncSession, viewer: Viewer, data: RequestInput, language: str
) -> bool:
    """A current translation into the language that the viewer may read already exists."""
    found = await session.scalar(
        select(Translation.field)
        .where(
            Translation.kind == data.kind,
            Translation.item_id == data.item_id,
            same_language(Translation.language, language),
            Translation.status != TranslationStatus.OUTDATED,
            policy.visible_translations(viewer),
        )
        .limit(1)
    )
    return found is not None


async def _open_request(session: AsyncSession, data: RequestInput, language: str) -> int:
    """The open request's id: the existing row (opened again if a translation closed it),
    or a new one."""
    row = await session.scalar(
        select(TranslationRequest)
        .where(
            TranslationRequest.kind == data.kind,
            TranslationRequest.item_id == data.item_id,
            TranslationRequest.language == language,
        )
        .with_for_update()
    )
    if row is None:
        row = TranslationRequest(kind=data.kind, item_id=data.item_id, language=language)
        session.add(row)
        await session.flush()
    elif row.closed_at is not None:
        # Those who asked before were answered: the new round counts anew.
        await session.execute(
            delete(TranslationRequester).where(TranslationRequester.request_id == row.id)
        )
        row.closed_at, row.requested_at, row.requester_count = None, utcnow(), 0
        await session.flush()
    return row.id


async def _add_requester(session: AsyncSession, request_id: int, member_id: int) -> None:
    """Count the member once, however often they ask."""
    known = await session.get(TranslationRequester, (request_id, member_id))
    if known is not None:
        return
    session.add(TranslationRequester(request_id=request_id, member_id=member_id))
    await session.execute(
        update(TranslationRequest)
        .where(TranslationRequest.id == request_id)
        .values(requester_count=TranslationRequest.requester_count + 1)
    )


async def request_translation(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: RequestInput
) -> Outcome[AnyRow | None]:
    """Ask for the item in the language; answers the open request as the viewer sees it."""
    problems = ProblemList()
    language = clean_language(problems, data.language)

    async def change(work: UnitOfWork) -> AnyRow | None:
        if not policy.may_request_translation(viewer):
            raise Refused(NOT_SIGNED_IN)
        item = await visible_item(work.session, viewer, data.kind, data.item_id)
        if policy.speaks([item.language], language):
            raise Refused(
                Problem("language", "That is the original's language.", ErrorCode.INVALID)
            )
        if await _translated(work.session, viewer, data, language):
            raise Refused(
                Problem(
                    "language",
                    "It is already translated into this language.",
                    ErrorCode.CONFLICT,
                )
            )
        request_id = await _open_request(work.session, data, language)
        assert viewer.member_id is not None  # signed in: `mutation` checked it
        await _add_requester(work.session, request_id, viewer.member_id)
        return await work.read_back(
            select(*_columns(viewer)).where(TranslationRequest.id == request_id)
        )

    return await mutation(sessions, events, viewer, change, problems=problems)
