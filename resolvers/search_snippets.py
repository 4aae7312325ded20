"""Search's snippets: the matched words of each hit's document highlighted in context
(`ts_headline` on PostgreSQL, FTS5's `snippet` on SQLite), escaped, with <mark> around them."""

from __future__ import annotations

import html
from collections.abc import Sequence

from sqlalchemy import bindparam, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import AnySelect
from models.search import SearchDocument
from resolvers.search_match import own_config
from resolvers.search_query import Clause, fts5_query, websearch_text

# Highlight markers (Unicode private use): the snippet is escaped, then they become <mark>.
START, STOP = "\ue000", "\ue001"


def _highlighted(raw: str) -> str:
    """Escape the text, then turn the markers into <mark> (balanced: markers are paired)."""
    escaped = html.escape(raw, quote=False)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


async def snippets_of(
    session: AsyncSession, postgresql: bool, clauses: Sequence[Clause], ids: Sequence[int]
) -> dict[int, str]:
    if not ids:
        return {}
    if postgresql:
        document = func.concat_ws(
            " — ", SearchDocument.title, SearchDocument.summary, SearchDocument.body
        )
        options = (
            f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        statement: AnySelect = select(
            SearchDocument.id,
            func.ts_headline(
                own_config(),
                document,
                func.websearch_to_tsquery(own_config(), bindparam("q", websearch_text(clauses))),
                options,
            ),
        ).where(SearchDocument.id.in_(ids))
    else:
        statement = (
            select(
                literal_column("rowid"),
                literal_column(f"snippet(search_fts, -1, '{START}', '{STOP}', ' … ', 24)"),
            )
            .select_from(text("search_fts"))
            .where(
                text("search_fts MATCH :fts").bindparams(fts=fts5_query(clauses)),
                literal_column("rowid").in_(ids),
            )
        )
    rows = await session.execute(statement)
    return {int(document_id): _highlighted(str(raw or "")) for document_id, raw in rows}
