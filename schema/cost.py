"""What an operation may cost before it runs: every field selected counts 1, and what is
selected under the `edges` or `nodes` of a paginated list counts once per item it may return
(`first`, or the default page size; `nodes(ids:)` once per ID). Fragments on several types of
a union all count, so the figure is an upper bound, known before any SQL runs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

ITEM_FIELDS = frozenset({"edges", "nodes"})  # a connection's fields that repeat per item


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection_set(
        self,
        selections: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        seen: frozenset[str],
        items: int = 1,
    ) -> int:
        """The cost of a selection; `items`: how many items the list it belongs to (if it is a
        connection's) may return, which its `edges` and `nodes` cost once each."""
        total = 0
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                cost = self.field(selection, parent, seen)
                total += cost * items if selection.name.value in ITEM_FIELDS else cost
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, target, seen, items)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # validation reports unknown or cyclic fragments
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection_set(fragment.selection_set, target, seen | {name}, items)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 1
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:
            return 1  # validation reports unknown fields
        child = get_named_type(definition.type)
        items = self.items(node, definition.args)
        if "ids" in definition.args:  # nodes(ids:) returns the objects themselves
            return 1 + items * self.selection_set(node.selection_set, child, seen)
        return 1 + self.selection_set(node.selection_set, child, seen, items)

    def items(self, node: FieldNode, args: Mapping[str, Any]) -> int:
        """How many items the field may return, for what is selected under it."""
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        if "first" in args:
            size = self.number(given.get("first"))
            if size is None and "last" in args:
                size = self.number(given.get("last"))
            return min(size if size is not None else DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if "ids" in args:
            ids = given.get("ids")
            if isinstance(ids, ListValueNode):
                return len(ids.values)
            value = self.variables.get(ids.name.value) if isinstance(ids, VariableNode) else None
            return len(value) if isinstance(value, list) else MAX_PAGE_SIZE
        return 1

    def number(self, value: ValueNode | None) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            return given if isinstance(given, int) else None
        return None


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
) -> int:
    root = schema.get_root_type(operation.operation)
    return _Walk(schema, fragments, variables or {}).selection_set(
        operation.selection_set, root, frozenset()
    )


class CostCache:
    """Costs already computed, by document text, operation name and what of the variables a
    cost reads (integers, as `first`/`last`; list lengths, as `ids`): a page sent again is
    not walked again (the walk was ~5% of the thread page's CPU). Bounded, oldest out."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._costs: OrderedDict[Hashable, int] = OrderedDict()

    def cost(
        self,
        schema: GraphQLSchema,
        query: str,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> int:
        key = (id(schema), query, operation.name.value if operation.name else None,
               _sizes(variables))  # fmt: skip
        found = self._costs.get(key)
        if found is not None:
            self._costs.move_to_end(key)
            return found
        computed = operation_cost(schema, operation, fragments, variables)
        self._costs[key] = computed
        if len(self._costs) > self.maxsize:
            self._costs.popitem(last=False)
        return computed


def _sizes(variables: Mapping[str, Any] | None) -> tuple[tuple[str, str, int], ...]:
    facts = []
    for name, value in (variables or {}).items():
        if isinstance(value, int):  # bools too: `number()` takes them as they are
            facts.append((name, type(value).__name__, int(value)))
        elif isinstance(value, list):
            facts.append((name, "list", len(value)))
    return tuple(sorted(facts))
