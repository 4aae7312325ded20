"""Trusted documents compiled to one statement per root field (issue 17, point 2).

`compile_document` takes a trusted document's text and returns a `CompiledDocument`, or None
when the document uses anything outside the supported set (`SUPPORTED`): then the executor runs
it, as for any other text. What is supported is exactly what the differential test
(tests/test_compiled_documents.py) proves equal to the executor, byte for byte:

- one query operation whose root fields are `thread(id:)` and `__typename`;
- under a thread: `id title replyCount __typename` and at most one `posts(first:, after:)`
  connection (`edges { cursor node }`, `pageInfo`), posts' `id body version createdAt
  editedAt isDeleted author { id name } reactions { kind count reactedByViewer }`;
- arguments as literals or variables, aliases, `@skip`/`@include` (literal or variable),
  inline fragments and named fragments on the field's own type.

A request runs compiled only when it would run without any error: the operation name matches,
the variables coerce, hold no NUL, the cost is within the maximum, the page arguments and
cursor are valid. Anything else runs through the executor, which gives the errors. Limits that
depend on the text alone (tokens, depth, aliases, validation) are checked here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_enum_type,
    is_leaf_type,
    parse,
    specified_rules,
    validate,
)

from schema.compiled_threads import GETTERS, Getter
from schema.extensions import nul_literals

# type -> field -> the arguments it may take
SUPPORTED: dict[str, dict[str, frozenset[str]]] = {
    "Query": {"thread": frozenset({"id"})},
    "Thread": {"posts": frozenset({"first", "after"})},
}
SUPPORTED.update({t: {} for t in GETTERS if t not in SUPPORTED})
PLAIN_FIELDS = {t: set(fields) - set(SUPPORTED[t]) for t, fields in GETTERS.items()}
SKIP_INCLUDE = frozenset({"skip", "include"})
# graphql-core's serializers of these return a value of the column's Python type unchanged
# (str, int within 32 bits, bool): compiled answers skip the call.
AS_IS = frozenset({"String", "ID", "Int", "Boolean"})


@dataclass(frozen=True)
class Limits:
    """The limits a document's text must keep (schema.Limits' values)."""

    max_depth: int
    max_tokens: int
    max_aliases: int
    max_cost: int


@dataclass(frozen=True)
class Selected:
    """One response key of a selection, after skip/include and fragments."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    type_name: str
    leaf: bool
    serialize: Callable[[Any], Any] | None = None  # a leaf's, unless it returns its value
    children: tuple[Selected, ...] = ()
    render: Callable[[Any], dict[str, Any]] | None = None  # an object's: its children's dict


@dataclass
class CompiledDocument:
    """A trusted document's plan: its operation, and its shapes by skip/include values."""

    query: str
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    directive_variables: tuple[str, ...]
    shapes: dict[tuple[Any, ...], tuple[Selected, ...]] = field(default_factory=dict)
    fast: dict[Any, Any] = field(default_factory=dict)  # schema/compiled_fast.py's statements

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None


def compile_document(
    schema: GraphQLSchema, text: str, limits: Limits, extra_rules: Sequence[Any]
) -> CompiledDocument | None:
    """The document's plan, or None when it is not in the supported set (or not valid)."""
    try:
        document = parse(text, max_tokens=limits.max_tokens)
    except GraphQLError:
        return None
    if validate(schema, document, [*specified_rules, *extra_rules]) or nul_literals(document):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    checker = _Checker(schema, fragments)
    query_type = schema.query_type
    if query_type is None or not checker.supports(operations[0].selection_set, query_type):
        return None
    return CompiledDocument(text, operations[0], fragments, tuple(sorted(checker.variables)))


class _Checker:
    """Walks every selection (whatever skip/include say) and refuses anything unsupported."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.variables: set[str] = set()

    def supports(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> bool:
        for selection in selection_set.selections:
            if not self._directives(selection):
                return False
            if isinstance(selection, FieldNode):
                if not self._field(selection, parent):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != parent.name:
                    return False
                if not self.supports(selection.selection_set, parent):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if fragment.type_condition.name.value != parent.name:
                    return False
                if not self.supports(fragment.selection_set, parent):
                    return False
        return True

    def _directives(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            if directive.name.value not in SKIP_INCLUDE:
                return False
            for argument in directive.arguments:
                if isinstance(argument.value, VariableNode):
                    self.variables.add(argument.value.name.value)
        return True

    def _field(self, node: FieldNode, parent: GraphQLObjectType) -> bool:
        name = node.name.value
        if name == "__typename":
            return True
        arguments = SUPPORTED.get(parent.name, {}).get(name)
        if arguments is None and name not in PLAIN_FIELDS.get(parent.name, ()):
            return False
        if any(a.name.value not in (arguments or ()) for a in node.arguments or ()):
            return False
        named = get_named_type(parent.fields[name].type)
        if is_leaf_type(named):
            return True
        assert isinstance(named, GraphQLObjectType)
        assert node.selection_set is not None
        return named.name in GETTERS and self.supports(node.selection_set, named)


# --- a request: the shape its variables select --------------------------------------------


def _included(selection: Any, variables: Mapping[str, Any]) -> bool:
    for directive in selection.directives or ():
        value = directive.arguments[0].value
        if isinstance(value, VariableNode):
            condition = bool(variables.get(value.name.value))
        else:
            assert isinstance(value, BooleanValueNode)
            condition = value.value
        if condition == (directive.name.value == "skip"):
            return False
    return True


def _collect(
    selection_sets: Sequence[SelectionSetNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> dict[str, list[FieldNode]]:
    """graphql-core's field collection: response keys in first-seen order, each fragment once."""
    fields: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if not _included(selection, variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visited:
                visited.add(selection.name.value)
                walk(fragments[selection.name.value].selection_set)

    for selection_set in selection_sets:
        walk(selection_set)
    return fields


def _remembered(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An enum's serializer, each member's name found once (strawberry's walks the values)."""
    names: dict[Any, Any] = {}

    def named(value: Any) -> Any:
        found = names.get(value)
        if found is None:
            found = names[value] = serialize(value)
        return found

    return named


def shape(
    schema: GraphQLSchema,
    compiled: CompiledDocument,
    selection_sets: Sequence[SelectionSetNode],
    parent: GraphQLObjectType,
    variables: Mapping[str, Any],
) -> tuple[Selected, ...]:
    selected = []
    for key, nodes in _collect(selection_sets, compiled.fragments, variables).items():
        name = nodes[0].name.value
        if name == "__typename":
            selected.append(Selected(key, name, tuple(nodes), parent.name, leaf=True))
            continue
        named = get_named_type(parent.fields[name].type)
        if is_leaf_type(named):
            serialize: Callable[[Any], Any] | None = None
            if named.name not in AS_IS:
                serialize = named.serialize
            if is_enum_type(named):
                serialize = _remembered(named.serialize)
            selected.append(Selected(key, name, tuple(nodes), named.name, True, serialize))
            continue
        assert isinstance(named, GraphQLObjectType)
        subsets = [n.selection_set for n in nodes if n.selection_set is not None]
        children = shape(schema, compiled, subsets, named, variables)
        render = renderer(children, named.name)
        selected.append(
            Selected(key, name, tuple(nodes), named.name, False, None, children, render)
        )
    return tuple(selected)


# --- rendering: the executor's dict, from the values -------------------------------------


def renderer(selection: tuple[Selected, ...], type_name: str) -> Callable[[Any], dict[str, Any]]:
    """What the executor's completion makes of a value of `type_name` for this selection: a
    dict in the selection's order, leaves serialized, objects and lists of them nested."""
    steps = [(s.key, _step(s, GETTERS[type_name], type_name)) for s in selection]

    def render(value: Any) -> dict[str, Any]:
        return {key: step(value) for key, step in steps}

    return render


def _step(selected: Selected, getters: dict[str, Getter], type_name: str) -> Getter:
    if selected.name == "__typename":
        return lambda _: type_name
    get = getters[selected.name]
    serialize = selected.serialize
    if selected.leaf:
        if serialize is None:
            return get
        return lambda value: None if (found := get(value)) is None else serialize(found)
    child = selected.render
    assert child is not None

    def nested(value: Any) -> Any:
        found = get(value)
        if found is None:
            return None
        if isinstance(found, list):
            return [child(item) for item in found]
        return child(found)

    return nested
