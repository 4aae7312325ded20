"""The fast path's plan of a compiled request (app/compiled_front.py): one PostgreSQL statement
per root field that returns the field's JSON text (resolvers/compiled/fast.py), and the body
made of those texts, byte for byte the body `schema/compiled_run.answer` (and the executor)
writes.

A root field takes the fast path when `FAST_ROOTS` has a plan for it. A plan is a function of
the root's `Selected` (as `Pick`s), its read (`Prepared.reads`) and the kind of viewer, that
returns the statement (built from the policy's predicates, `Params.viewer` for the viewer) and
the request's values of its parameters; or a constant JSON text when no statement is needed
(a `thread` whose ID is not a thread's: `null`); or None when this request is not the fast
path's. A `resources` page whose titles follow a signed-in member's declared languages reads
them in the languages the caller computed from its token lookup (`Declared.wanted`), with a
statement that re-checks those languages are still the member's. Statements are built once per document, shape, root and kind of viewer (and what
`statement_key` says: a filter, a page size) and kept on the `CompiledDocument`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from resolvers.compiled.fast import FastStatement, Pick, ViewerKind
from resolvers.compiled.members_json import members_statement, members_values
from resolvers.compiled.resources_json import ResourcesShape, resources_statement, resources_values
from resolvers.compiled.threads_json import thread_statement, thread_values
from schema.compiled import CompiledDocument, Selected
from schema.compiled_members import MembersPlan
from schema.compiled_resources import ResourcesPlan
from schema.compiled_run import Prepared, RootRead
from schema.encoding import ascii_json_text

MAX_STATEMENTS = 256  # per document: shapes x roots x kinds of viewer


@dataclass(frozen=True)
class FastPart:
    """One root field of a request: its statement and the values of its parameters, or its
    constant JSON text (no statement)."""

    key: str
    statement: FastStatement | None
    values: dict[str, Any] | str


class FastRoot(Protocol):
    """What a root field's plan provides to take the fast path (see the module's docstring)."""

    def statement_key(self, read: Any) -> Hashable:
        """What the statement's text depends on besides the shape and the kind of viewer."""
        ...

    def statement(self, root: Selected, read: Any, kind: ViewerKind) -> FastStatement: ...

    def values(self, read: Any, declared: Sequence[str]) -> dict[str, Any] | str | None:
        """The request's values of the statement's parameters, or a constant JSON text; None:
        this request is not the fast path's (the view answers it). `declared`: the signed-in
        viewer's titles' languages made of their declared ones (empty when anonymous)."""
        ...


def pick_of(selected: Selected) -> Pick:
    return Pick(selected.key, selected.name, tuple(pick_of(c) for c in selected.children))


class ThreadRoot:
    """`thread(id:)`: resolvers/compiled/threads_json.py."""

    def statement_key(self, read: RootRead) -> Hashable:
        return read.reads.posts is not None and read.reads.posts.after is not None

    def statement(self, root: Selected, read: RootRead, kind: ViewerKind) -> FastStatement:
        return thread_statement(kind, pick_of(root), bool(self.statement_key(read)))

    def values(self, read: RootRead, declared: Sequence[str]) -> dict[str, Any] | str:
        if read.thread_id is None:
            return "null"  # not a thread's ID: the executor answers null, reading nothing
        return thread_values(read.thread_id, read.reads.posts)


class MembersRoot:
    """`members(filter:, first:, after:)`: resolvers/compiled/members_json.py."""

    def statement_key(self, read: MembersPlan) -> Hashable:
        page = read.reads.page
        return read.reads.criteria, page.after is not None, page.size

    def statement(self, root: Selected, read: MembersPlan, kind: ViewerKind) -> FastStatement:
        return members_statement(kind, pick_of(root), read.reads.criteria, read.reads.page)

    def values(self, read: MembersPlan, declared: Sequence[str]) -> dict[str, Any] | str:
        return members_values(read.reads.page)


class ResourcesRoot:
    """`resources(filter:, orderBy:, first:, after:)`: resolvers/compiled/resources_json.py;
    titles in a signed-in member's declared languages when the request names none."""

    def statement_key(self, read: ResourcesPlan) -> Hashable:
        reads = read.reads
        after, size = reads.page.after is not None, reads.page.size
        translated = bool(read.languages) or read.declared
        return ResourcesShape(reads.criteria, reads.order, after, size, translated, read.declared)

    def statement(self, root: Selected, read: ResourcesPlan, kind: ViewerKind) -> FastStatement:
        shape = self.statement_key(read)
        assert isinstance(shape, ResourcesShape)
        return resources_statement(kind, pick_of(root), shape)

    def values(self, read: ResourcesPlan, declared: Sequence[str]) -> dict[str, Any] | str | None:
        languages = declared if read.declared else read.languages
        return resources_values(read.reads.order, read.reads.page, languages)


FAST_ROOTS: dict[str, FastRoot] = {
    "thread": ThreadRoot(),
    "members": MembersRoot(),
    "resources": ResourcesRoot(),
}


def fast_parts(
    compiled: CompiledDocument, prepared: Prepared, kind: ViewerKind, declared: Sequence[str]
) -> list[FastPart] | None:
    """The request's roots on the fast path; None when a root has no fast plan. `declared`:
    the signed-in viewer's titles' languages made of their declared ones (`Declared.wanted`),
    as hinted: a statement reading them checks they are still the member's."""
    parts = []
    for root in prepared.roots:
        if root.name == "__typename":
            parts.append(FastPart(root.key, None, '"Query"'))
            continue
        plan = FAST_ROOTS.get(root.name)
        if plan is None:
            return None
        read = prepared.reads[root.key]
        values = plan.values(read, declared)
        if values is None:
            return None
        if isinstance(values, str):
            parts.append(FastPart(root.key, None, values))
            continue
        key = (prepared.shape_key, root.key, kind, plan.statement_key(read))
        statement: FastStatement | None = compiled.fast.get(key)
        if statement is None:
            statement = plan.statement(root, read, kind)
            if len(compiled.fast) >= MAX_STATEMENTS:
                compiled.fast.clear()
            compiled.fast[key] = statement
        parts.append(FastPart(root.key, statement, values))
    return parts


def fast_body(prepared: Prepared, texts: list[str]) -> bytes:
    """`{"data":{...},"extensions":{"cost":...}}` from the roots' JSON texts, in order."""
    data = ",".join(
        f'"{root.key}":{text}' for root, text in zip(prepared.roots, texts, strict=True)
    )
    cost = f'"cost":{{"requested":{prepared.cost},"maximum":{prepared.maximum}}}'
    return ascii_json_text(f'{{"data":{{{data}}},"extensions":{{{cost}}}}}')
