"""Translations in GraphQL: one convention for every translatable field, the list of an item's
translations, and the mutations that write them.

The convention: a text field (`title: String!`) answers the best text for the request's
languages (`schema/context.py`), never an empty one where the original has text; beside it,
`titleText(language:)` answers the same as a `LocalizedText { text language status direction }`,
or the text in the one language asked for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Annotated, Any

import strawberry
from graphql.pyutils import AwaitableOrValue

from models.db import AnyRow
from models.translation import TranslatableKind
from models.translation import TranslationStatus as TranslationStatusModel
from resolvers import translations
from resolvers.languages import (
    LocalizedValue,
    TranslatedText,
    best_text,
    prefers_original,
    standard_tag,
    text_in,
)
from resolvers.markdown import render
from resolvers.pagination import Page, PageRequest, decode_cursor, encode_cursor
from schema.context import Info
from schema.localized import LANGUAGE, LocalizedText, TranslationStatus, text_direction
from schema.members import Member, load_member
from schema.relay import AFTER, FIRST, Connection, connection, page_request


@dataclass(frozen=True)
class Original:
    """What a translatable field needs of its item: the original texts and their language."""

    kind: TranslatableKind
    item_id: int
    language: str
    texts: Mapping[str, str]

    @classmethod
    def of(cls, kind: TranslatableKind, row: AnyRow) -> Original:
        fields = translations.KINDS[kind].fields
        return cls(kind, row.id, row.language, {name: getattr(row, name) for name in fields})


async def localized(
    info: Info, original: Original, name: str, language: str | None = None
) -> LocalizedValue:
    """The field's best text for this request, or its text in `language`."""
    source = LocalizedValue(
        original.texts[name], original.language, TranslationStatusModel.ORIGINAL
    )
    tag = standard_tag(language) if language is not None else None
    wanted = await info.context.languages()
    original_first = prefers_original(original.language, wanted)
    if tag is None and (not wanted or original_first):
        return source  # the original is what is wanted first: no query
    rows = await info.context.loaders.translations_by_item.load((original.kind, original.item_id))
    texts = [TranslatedText(r.language, r.text, r.status) for r in rows if r.field == name]
    if tag is not None:
        return text_in(source, texts, tag)
    return best_text(source, texts, wanted)


def text_field(name: str, description: str, *, html: bool = False) -> Any:
    """The field `name` as the best text for the request (`html`: rendered and sanitized,
    in a `<div dir="rtl" lang="…">` when the text's language is written right to left)."""

    def shown(value: LocalizedValue) -> str:
        return html_in_direction(render(value.text), value.language) if html else value.text

    async def load(root: Any, info: Info) -> str:
        return shown(await localized(info, root.original, name))

    def resolve(root: Any, info: Info) -> AwaitableOrValue[str]:
        # The original, when it is what the request wants first, is at hand: no task for it.
        original: Original = root.original
        wanted = info.context.languages_at_hand()
        if wanted is not None and (not wanted or prefers_original(original.language, wanted)):
            status = TranslationStatusModel.ORIGINAL
            return shown(LocalizedValue(original.texts[name], original.language, status))
        return load(root, info)

    return strawberry.field(resolver=resolve, description=description, graphql_type=str)


def html_in_direction(html: str, language: str) -> str:
    """Right-to-left text (Arabic, Persian, Urdu, Hebrew, ...) in a block that says so, so a
    page in a left-to-right language shows it the right way; other text as it is."""
    if not html or text_direction(language) != "rtl":
        return html
    return f'<div dir="rtl" lang="{escape(language)}">\n{html}</div>\n'


def text_detail_field(name: str, description: str) -> Any:
    """`<name>Text(language:)`: the same text with its language, status and direction."""

    async def resolve(
        root: Any, info: Info, language: Annotated[str | None, LANGUAGE] = None
    ) -> LocalizedText:
        return LocalizedText.of(await localized(info, root.original, name, language))

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="One field of an item translated into one language.")
class Translation:
    field: str = strawberry.field(description="The field translated (such as `title`).")
    language: str = strawberry.field(description="Its language (BCP 47).")
    status: TranslationStatus = strawberry.field(description="What kind of translation it is.")  # type: ignore[valid-type]
    text: str = strawberry.field(description="The translated text, as written.")
    updated_at: datetime = strawberry.field(description="When it was last written (UTC).")
    translator_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> Translation:
        return cls(
            field=row.field,
            language=row.language,
            status=row.status,
            text=row.text,
            updated_at=row.updated_at,
            translator_id=row.translator_id,
        )

    @strawberry.field(description="Who translated it; null if the account is gone or hidden.")
    async def translator(self, info: Info) -> Member | None:
        return await load_member(info, self.translator_id) if self.translator_id else None


LISTING = "translations"


def _page(rows: list[AnyRow], request: PageRequest) -> Page:
    """A page of an item's translations (few: loaded whole in the batch, paged here)."""
    cursors = [encode_cursor(LISTING, (r.language, r.field)) for r in rows]
    start = 0
    if request.after is not None:
        after = decode_cursor(LISTING, request.after, 2)
        start = sum(1 for r in rows if (r.language, r.field) <= after)
    end = start + request.size
    total = len(rows)

    async def count() -> int:
        return total

    return Page(
        rows=rows[start:end],
        cursors=cursors[start:end],
        has_next_page=end < total,
        has_previous_page=start > 0,
        count=count,
    )


def translations_field() -> Any:
    """`textTranslations(first, after)` of a translatable item: what the viewer may see."""

    async def resolve(
        root: Any,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[Translation]:
        key = (root.original.kind, root.original.item_id)
        rows = await info.context.loaders.translations_by_item.load(key)
        return connection(
            _page(list(rows), page_request(first, after, None, None)), Translation.from_row
        )

    return strawberry.field(
        resolver=resolve,
        description="Translations of its text fields, by language then field: HUMAN, VERIFIED "
        "and OUTDATED ones for everyone who sees it; MACHINE ones, until verified, for their "
        "translator, staff and reviewers who speak the language.",
    )
