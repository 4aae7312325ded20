"""The one shape of a text that may be in several languages: `LocalizedText { text language
status direction }`, beside every translatable field (see schema/translations.py)."""

from __future__ import annotations

import strawberry
from babel import Locale, UnknownLocaleError

from models.translation import TranslationStatus as TranslationStatusModel
from resolvers.languages import LocalizedValue
from schema.enums import described_enum

TranslationStatus = described_enum(
    TranslationStatusModel,
    "What a text is: the original, or a translation and how far it can be trusted.",
    {
        "ORIGINAL": "The text as its author wrote it.",
        "HUMAN": "Translated by a member who declared the language.",
        "MACHINE": "Made by a tool, marked as such (shown to others once verified).",
        "VERIFIED": "A translation checked by a reviewer who declared the language.",
        "OUTDATED": "The original changed after it was translated: it may no longer match.",
    },
)
LANGUAGE = strawberry.argument(
    description="A BCP 47 tag: the text in this language if it has one (whatever its status), "
    "else the original. Left out: the request's languages decide."
)


@strawberry.type(description="A text with the language it is in and what it is.")
class LocalizedText:
    text: str = strawberry.field(description="The text (never empty where the original is not).")
    language: str = strawberry.field(description="The language of `text` (BCP 47).")
    status: TranslationStatus = strawberry.field(  # type: ignore[valid-type]
        description="ORIGINAL, or the kind of translation it is."
    )
    direction: str = strawberry.field(
        description="`rtl` or `ltr`: how the language is written (for `dir` in HTML)."
    )

    @classmethod
    def of(cls, value: LocalizedValue) -> LocalizedText:
        return cls(
            text=value.text,
            language=value.language,
            status=value.status,
            direction=text_direction(value.language),
        )


def text_direction(language: str) -> str:
    """From CLDR (Babel): `rtl` for Arabic and the other right-to-left scripts."""
    try:
        return str(Locale.parse(language, sep="-").text_direction)
    except (ValueError, UnknownLocaleError):
        return "ltr"
