"""The reference data in the request's language: GCM titles from the seeded official texts
(with their sources, and what is missing said so), and names of countries, UN regions and
languages from CLDR through Babel — never from tables of our own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import strawberry
from babel import Locale, UnknownLocaleError

from models.reference import gcm_reference, un_official_languages
from models.translation import TranslationStatus
from resolvers.languages import LocalizedValue, TranslatedText, best_text, standard_tag, text_in
from schema.context import Info
from schema.localized import LANGUAGE, LocalizedText

ENGLISH = "en"


@strawberry.type(
    description="A reference title in one official UN language: the text and where it was "
    "copied from, or `missing` where no official text was found (never machine-translated)."
)
class ReferenceText:
    language: str = strawberry.field(description="One of the six official languages.")
    text: str | None = strawberry.field(description="The title; null where it is missing.")
    source: str | None = strawberry.field(description="Where it was copied from.")
    missing: bool = strawberry.field(
        description="No official text found yet: readers get the English one, marked `en`."
    )


async def reference_value(
    info: Info, kind: str, key: str, english: str, language: str | None = None
) -> LocalizedValue:
    """A GCM title in the request's languages (or in `language`): the seeded translation where
    there is one, else the English original, marked as such."""
    original = LocalizedValue(english, ENGLISH, TranslationStatus.ORIGINAL)
    rows = await info.context.loaders.reference_titles_by_key.load((kind, key))
    texts = [TranslatedText(r.language, r.text, TranslationStatus.HUMAN) for r in rows]
    tag = standard_tag(language) if language is not None else None
    if tag is not None:
        return text_in(original, texts, tag)
    return best_text(original, texts, await info.context.languages())


async def reference_texts(info: Info, kind: str, key: str, english: str) -> list[ReferenceText]:
    """The title in each official language, with its source, or marked missing."""
    rows = await info.context.loaders.reference_titles_by_key.load((kind, key))
    by_language = {r.language: r for r in rows}
    texts = []
    for language in un_official_languages():
        if language == ENGLISH:
            source = str(gcm_reference()["source"])
            texts.append(
                ReferenceText(language=language, text=english, source=source, missing=False)
            )
            continue
        row = by_language.get(language)
        texts.append(
            ReferenceText(
                language=language,
                text=row.text if row else None,
                source=row.source if row else None,
                missing=row is None,
            )
        )
    return texts


# --- names from CLDR -----------------------------------------------------------------------


def _locale(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return None


async def request_locale(info: Info, language: str | None = None) -> Locale | None:
    """The CLDR locale of `language`, else of the request's first language CLDR knows."""
    wanted = [language] if language is not None else list(await info.context.languages())
    for tag in wanted:
        locale = _locale(tag)
        if locale is not None:
            return locale
    return None


def cldr_name(names: Mapping[str, str], key: str, locale: Locale, english: str) -> LocalizedValue:
    """`key`'s name in `locale` (CLDR); the English name, marked, where CLDR has none."""
    name = names.get(key)
    if not name:
        return LocalizedValue(english, ENGLISH, TranslationStatus.ORIGINAL)
    tag = str(locale).replace("_", "-")
    status = TranslationStatus.ORIGINAL if locale.language == ENGLISH else TranslationStatus.HUMAN
    return LocalizedValue(name, tag, status)


async def country_value(
    info: Info, code: str, english: str, language: str | None
) -> LocalizedValue:
    locale = await request_locale(info, language)
    if locale is None or locale.language == ENGLISH:
        return LocalizedValue(english, ENGLISH, TranslationStatus.ORIGINAL)
    return cldr_name(locale.territories, code, locale, english)


async def region_value(info: Info, m49: str, english: str, language: str | None) -> LocalizedValue:
    locale = await request_locale(info, language)
    if locale is None or locale.language == ENGLISH:
        return LocalizedValue(english, ENGLISH, TranslationStatus.ORIGINAL)
    return cldr_name(locale.territories, m49, locale, english)


@strawberry.type(description="A language, named in the request's language (CLDR).")
class Language:
    tag: str = strawberry.field(description="Its BCP 47 tag.")

    @strawberry.field(description="Its name in the request's language, else in English.")
    async def name(self, info: Info) -> str:
        return (await self._value(info, None)).text

    @strawberry.field(description="Its name with the language it is in.")
    async def name_text(
        self, info: Info, language: Annotated[str | None, LANGUAGE] = None
    ) -> LocalizedText:
        return LocalizedText.of(await self._value(info, language))

    @strawberry.field(description="`rtl` or `ltr`: how the language is written (CLDR).")
    def direction(self) -> str:
        locale = _locale(self.tag)
        return str(locale.text_direction) if locale else "ltr"

    async def _value(self, info: Info, language: str | None) -> LocalizedValue:
        english_locale = Locale("en")
        english = english_locale.languages.get(self.tag.split("-")[0], self.tag)
        locale = await request_locale(info, language) or english_locale
        return cldr_name(locale.languages, self.tag.split("-")[0], locale, english)
