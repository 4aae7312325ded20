"""The titles a notification's email or push message names (the thread, the community, the
webinar, the item), in the reader's languages where a translation they may see exists: the
same rule as the API's translatable fields (`languages.best_text`; the original, its language
known, where none is), so the mail can mark a title that is not in its own language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.community import Community
from models.initiative import CallForPractices, Initiative
from models.member import Member
from models.resource import Resource
from models.support import SupportRequest
from models.thread import Thread
from models.translation import TranslatableKind, Translation, TranslationStatus
from models.webinar import Webinar
from resolvers import policy
from resolvers.languages import LocalizedValue, TranslatedText, best_text
from resolvers.policy import Viewer


@dataclass(frozen=True)
class Title:
    """A title as the reader gets it; `language` is the text's language where it is known
    (translatable kinds), None where it is not (threads and support requests are written in
    whatever language their author chose, with no translations)."""

    text: str
    language: str | None = None


@dataclass(frozen=True)
class _Translatable:
    kind: TranslatableKind
    model: type[Any]
    field: str


# Each subject key that names something with a title: its translation kind and field, or the
# column of an untranslated title.
_TRANSLATABLE: dict[str, _Translatable] = {
    "community": _Translatable(TranslatableKind.COMMUNITY, Community, "name"),
    "webinar": _Translatable(TranslatableKind.WEBINAR, Webinar, "title"),
    "call": _Translatable(TranslatableKind.CALL, CallForPractices, "theme"),
}
_ITEMS = {
    "RESOURCE": _Translatable(TranslatableKind.RESOURCE, Resource, "title"),
    "INITIATIVE": _Translatable(TranslatableKind.INITIATIVE, Initiative, "title"),
}
_UNTRANSLATED: dict[str, Any] = {"thread": Thread.title, "supportRequest": SupportRequest.title}


Subject = dict[str, Any]
Wanted = Sequence[tuple[Viewer, Sequence[str], Subject]]


async def titles_for(session: AsyncSession, wanted: Wanted) -> list[dict[str, Title]]:
    """For each (reader, their languages, a subject the policy lets them see all of): the
    titles of what the subject names, in the first of the languages each exists in. A few
    statements for any number of them: one per kind of thing named (and one more for its
    translations, read for every reader at once)."""
    subjects = [subject for _, _, subject in wanted]
    plain = {
        key: await _plain(session, column, subjects, key) for key, column in _UNTRANSLATED.items()
    }
    named = [_translatables(subject) for subject in subjects]
    by_spec: dict[_Translatable, set[int]] = {}
    for names in named:
        for spec, item_id in names.values():
            by_spec.setdefault(spec, set()).add(item_id)
    readers = sorted({_reader_id(viewer) for viewer, languages, _ in wanted if languages})
    originals: dict[tuple[TranslatableKind, int], LocalizedValue] = {}
    found: dict[tuple[TranslatableKind, int, int], list[TranslatedText]] = {}
    for spec, ids in by_spec.items():
        originals.update(await _originals(session, spec, ids))
        if readers:
            found.update(await _translations(session, spec, ids, readers))
    titles: list[dict[str, Title]] = []
    for (viewer, languages, subject), names in zip(wanted, named, strict=True):
        mine = {
            key: Title(texts[int(subject[key])])
            for key, texts in plain.items()
            if subject.get(key) is not None and int(subject[key]) in texts
        }
        for key, (spec, item_id) in names.items():
            original = originals.get((spec.kind, item_id))
            if original is None:
                continue
            if not languages:
                mine[key] = Title(original.text, original.language)
                continue
            translations = found.get((spec.kind, item_id, _reader_id(viewer)), [])
            best = best_text(original, translations, languages)
            mine[key] = Title(best.text, best.language)
        titles.append(mine)
    return titles


def _reader_id(viewer: Viewer) -> int:
    assert viewer.member_id is not None, "notifications are read by members"
    return viewer.member_id


def _translatables(subject: Subject) -> dict[str, tuple[_Translatable, int]]:
    """The subject's keys that name something translatable: its kind and id."""
    named = {
        key: (spec, int(subject[key]))
        for key, spec in _TRANSLATABLE.items()
        if subject.get(key) is not None
    }
    if subject.get("item") is not None:
        kind = "RESOURCE" if subject.get("item_kind") == "RESOURCE" else "INITIATIVE"
        named["item"] = (_ITEMS[kind], int(subject["item"]))
    return named


async def _plain(
    session: AsyncSession, column: Any, subjects: Sequence[Subject], key: str
) -> dict[int, str]:
    """The untranslated titles (`column`) of what the subjects name under `key`."""
    ids = {int(subject[key]) for subject in subjects if subject.get(key) is not None}
    if not ids:
        return {}
    table = column.class_
    rows = await session.execute(select(table.id, column).where(table.id.in_(ids)))
    return {item_id: text for item_id, text in rows if text is not None}


async def _originals(
    session: AsyncSession, spec: _Translatable, ids: set[int]
) -> dict[tuple[TranslatableKind, int], LocalizedValue]:
    model = spec.model
    rows = await session.execute(
        select(model.id, getattr(model, spec.field), model.language).where(model.id.in_(ids))
    )
    return {
        (spec.kind, item_id): LocalizedValue(text, language, TranslationStatus.ORIGINAL)
        for item_id, text, language in rows
    }


async def _translations(
    session: AsyncSession, spec: _Translatable, ids: set[int], readers: Sequence[int]
) -> dict[tuple[TranslatableKind, int, int], list[TranslatedText]]:
    """The translations of the items each reader may see (the policy's rule over the readers'
    `member` rows), by (kind, item, reader)."""
    rows = await session.execute(
        select(
            Member.id,
            Translation.item_id,
            Translation.language,
            Translation.text,
            Translation.status,
        ).where(
            Member.id.in_(readers),
            Translation.kind == spec.kind,
            Translation.item_id.in_(ids),
            Translation.field == spec.field,
            policy.translations_seen_by_members(),
        )
    )
    found: dict[tuple[TranslatableKind, int, int], list[TranslatedText]] = {}
    for reader, item_id, language, text, status in rows:
        found.setdefault((spec.kind, item_id, reader), []).append(
            TranslatedText(language, text, status)
        )
    return found
