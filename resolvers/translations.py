"""Translations of curated content: submit, verify, remove; load in batches; mark outdated.

Every decision is `resolvers/policy/`'s; every change goes through `unit_of_work.mutation`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, delete, or_, select, tuple_, update
from sqlalchemy import inspect as inspect_row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.community import Community
from models.db import AnyRow
from models.initiative import CallForPractices, Initiative
from models.member import MemberLanguage
from models.resource import Resource
from models.translation import (
    TranslatableKind,
    Translation,
    TranslationRequest,
    TranslationStatus,
)
from models.webinar import Webinar
from resolvers import (
    policy,
    search_sources,  # noqa: F401 - registers the sources reindexed here
)
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.languages import standard_tag
from resolvers.policy import Viewer
from resolvers.search_index import SOURCES, reindex
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]
Key = tuple[TranslatableKind, int]


@dataclass(frozen=True)
class TranslatableModel:
    model: type[Any]
    visible: Callable[[Viewer], ColumnElement[bool]]
    # Each human-facing text field, with the longest text it may hold (as the original's).
    fields: Mapping[str, int]


KINDS: Mapping[TranslatableKind, TranslatableModel] = {
    TranslatableKind.RESOURCE: TranslatableModel(
        Resource,
        policy.visible_resources,
        {"title": 300, "summary": 2_000, "body": 50_000},
    ),
    TranslatableKind.INITIATIVE: TranslatableModel(
        Initiative,
        policy.visible_initiatives,
        {"title": 300, "summary": 2_000, "results": 20_000, "replicability": 20_000},
    ),
    TranslatableKind.WEBINAR: TranslatableModel(
        Webinar, policy.visible_webinars, {"title": 300, "description": 20_000}
    ),
    TranslatableKind.COMMUNITY: TranslatableModel(
        Community, policy.visible_communities, {"name": 200, "description": 20_000}
    ),
    TranslatableKind.CALL: TranslatableModel(
        CallForPractices, policy.visible_calls, {"theme": 200, "description": 20_000}
    ),
}
_KIND_OF_MODEL = {spec.model: kind for kind, spec in KINDS.items()}
SUBMITTED_STATUSES = (TranslationStatus.HUMAN, TranslationStatus.MACHINE)


async def translations_by_items(
    sessions: Sessions, viewer: Viewer, keys: Sequence[Key]
) -> list[list[AnyRow]]:
    """For each (kind, item) — an item the viewer already sees — the translations the viewer
    may see, by language then field: one query for the whole batch."""
    statement = (
        select(*Translation.__table__.columns)
        .where(
            tuple_(Translation.kind, Translation.item_id).in_(list(keys)),
            policy.visible_translations(viewer),
        )
        .order_by(Translation.language, Translation.field)
    )
    found: dict[Key, list[AnyRow]] = defaultdict(list)
    async with sessions() as session:
        for row in (await session.execute(statement)).all():
            found[(row.kind, row.item_id)].append(row)
    return [found[key] for key in keys]


@dataclass(frozen=True)
class TranslationTarget:
    """Which translation: an item's, in one language (every field of it)."""

    kind: TranslatableKind
    item_id: int
    language: str


@dataclass(frozen=True)
class TranslationInput:
    kind: TranslatableKind
    item_id: int
    language: str
    texts: Mapping[str, str]  # field name (of KINDS[kind].fields) → text
    machine: bool = False


def clean_translation(data: TranslationInput, problems: ProblemList) -> dict[str, str]:
    """The texts to store, cleaned like the original's (a body's HTML is rendered and sanitized
    when read, as the original's is); an unknown field or an empty input is refused."""
    limits = KINDS[data.kind].fields
    texts: dict[str, str] = {}
    for name, text in data.texts.items():
        if name not in limits:
            problems.add(
                "texts",
                "No field {name} to translate here: {limits}.",
                values=message_values(name=repr(name), limits=sorted(limits)),
            )
            continue
        texts[name] = clean_text(
            problems, "texts", text, max_length=limits[name], multiline=True, required=False
        )
    if not any(texts.values()):
        problems.add("texts", "Give at least one translated text.", ErrorCode.REQUIRED)
    return {name: text for name, text in texts.items() if text}


async def visible_item(
    session: AsyncSession, viewer: Viewer, kind: TranslatableKind, id_: int
) -> Any:
    spec = KINDS[kind]
    item = await session.scalar(
        select(spec.model).where(spec.model.id == id_, spec.visible(viewer))
    )
    if item is None:
        raise Refused(Problem("itemId", "No such item.", ErrorCode.NOT_FOUND))
    return item


async def _declared(session: AsyncSession, viewer: Viewer) -> list[str]:
    tags = await session.scalars(
        select(MemberLanguage.tag).where(MemberLanguage.member_id == viewer.member_id)
    )
    return list(tags)


def clean_language(problems: ProblemList, value: str) -> str:
    tag = standard_tag(value)
    if tag is None:
        problems.add(
            "language",
            "{value} is not a BCP 47 language tag, such as fr.",
            values=message_values(value=repr(value[:40])),
        )
        return value
    return tag


async def submit_translation(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: TranslationInput
) -> Outcome[str]:
    """Store the viewer's translation of the fields sent (replacing that language's earlier
    text of those fields): HUMAN, or MACHINE when a tool made it. Answers the language."""
    problems = ProblemList()
    language = clean_language(problems, data.language)
    texts = clean_translation(data, problems)

    async def change(work: UnitOfWork) -> str:
        item = await visible_item(work.session, viewer, data.kind, data.item_id)
        if not policy.may_translate(viewer, await _declared(work.session, viewer), language):
            raise Refused(
                Problem(
                    "language",
                    "Declare this language on your profile to translate into it.",
                    ErrorCode.NOT_ALLOWED,
                )
            )
        if policy.speaks([item.language], language):
            raise Refused(
                Problem("language", "That is the original's language.", ErrorCode.INVALID)
            )
        status = TranslationStatus.MACHINE if data.machine else TranslationStatus.HUMAN
        for name, text in texts.items():
            await _store(work.session, data, name, language, text, status, viewer)
        await close_requests(work.session, data.kind, data.item_id, language)
        await _reindex(work.session, data.kind, data.item_id)
        return language

    return await mutation(sessions, events, viewer, change, problems=problems)


async def _store(
    session: AsyncSession,
    data: TranslationInput,
    name: str,
    language: str,
    text: str,
    status: TranslationStatus,
    viewer: Viewer,
) -> None:
    key = (data.kind, data.item_id, name, language)
    row = await session.get(Translation, key)
    if row is None:
        row = Translation(kind=data.kind, item_id=data.item_id, field=name, language=language)
        session.add(row)
    row.text = text
    row.status = status
    row.translator_id = viewer.member_id
    row.verifier_id = None
    row.updated_at = utcnow()


async def _language_rows(
    session: AsyncSession, kind: TranslatableKind, item_id: int, language: str
) -> list[Translation]:
    rows = await session.scalars(
        select(Translation)
        .where(
            Translation.kind == kind,
            Translation.item_id == item_id,
            Translation.language == language,
        )
        .with_for_update()
    )
    found = list(rows)
    if not found:
        raise Refused(Problem("language", "No translation in this language.", ErrorCode.NOT_FOUND))
    return found


async def verify_translation(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, target: TranslationTarget
) -> Outcome[str]:
    """A reviewer who speaks the language checks every field of it: VERIFIED. An outdated
    translation is resubmitted first (it was made from an older original)."""
    problems = ProblemList()
    kind, item_id, tag = target.kind, target.item_id, clean_language(problems, target.language)

    async def change(work: UnitOfWork) -> str:
        await visible_item(work.session, viewer, kind, item_id)
        rows = await _language_rows(work.session, kind, item_id, tag)
        translators = {r.translator_id for r in rows if r.translator_id is not None}
        declared = await _declared(work.session, viewer)
        if not policy.may_verify_translation(viewer, declared, tag, translators):
            raise Refused(
                Problem(
                    None,
                    "Reviewers who declared this language verify others' translations.",
                    ErrorCode.NOT_ALLOWED,
                )
            )
        if any(r.status is TranslationStatus.OUTDATED for r in rows):
            raise Refused(
                Problem(
                    None,
                    "The original changed since this translation: it is OUTDATED; resubmit it.",
                    ErrorCode.INVALID_TRANSITION,
                )
            )
        for row in rows:
            row.status = TranslationStatus.VERIFIED
            row.verifier_id = viewer.member_id
        await _reindex(work.session, kind, item_id)
        return tag

    return await mutation(sessions, events, viewer, change, problems=problems)


async def remove_translation(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, target: TranslationTarget
) -> Outcome[str]:
    """Moderators remove every field of a translation; readers get the original again."""
    problems = ProblemList()
    kind, item_id, tag = target.kind, target.item_id, clean_language(problems, target.language)

    async def change(work: UnitOfWork) -> str:
        if not policy.may_remove_translation(viewer):
            raise Refused(Problem(None, "Moderators remove translations.", ErrorCode.NOT_ALLOWED))
        await visible_item(work.session, viewer, kind, item_id)
        await _language_rows(work.session, kind, item_id, tag)
        await work.session.execute(
            delete(Translation).where(
                Translation.kind == kind,
                Translation.item_id == item_id,
                Translation.language == tag,
            )
        )
        await _reindex(work.session, kind, item_id)
        return tag

    return await mutation(sessions, events, viewer, change, problems=problems)


def same_language(column: SQLColumnExpression[str], tag: str) -> ColumnElement[bool]:
    """The tag in `column` is of the same language as `tag` (`es`, `es-MX`: one language to a
    reader and a translator). Tags are stored standardised: the primary subtag in lower case."""
    primary = tag.split("-")[0].lower()
    return or_(column == primary, column.like(primary + "-%"))


async def close_requests(
    session: AsyncSession, kind: TranslatableKind, item_id: int, language: str
) -> None:
    """A translation into the language was submitted: the open requests for it are answered
    (resolvers/translation_requests.py)."""
    await session.execute(
        update(TranslationRequest)
        .where(
            TranslationRequest.kind == kind,
            TranslationRequest.item_id == item_id,
            same_language(TranslationRequest.language, language),
            TranslationRequest.closed_at.is_(None),
        )
        .values(closed_at=utcnow())
    )


async def _reindex(session: AsyncSession, kind: TranslatableKind, item_id: int) -> None:
    """The item's search documents follow its translations, in the same transaction."""
    for source in SOURCES.values():
        if source.translated is kind:
            await reindex(session, source, [item_id])


async def mark_outdated(session: AsyncSession, item: Any) -> None:
    """Call where an item's text is changed, before the change is flushed: translations of the
    fields whose original changed become OUTDATED (a tool or a person must redo them). The
    caller reindexes the item after its change, which indexes the new statuses too."""
    kind = _KIND_OF_MODEL[type(item)]
    state = inspect_row(item)
    changed = [
        name
        for name in KINDS[kind].fields
        if state.attrs[name].history.has_changes()
        and state.attrs[name].history.deleted != state.attrs[name].history.added
    ]
    if not changed or item.id is None:
        return
    await session.execute(
        update(Translation)
        .where(
            Translation.kind == kind,
            Translation.item_id == item.id,
            Translation.field.in_(changed),
            Translation.status != TranslationStatus.OUTDATED,
        )
        .values(status=TranslationStatus.OUTDATED, updated_at=utcnow())
    )
