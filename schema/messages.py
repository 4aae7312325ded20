"""`UserError.message` in the request's language: gettext catalogues (schema/locale/<lang>/
LC_MESSAGES/messages.po), read with Babel once at start-up. The .po files are the source and
what ships: no compiled .mo is built or committed (the catalogues are small; reading them once
costs a few milliseconds). A message without a translation, or not in any catalogue (a text
with values in it), stays in English; error `code`s never change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = "locale"
CATALOGUE_LANGUAGES = ("en", "es", "fr")


@cache
def _parsed(language: str) -> Catalog | None:
    if language not in CATALOGUE_LANGUAGES:
        return None
    path = resources.files("schema").joinpath(f"{LOCALE_DIR}/{language}/LC_MESSAGES/messages.po")
    with path.open("rb") as file:
        return read_po(file, locale=language)


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The translated messages of `language` (msgid → msgstr), empty when none ship."""
    parsed = _parsed(language)
    if parsed is None:
        return {}
    return {
        str(m.id): str(m.string)
        for m in parsed
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
    }


@cache
def gettext_translations(language: str) -> Translations:
    """`language`'s catalogue as gettext translations (for Jinja2's i18n extension): compiled
    in memory from the .po file, once; no translation (the English ids) where none ships."""
    parsed = _parsed(language)
    if parsed is None:
        return Translations()
    compiled = BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return Translations(compiled)


def translate(message: str, languages: Sequence[str]) -> str:
    """`message` in the first of `languages` that has it translated (English is the source)."""
    for tag in languages:
        primary = tag.split("-")[0].lower()
        if primary == "en":
            return message
        translated = catalogue(primary).get(message)
        if translated:
            return translated
    return message
