"""Search's filters: what the client narrows a search to, validated into facet values per
dimension (a bad value is a client error)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from models.reference import UnRegion
from resolvers.errors import ClientError, ProblemList, message_values
from resolvers.search_index import (
    COUNTRY,
    LANGUAGE,
    OBJECTIVE,
    PRINCIPLE,
    REGION,
    SOURCES,
    primary_language,
)
from resolvers.validation import clean_country, clean_languages, clean_objectives

PRINCIPLE_LETTERS = frozenset("abcdefghij")


@dataclass(frozen=True)
class SearchFilter:
    kinds: Sequence[str] = ()
    objectives: Sequence[int] = ()
    principles: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    languages: Sequence[str] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None


def facet_values_of(criteria: SearchFilter) -> dict[str, list[str]]:
    """The filter's values per dimension, validated; a bad value is a client error."""
    problems = ProblemList()
    values = {
        OBJECTIVE: [str(n) for n in clean_objectives(problems, "objectives", criteria.objectives)],
        COUNTRY: [c for v in criteria.countries if (c := clean_country(problems, "countries", v))],
        REGION: [r.value for r in criteria.regions],
        LANGUAGE: sorted(
            {
                primary_language(t)
                for t in clean_languages(problems, "languages", criteria.languages)
            }
        ),
        PRINCIPLE: [p.strip().lower() for p in criteria.principles],
    }
    if any(p not in PRINCIPLE_LETTERS for p in values[PRINCIPLE]):
        problems.add("principles", "Guiding principles are letters a to j.")
    unknown = [k for k in criteria.kinds if k not in SOURCES]
    if unknown:
        problems.add("types", "Unknown types: {unknown}.", values=message_values(unknown=unknown))
    if problems:
        raise ClientError(" ".join(f"{p.field}: {p.text}" for p in problems))
    return values
