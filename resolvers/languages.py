"""Which language a reader gets: the request's preferences, and the best text of a field.

Pure functions: the context decides the preferences once per request (`schema/context.py`),
and every translatable field asks `best_text` with them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import langcodes
from babel.core import UnknownLocaleError, parse_locale

from models.translation import TranslationStatus

MAX_PREFERENCES = 10
MAX_CACHED_HEADER = 200  # characters: longer headers are parsed each time


@dataclass(frozen=True)
class LocalizedValue:
    """A text and what it is: its language, and whether it is the original or a translation."""

    text: str
    language: str
    status: TranslationStatus


@dataclass(frozen=True)
class TranslatedText:
    """One stored translation of a field (what `best_text` chooses among)."""

    language: str
    text: str
    status: TranslationStatus


def standard_tag(value: str) -> str | None:
    """`value` as a standard BCP 47 tag (`fr-ca` → `fr-CA`), or None when it is none."""
    raw = value.strip()
    if not raw or len(raw) > 35 or not raw.isascii() or not langcodes.tag_is_valid(raw):
        return None
    return str(langcodes.standardize_tag(raw))


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


def _weighted(part: str) -> tuple[str, float] | None:
    tag, _, params = part.strip().partition(";")
    quality = 1.0
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return None
    standard = standard_tag(tag)
    if standard is None or quality <= 0:
        return None
    try:  # a language subtag (ISO 639): `x-foo` is valid BCP 47, yet private use, no language
        language = parse_locale(standard, sep="-")[0]
    except (ValueError, UnknownLocaleError):
        return None
    return (standard, quality) if 2 <= len(language) <= 3 else None


def parse_accept_language(header: str | None) -> tuple[str, ...]:
    """The languages of an `Accept-Language` header, most wanted first (RFC 9110 weights);
    `*`, malformed entries and q=0 are left out. Browsers send a few headers again and again:
    a short one is parsed once (validating tags is ~40 µs a header, per request otherwise)."""
    if not header:
        return ()
    if len(header) <= MAX_CACHED_HEADER:
        return _parsed(header)
    return _parse(header)


@lru_cache(maxsize=256)
def _parsed(header: str) -> tuple[str, ...]:
    return _parse(header)


def _parse(header: str) -> tuple[str, ...]:
    weighted = [w for part in header.split(",")[:50] if (w := _weighted(part)) is not None]
    ordered = sorted(weighted, key=lambda w: -w[1])  # stable: equal weights keep their order
    return preferences(tag for tag, _ in ordered)


def preferences(tags: Iterable[str]) -> tuple[str, ...]:
    """Standard, distinct tags in their order, at most MAX_PREFERENCES."""
    seen: list[str] = []
    for value in tags:
        tag = standard_tag(value)
        if tag is not None and tag not in seen:
            seen.append(tag)
    return tuple(seen[:MAX_PREFERENCES])


def _matches(wanted: str, tag: str) -> bool:
    return wanted == tag or _primary(wanted) == _primary(tag)


def prefers_original(language: str, preferred: Sequence[str]) -> bool:
    """Whether the original (in `language`) is the text wanted first."""
    return bool(preferred) and _matches(preferred[0], language)


def best_text(
    original: LocalizedValue,
    translations: Sequence[TranslatedText],
    preferred: Sequence[str],
) -> LocalizedValue:
    """The text in the first preferred language it exists in: the original, or a translation
    that is not OUTDATED (an outdated one may say what the original no longer says); the
    original when none is (never an empty text where the original has one). `preferred` is in
    order of preference: asked for by the request, or the member's declared order."""
    if prefers_original(original.language, preferred):
        return original
    for wanted in preferred:
        if _matches(wanted, original.language):
            return original
        exact = [t for t in translations if t.language == wanted]
        close = [t for t in translations if _matches(wanted, t.language)]
        for candidate in (*exact, *close):
            if candidate.status is not TranslationStatus.OUTDATED and candidate.text:
                return LocalizedValue(candidate.text, candidate.language, candidate.status)
    return original


def text_in(
    original: LocalizedValue, translations: Sequence[TranslatedText], language: str
) -> LocalizedValue:
    """The text in exactly the language asked for, whatever its status (OUTDATED included,
    marked), else the original marked with its own language."""
    for candidate in translations:
        if _matches(language, candidate.language) and candidate.text:
            return LocalizedValue(candidate.text, candidate.language, candidate.status)
    return original


def languages_from_connection_params(params: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The WebSocket's `connection_init` payload: `language` as one tag, an Accept-Language
    list (`"fr, en;q=0.5"`) or a list of tags, most wanted first; anything else is ignored."""
    value = (params or {}).get("language")
    if isinstance(value, str):
        return parse_accept_language(value)
    if isinstance(value, list):
        return preferences(v for v in value[:MAX_PREFERENCES] if isinstance(v, str))
    return ()
