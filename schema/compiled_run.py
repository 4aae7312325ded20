"""Running a compiled document (schema/compiled.py) for one request: `prepare` says whether the
request runs compiled (None: the executor runs it), `answer` runs one statement per root field
(`thread`, `members`, `resources`: `PLANNERS`) and returns the body the executor would have
returned, encoded alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLObjectType, GraphQLSchema
from graphql.execution.values import get_variable_values

from resolvers.compiled.threads import ThreadReads, read_thread
from resolvers.errors import ClientError
from resolvers.pagination import PageRequest
from resolvers.threads import POST_ORDER
from schema.compiled import CompiledDocument, Selected, shape
from schema.compiled_fields import Asking, argument, names_under
from schema.compiled_members import plan_members
from schema.compiled_resources import plan_resources
from schema.compiled_threads import thread_value
from schema.context import Context
from schema.encoding import json_bytes
from schema.extensions import COSTS, nul_at
from schema.relay import decode_int_id

MAX_SHAPES = 64  # per document: one per combination of its skip/include variables


class RootPlan(Protocol):
    """One root field of a request, ready to run: its statements, and its value (None: null)."""

    @property
    def statements(self) -> int: ...

    async def value(self, context: Context) -> Any: ...


# A root field's planner: None when this request must run through the executor.
Planner = Callable[[GraphQLSchema, Selected, Mapping[str, Any], Asking], RootPlan | None]


@dataclass(frozen=True)
class RootRead:
    """A `thread` root field: the thread's key (None: not a thread's ID) and what to read."""

    thread_id: int | None
    reads: ThreadReads

    @property
    def statements(self) -> int:
        return 1 if self.thread_id is not None else 0

    async def value(self, context: Context) -> Any:
        if self.thread_id is None:
            return None
        rows = await read_thread(context.db.reads, context.viewer, self.thread_id, self.reads)
        return thread_value(rows, context.viewer, self.reads)


@dataclass(frozen=True)
class Prepared:
    roots: tuple[Selected, ...]
    reads: dict[str, RootPlan]
    cost: int
    maximum: int
    shape_key: tuple[Any, ...] = ()  # the skip/include values that chose `roots`

    @property
    def statements(self) -> int:
        return sum(r.statements for r in self.reads.values())


def _thread_read(
    schema: GraphQLSchema, root: Selected, values: Mapping[str, Any], asking: Asking
) -> RootRead | None:
    query_type = schema.query_type
    thread_type = schema.get_type("Thread")
    assert query_type is not None
    assert isinstance(thread_type, GraphQLObjectType)
    thread_id = decode_int_id(str(argument(root.nodes[0], "id", query_type, values)), "Thread")
    posts = [s for s in root.children if s.name == "posts"]
    if len(posts) > 1:
        return None  # two pages of one thread: not compiled
    request: PageRequest | None = None
    if posts:
        node = posts[0].nodes[0]
        try:
            request = PageRequest(
                first=argument(node, "first", thread_type, values),
                after=argument(node, "after", thread_type, values),
            )
            if request.after is not None:
                POST_ORDER.bound(request.after)
        except ClientError:
            return None  # the executor answers the error
    post_fields = names_under(root.children, "posts", "edges", "node")
    reads = ThreadReads(
        posts=request,
        authors="author" in post_fields,
        reactions="reactions" in post_fields,
        role="body" in post_fields and asking.viewer.is_signed_in,
    )
    return RootRead(thread_id, reads)


PLANNERS: dict[str, Planner] = {
    "thread": _thread_read,
    "members": plan_members,
    "resources": plan_resources,
}


def prepare(
    schema: GraphQLSchema,
    compiled: CompiledDocument,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    asking: Asking,
    maximum: int,
) -> Prepared | None:
    """How this request runs compiled; None when it must run through the executor."""
    if operation_name is not None and operation_name != compiled.name:
        return None
    if any(nul_at(v, f"${k}") for k, v in (variables or {}).items()):
        return None
    coerced = get_variable_values(
        schema, compiled.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):
        return None
    values = coerced.coerced
    cost = COSTS.cost(schema, compiled.query, compiled.operation, compiled.fragments, variables)
    if cost > maximum:
        return None
    shape_key, roots = _shape(schema, compiled, values)
    reads: dict[str, RootPlan] = {}
    for root in roots:
        if root.name != "__typename":
            read = PLANNERS[root.name](schema, root, values, asking)
            if read is None:
                return None
            reads[root.key] = read
    return Prepared(roots, reads, cost, maximum, shape_key)


def _shape(
    schema: GraphQLSchema, compiled: CompiledDocument, values: Mapping[str, Any]
) -> tuple[tuple[Any, ...], tuple[Selected, ...]]:
    key = tuple(values.get(n) for n in compiled.directive_variables)
    found = compiled.shapes.get(key)
    if found is None:
        query_type = schema.query_type
        assert query_type is not None
        found = shape(schema, compiled, [compiled.operation.selection_set], query_type, values)
        if len(compiled.shapes) < MAX_SHAPES:
            compiled.shapes[key] = found
    return key, found


async def answer(prepared: Prepared, context: Context) -> bytes:
    """The response body: `data` then `extensions.cost`, as the executor's."""
    data: dict[str, Any] = {}
    for root in prepared.roots:
        if root.name == "__typename":
            data[root.key] = "Query"
            continue
        value = await prepared.reads[root.key].value(context)
        assert root.render is not None
        data[root.key] = root.render(value) if value is not None else None
    cost = {"requested": prepared.cost, "maximum": prepared.maximum}
    return json_bytes({"data": data, "extensions": {"cost": cost}})
