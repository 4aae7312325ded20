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


async def notification_titles(
    session: AsyncSession, viewer: Viewer, languages: Sequence[str], subject: dict[str, Any]
) -> dict[str, Title]:
    """The titles of what the subject names (the policy let the recipient see all of it), in
    the first of `languages` each exists in."""
    titles: dict[str, Title] = {}
    for key, column in _UNTRANSLATED.items():
        if subject.get(key) is not None:
            table = column.class_
            text = await session.scalar(select(column).where(table.id == int(subject[key])))
            if text is not None:
                titles[key] = Title(text)
    wanted = {key: spec for key, spec in _TRANSLATABLE.items() if subject.get(key) is not None}
    if subject.get("item") is not None:
        wanted["item"] = _ITEMS[
            "RESOURCE" if subject.get("item_kind") == "RESOURCE" else "INITIATIVE"
        ]
    for key, spec in wanted.items():
        title = await _localized(session, viewer, languages, spec, int(subject[key]))
        if title is not None:
            titles[key] = title
    return titles


async def _localized(
    session: AsyncSession,
    viewer: Viewer,
    languages: Sequence[str],
    spec: _Translatable,
    item_id: int,
) -> Title | None:
    model = spec.model
    row = (
        await session.execute(
            select(getattr(model, spec.field), model.language).where(model.id == item_id)
        )
    ).first()
    if row is None:
        return None
    original = LocalizedValue(row[0], row[1], TranslationStatus.ORIGINAL)
    if not languages:
        return Title(original.text, original.language)
    translations = await session.execute(
        select(Translation.language, Translation.text, Translation.status).where(
            Translation.kind == spec.kind,
            Translation.item_id == item_id,
            Translation.field == spec.field,
            policy.visible_translations(viewer),
        )
    )
    found = [TranslatedText(language, text, status) for language, text, status in translations]
    best = best_text(original, found, languages)
    return Title(best.text, best.language)
