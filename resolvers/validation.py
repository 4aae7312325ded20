"""Input cleaning shared by every domain: text, email, country, language, GCM objective."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import langcodes
import pycountry

from models.collation import match_key
from models.reference import gcm_reference, un_official_languages
from resolvers.errors import ErrorCode, ProblemList, message_values

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_OBJECTIVE_NUMBERS = frozenset(o["number"] for o in gcm_reference()["objectives"])
# Control characters other than tab and newlines never belong in user text (NUL above all).
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def clean_text(
    problems: ProblemList,
    field: str,
    value: str,
    *,
    max_length: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Strip, refuse control characters and over-long text; returns the cleaned value."""
    value = value.strip()
    if any(
        unicodedata.category(ch) == "Cc" and (not multiline or ch not in _ALLOWED_CONTROLS)
        for ch in value
    ):
        problems.add(field, "Must not contain control characters.")
    elif len(value) > max_length:
        problems.add(
            field,
            "Must be at most {max_length} characters.",
            ErrorCode.TOO_LONG,
            values=message_values(max_length=max_length),
        )
    elif required and not value:
        problems.add(field, "Must not be empty.", ErrorCode.REQUIRED)
    return value


def clean_keys(problems: ProblemList, field: str, values: Iterable[str]) -> list[str]:
    """Tags and themes: each cleaned (at most 50 characters) and folded to its match key
    (case, accents and width ignored), empty ones and repeats dropped, first order kept."""
    keys: list[str] = []
    for value in values:
        key = match_key(clean_text(problems, field, value, max_length=50))
        if key and key not in keys:
            keys.append(key)
    return keys


def clean_email(problems: ProblemList, field: str, value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254:
        problems.add(field, "Must be at most 254 characters.", ErrorCode.TOO_LONG)
    elif not _EMAIL.fullmatch(email) or not email.isprintable():
        problems.add(field, "Must be a valid email address.")
    return email


def clean_country(problems: ProblemList, field: str, value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased; `None` stays `None`."""
    if value is None:
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        problems.add(field, "Must be an ISO 3166-1 alpha-2 country code, such as KE or MX.")
    return code


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else code


def clean_language(problems: ProblemList, field: str, value: str) -> str:
    """One BCP 47 tag in its standard form (the language an item is written in)."""
    tags = clean_languages(problems, field, [value])
    return tags[0] if tags else value


def clean_languages(problems: ProblemList, field: str, values: Iterable[str]) -> list[str]:
    """BCP 47 tags in their standard form, without duplicates, in the order given."""
    tags: list[str] = []
    for value in values:
        raw = value.strip()
        if len(raw) > 35 or not raw.isascii() or not langcodes.tag_is_valid(raw):
            problems.add(
                field,
                "{value} is not a BCP 47 language tag, such as fr or es-MX.",
                values=message_values(value=repr(value[:40])),
            )
            continue
        tag = langcodes.standardize_tag(raw)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > 20:
        problems.add(field, "At most 20 languages.", ErrorCode.TOO_LONG)
    return tags


def clean_objectives(problems: ProblemList, field: str, values: Iterable[int]) -> list[int]:
    numbers = sorted(set(values))
    unknown = [n for n in numbers if n not in _OBJECTIVE_NUMBERS]
    if unknown:
        problems.add(
            field,
            "GCM objectives are numbered 1 to 23; unknown: {unknown}.",
            values=message_values(unknown=unknown[:5]),
        )
    return numbers


def language_order_key(tag: str) -> tuple[int, str]:
    """The six UN languages first (in their official order), then the others alphabetically."""
    official = un_official_languages()
    primary = tag.split("-")[0]
    return (official.index(primary), tag) if primary in official else (len(official), tag)
