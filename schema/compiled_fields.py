"""What each compiled root field supports (schema/compiled.py's registry), and the helpers its
plan uses to read a request's arguments and selection.

A root field's getters are tables of `(value) -> field value`, keyed by a table name that is
the GraphQL type's name unless `tables` says otherwise for a (table, field): so the resources
at the other end of a relation (`ResourceEnd`) answer fewer fields than the page's own, and a
document asking more of them is not compiled."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import FieldNode, GraphQLObjectType, Undefined, VariableNode, value_from_ast
from strawberry.utils.str_converters import to_snake_case

from resolvers.policy import Viewer

if TYPE_CHECKING:
    from schema.compiled import Selected


@dataclass(frozen=True)
class Asking:
    """What a root field's plan may depend on besides the document and its variables: who
    asks, and the languages the request named. The front path (app/compiled_front.py) has no
    `Context`: it plans before Starlette, from the token's viewer."""

    viewer: Viewer
    requested_languages: tuple[str, ...] = ()


Getter = Callable[[Any], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class RootField:
    """A `Query` field the compiler supports, with what it supports under it."""

    name: str
    arguments: frozenset[str]
    getters: Mapping[str, Mapping[str, Getter]]  # table -> field -> getter
    arguments_of: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    tables: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def table(self, parent: str, name: str, type_name: str) -> str:
        """The getters' table of the field `name` of the table `parent`, of type `type_name`."""
        return self.tables.get((parent, name), type_name)


def argument(
    node: FieldNode, name: str, parent: GraphQLObjectType, values: Mapping[str, Any]
) -> Any:
    """graphql-core's argument value: a variable's coerced value (the argument's default when
    the request leaves the variable out), a literal's, else the argument's default."""
    definition = parent.fields[node.name.value].args[name]
    default = None if definition.default_value is Undefined else definition.default_value
    for given in node.arguments or ():
        if given.name.value != name:
            continue
        if isinstance(given.value, VariableNode):
            return values.get(given.value.name.value, default)
        return value_from_ast(given.value, definition.type, dict(values))
    return default


def names_under(selection: tuple[Selected, ...], *path: str) -> set[str]:
    """The field names selected at `path` (through every alias of each step)."""
    if not path:
        return {s.name for s in selection}
    found: set[str] = set()
    for selected in selection:
        if selected.name == path[0]:
            found |= names_under(selected.children, *path[1:])
    return found


def frozen(criteria: T) -> T:
    """A filter dataclass with its lists as tuples: a statement cache's key."""
    assert is_dataclass(criteria)
    assert not isinstance(criteria, type)
    lists = {
        f.name: tuple(v)
        for f in fields(criteria)
        if isinstance(v := getattr(criteria, f.name), list)
    }
    return replace(criteria, **lists)


@lru_cache(maxsize=1024)
def _python_name(graphql_name: str) -> str:
    """An input field's Python name (the schema's names: a bounded set; strawberry's
    conversion is two regular expressions, most of a compiled request's planning)."""
    return to_snake_case(graphql_name)


def input_of(cls: Callable[..., T], value: Mapping[str, Any] | None) -> T | None:
    """A strawberry input from graphql-core's coerced value (its fields by GraphQL name)."""
    if value is None:
        return None
    return cls(**{_python_name(k): v for k, v in value.items()})
