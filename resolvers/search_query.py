"""Search's query language: the subset of PostgreSQL's `websearch_to_tsquery` that people type
(words, all must match; "quoted phrases"; -exclusion; `or`), parsed once and written out for
each database (FTS5 syntax for SQLite, normalised websearch text for PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Clause:
    """Terms that must all match, and terms that must not (one side of an `or`)."""

    required: tuple[str, ...]
    excluded: tuple[str, ...] = ()


def parse_query(query: str) -> list[Clause]:
    """The websearch syntax as clauses joined by `or`; each term is a word or a phrase."""
    clauses: list[Clause] = []
    required: list[str] = []
    excluded: list[str] = []
    for match in _TOKEN.finditer(query):
        negated, phrase, word = match.group(1) == "-", match.group(2), match.group(3)
        if word is not None and word.lower() == "or":
            if required or excluded:
                clauses.append(Clause(tuple(required), tuple(excluded)))
            required, excluded = [], []
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negated, word = True, word[1:]
        term = " ".join(re.findall(r"\w+", phrase if phrase is not None else word or ""))
        if term:
            (excluded if negated else required).append(term)
    if required or excluded:
        clauses.append(Clause(tuple(required), tuple(excluded)))
    # A clause of exclusions alone would match nearly everything: it is dropped.
    return [c for c in clauses if c.required]


def fts5_query(clauses: Sequence[Clause]) -> str:
    """FTS5 syntax of the clauses: quoted strings (phrases), AND, NOT, OR."""

    def quoted(term: str) -> str:
        return '"' + term.replace('"', '""') + '"'

    parts = []
    for clause in clauses:
        expression = " AND ".join(quoted(t) for t in clause.required)
        expression += "".join(f" NOT {quoted(t)}" for t in clause.excluded)
        parts.append(f"({expression})")
    return " OR ".join(parts)


def websearch_text(clauses: Sequence[Clause]) -> str:
    """The clauses written back in websearch syntax (normalised: what both databases run)."""

    def term(t: str) -> str:
        return f'"{t}"' if " " in t else t

    return " or ".join(
        " ".join([*map(term, c.required), *(f"-{term(t)}" for t in c.excluded)]) for c in clauses
    )
