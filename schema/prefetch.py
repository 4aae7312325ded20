"""Values at hand: a page's resolver loads what its nodes' fields will ask for, in one batch per
loader, and hands it to the nodes, whose resolvers then answer synchronously.

Why: graphql-core gathers every object that has an awaitable field (a task per field, a task
per list item), which on a page of 50 posts was ~200 tasks per request (bench/README.md,
"cheaper execution"). A node built anywhere else (node, a mutation's payload) has nothing at
hand and its resolvers await their DataLoader as before: the prefetch is only ever a shortcut
to the value the loader would give, never another source of truth."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Final, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from schema.context import Info


class Missing:
    """Not fetched ahead: the resolver loads the value itself."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


async def load_at_hand(loader: DataLoader[K, V], keys: Iterable[K | None]) -> dict[K, V]:
    """What `loader` gives for each of `keys` (None left out), in one batch."""
    unique = list(dict.fromkeys(k for k in keys if k is not None))
    return dict(zip(unique, await loader.load_many(unique), strict=True))


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    """The fields of a selection set, fragments flattened (directives ignored: prefetching a
    field that `@skip` leaves out costs a batch, never a wrong answer)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def _below(selections: Iterable[Selection], path: Sequence[str]) -> set[str]:
    if not path:
        return {f.name for f in _fields(selections)}
    names: set[str] = set()
    for field in _fields(selections):
        if field.name == path[0]:
            names |= _below(field.selections, path[1:])
    return names


def node_fields(info: Info) -> frozenset[str]:
    """The fields asked of the nodes of the connection `info` resolves (through `edges { node }`
    or `nodes`, any alias, any fragment)."""
    own = [s for field in _fields(info.selected_fields) for s in field.selections]
    return frozenset(_below(own, ("edges", "node")) | _below(own, ("nodes",)))
