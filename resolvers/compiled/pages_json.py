"""A Relay connection's JSON text in SQL for the fast path (resolvers/compiled/fast.py): the
page's rows are the statement's CTE `page`, read forwards one row more than the page
(`resolvers.pagination.fetch_page`: the extra row says there is a next page) and numbered in
the listing's order (`pos`). Shared by the member directory (members_json.py) and the
resources page (resources_json.py).

The page's size is a constant of the statement's text (one statement per size: at most 101),
not a parameter: PostgreSQL then plans the statement once per connection (a generic plan as
good as a custom one), where a LIMIT parameter made it plan every execution anew."""

# ruff: noqa: S608 - the text is the policy's SQL (compiled by SQLAlchemy) and constants;
# every request value is a $n parameter

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import tuple_

from resolvers.compiled.fast import (
    Params,
    Pick,
    cursor_value,
    jbool,
    jconstant,
    json_list,
    keyset_cursor,
    pg_type,
    selection_object,
    sql_text,
)
from resolvers.pagination import Keyset


def page_cte(statement: Any, keyset: Keyset, params: Params, after: bool, size: int) -> str:
    """`page AS (...)`: the listing's rows after the cursor (`after_0`, `after_1`, ...), in its
    order, the page's size + 1 of them, each with its place `pos`."""
    columns = list(keyset.columns)
    if after:
        bound = [params.bind(f"after_{i}", pg_type(c)) for i, c in enumerate(columns)]
        statement = statement.where(keyset_after(columns, bound, keyset.descending))
    order = [c.desc() if keyset.descending else c.asc() for c in columns]
    limited = statement.order_by(*order).limit(size + 1)
    direction = " DESC" if keyset.descending else ""
    ranked = ", ".join(f"q.{c.key}{direction}" for c in columns)
    return (
        f"page AS (SELECT q.*, row_number() OVER (ORDER BY {ranked}) AS pos "
        f"FROM ({sql_text(limited)}) q)"
    )


def keyset_after(columns: Sequence[Any], bound: Sequence[Any], descending: bool) -> Any:
    keys, values = tuple_(*columns), tuple_(*bound)
    return keys < values if descending else keys > values


def after_values(after: tuple[Any, ...] | None) -> dict[str, Any]:
    """The values of `page_cte`'s parameters: the cursor's keyset values, if any."""
    return {f"after_{i}": value for i, value in enumerate(after or ())}


@dataclass(frozen=True)
class Connection:
    """A connection of `type_name` over `page` (row alias `p`, with `joins`): its edges, nodes
    and pageInfo."""

    type_name: str  # "MemberConnection"
    keyset: Keyset
    size: int
    after: bool
    node: Callable[[Pick], str]  # a node's JSON over `p`
    joins: str = ""

    def json(self, pick: Pick) -> str:
        edge_type = self.type_name.removesuffix("Connection") + "Edge"
        edge = {"cursor": self._cursor("p"), "__typename": jconstant(edge_type)}
        return selection_object(
            pick,
            {"__typename": jconstant(self.type_name)},
            {
                "edges": lambda e: self._rows(selection_object(e, edge, {"node": self.node})),
                "nodes": lambda n: self._rows(self.node(n)),
                "pageInfo": self._page_info,
            },
        )

    def _cursor(self, alias: str) -> str:
        values = [cursor_value(c, alias) for c in self.keyset.columns]
        return f"('\"' || {keyset_cursor(self.keyset.listing, values)} || '\"')"

    def _rows(self, item: str) -> str:
        source = f"FROM page p {self.joins} WHERE p.pos <= {self.size}"
        return json_list(item, source, "p.pos")

    def _page_info(self, pick: Pick) -> str:
        def end(order: str) -> str:
            found = f"SELECT {self._cursor('c')} FROM page c WHERE c.pos <= {self.size}"
            return f"coalesce(({found} ORDER BY c.pos {order} LIMIT 1), 'null')"

        info = {
            "hasNextPage": jbool(f"(SELECT count(*) FROM page) > {self.size}"),
            "hasPreviousPage": "'true'" if self.after else "'false'",
            "startCursor": end("ASC"),
            "endCursor": end("DESC"),
            "__typename": jconstant("PageInfo"),
        }
        return selection_object(pick, info, {})
