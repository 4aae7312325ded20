"""Trusted documents compiled to one statement per root field (issue 17, point 2).

`compile_document` takes a trusted document's text and returns a `CompiledDocument`, or None
when the document uses anything outside the supported set (`ROOTS`): then the executor runs
it, as for any other text. What is supported is exactly what the differential test
(tests/test_compiled_documents.py) proves equal to the executor, byte for byte:

- one query operation whose root fields are among `ROOTS` (`thread(id:)`,
  `members(filter:, first:, after:)`, `resources(filter:, orderBy:, first:, after:)`) and
  `__typename`; under each, the fields of its getters' tables (schema/compiled_threads.py,
  schema/compiled_members.py, schema/compiled_resources.py);
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
    DocumentNode,
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

from schema.compiled_fields import Getter, RootField
from schema.compiled_members import MEMBERS_FIELD
from schema.compiled_resources import RESOURCES_FIELD
from schema.compiled_threads import THREAD_FIELD
from schema.extensions import nul_literals

# The root fields that compile, each with what it supports under it.
ROOTS: dict[str, RootField] = {r.name: r for r in (THREAD_FIELD, MEMBERS_FIELD, RESOURCES_FIELD)}
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
    table: str = ""  # an object's: the getters' table its children are read with


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
    if validate(schema, document, [*specified_rules, *extra_rules]):
        return None
    return compile_valid(schema, text, document)


def compile_valid(
    schema: GraphQLSchema, text: str, document: DocumentNode
) -> CompiledDocument | None:
    """The plan of `text`, parsed into `document` and found valid by the caller (under the
    schema's rules and limits); None when it is not in the supported set."""
    if nul_literals(document):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    checker = _Checker(schema, fragments)
    query_type = schema.query_type
    if query_type is None or not checker.supports(operations[0].selection_set, query_type, None):
        return None
    return CompiledDocument(text, operations[0], fragments, tuple(sorted(checker.variables)))


class _Checker:
    """Walks every selection (whatever skip/include say) and refuses anything unsupported."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.variables: set[str] = set()

    def supports(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType,
        root: RootField | None,
        table: str = "Query",
    ) -> bool:
        """Whether every selection is supported: at the root (`root` None), root fields of
        `ROOTS`; under one, the fields of its `table`."""
        for selection in selection_set.selections:
            if not self._directives(selection):
                return False
            if isinstance(selection, FieldNode):
                if not self._field(selection, parent, root, table):
                    return False
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = self.fragments[selection.name.value]
                condition, inner = fragment.type_condition, fragment.selection_set
            if condition is not None and condition.name.value != parent.name:
                return False
            if not self.supports(inner, parent, root, table):
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

    def _field(
        self, node: FieldNode, parent: GraphQLObjectType, root: RootField | None, table: str
    ) -> bool:
        name = node.name.value
        if name == "__typename":
            return True
        definition = parent.fields.get(name)
        if definition is None:
            return False  # introspection (`__schema`, `__type`): the executor answers it
        named = get_named_type(definition.type)
        if root is None:
            root = ROOTS.get(name)
            if root is None:
                return False
            arguments: frozenset[str] = root.arguments
        elif name in root.getters.get(table, {}):
            arguments = root.arguments_of.get(table, {}).get(name, frozenset())
        else:
            return False
        if any(a.name.value not in arguments for a in node.arguments or ()):
            return False
        if is_leaf_type(named):
            return True
        assert isinstance(named, GraphQLObjectType)
        assert node.selection_set is not None
        child = root.table(table, name, named.name) if table != "Query" else named.name
        return child in root.getters and self.supports(node.selection_set, named, root, child)


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
    root: RootField | None = None,
    table: str = "Query",
) -> tuple[Selected, ...]:
    """The selection of these selection sets for this request's skip/include values: at the
    root (`root` None), the root fields; under one, the fields of its `table`."""
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
        field_root = ROOTS[name] if root is None else root
        child = named.name if root is None else root.table(table, name, named.name)
        children = shape(schema, compiled, subsets, named, variables, field_root, child)
        render = renderer(children, named.name, field_root.getters[child])
        selected.append(
            Selected(key, name, tuple(nodes), named.name, False, None, children, render, child)
        )
    return tuple(selected)


# --- rendering: the executor's dict, from the values -------------------------------------


def renderer(
    selection: tuple[Selected, ...], type_name: str, getters: Mapping[str, Getter]
) -> Callable[[Any], dict[str, Any]]:
    """What the executor's completion makes of a value of `type_name` for this selection: a
    dict in the selection's order, leaves serialized, objects and lists of them nested."""
    steps = [(s.key, _step(s, getters, type_name)) for s in selection]

    def render(value: Any) -> dict[str, Any]:
        return {key: step(value) for key, step in steps}

    return render


def _step(selected: Selected, getters: Mapping[str, Getter], type_name: str) -> Getter:
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
