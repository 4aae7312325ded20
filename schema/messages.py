"""`UserError.message` in the request's language: gettext catalogues (schema/locale/<lang>/
LC_MESSAGES/messages.po), read with Babel once at start-up. The .po files are the source and
what ships: no compiled .mo is built or committed (the catalogues are small; reading them once
costs a few milliseconds). A message without a translation, or not in any catalogue (a text
with values in it), stays in English; error `code`s never change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

LOCALE_DIR = "locale"
CATALOGUE_LANGUAGES = ("en", "es", "fr")


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The translated messages of `language` (msgid → msgstr), empty when none ship."""
    if language not in CATALOGUE_LANGUAGES:
        return {}
    path = resources.files("schema").joinpath(f"{LOCALE_DIR}/{language}/LC_MESSAGES/messages.po")
    with path.open("rb") as file:
        parsed = read_po(file, locale=language)
    return {
        str(m.id): str(m.string)
        for m in parsed
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
    }


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
