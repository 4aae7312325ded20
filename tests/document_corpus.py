"""The corpus of the compiled documents' differential test (tests/test_compiled_corpus.py):
every GraphQL query operation written in the tests, the benchmarks and README.md (mined, so
that a document someone wrote for another reason is compared too), and documents generated
over the compiler's supported set (so that combinations nobody wrote are compared too).

Mining reads Python with `ast` (string constants, constant concatenations and f-strings
without placeholders) and README.md's fenced blocks; it keeps each query operation that parses
and validates against the hub's schema, one document per operation (with the fragments it
uses), deduplicated by printed form. Generation is deterministic (a seed): the same documents
on every run."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_leaf_type,
    parse,
    print_ast,
    specified_rules,
    validate,
    visit,
)
from graphql.language import Visitor

from schema.compiled import ROOTS
from schema.compiled_fields import RootField

ROOT_DIR = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^[ \t]*```([\w-]*)[ \t]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Mined:
    """One query operation found in a file: where (`file:line`, and the operation's name),
    and its text."""

    name: str
    text: str
    operation_name: str | None


# --- mining ---------------------------------------------------------------------------------


def python_strings(path: Path) -> Iterator[tuple[int, str]]:
    """The constant strings of a Python file, with their lines: literals, implicit and `+`
    concatenations of constants, f-strings without placeholders."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and _constant(node) is not None:
            inner |= {id(n) for n in ast.walk(node) if n is not node}
    for node in ast.walk(tree):
        if id(node) in inner:
            continue
        value = _constant(node)
        if value is not None and "{" in value:
            yield node.lineno, value  # type: ignore[attr-defined]


def _constant(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant(node.left), _constant(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def markdown_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """The fenced blocks of a Markdown file (any language: those that are not GraphQL do not
    parse), indentation removed, with their first lines."""
    text = path.read_text("utf-8")
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        body = match.group(2)
        indent = min((len(x) - len(x.lstrip()) for x in body.splitlines() if x.strip()), default=0)
        yield line, "\n".join(x[indent:] for x in body.splitlines())


def operations(schema: GraphQLSchema, text: str) -> Iterator[tuple[str, str | None]]:
    """Each valid query operation of `text` as a document of its own (the operation and the
    fragments it uses), printed, with its name."""
    try:
        document = parse(text)
    except GraphQLError:
        return
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation is not OperationType.QUERY:
            continue
        used = _used_fragments(definition, fragments)
        alone = DocumentNode(definitions=(definition, *(fragments[n] for n in used)))
        if validate(schema, alone, specified_rules):
            continue
        yield print_ast(alone), definition.name.value if definition.name else None


def _used_fragments(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    """The fragments an operation spreads, transitively, in first-seen order (unknown ones
    left for validation to refuse)."""
    found: list[str] = []
    pending: list[object] = [operation]

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
            name = node.name.value
            if name not in found and name in fragments:
                found.append(name)
                pending.append(fragments[name])

    while pending:
        visit(pending.pop(), Spreads())  # type: ignore[arg-type]
    return found


def mine(schema: GraphQLSchema, root: Path = ROOT_DIR) -> list[Mined]:
    """Every query operation of the tests, the benchmarks and README.md, once each (by its
    printed form), in a stable order."""
    sources: list[tuple[str, int, str]] = []
    for folder in ("tests", "bench"):
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            sources += [(relative, line, s) for line, s in python_strings(path)]
    sources += [("README.md", line, s) for line, s in markdown_blocks(root / "README.md")]
    seen: dict[str, Mined] = {}
    for file, line, text in sources:
        for printed, operation_name in operations(schema, text):
            if printed in seen:
                continue
            name = f"{file}:{line}" + (f":{operation_name}" if operation_name else "")
            while name in {m.name for m in seen.values()}:
                name += "'"
            seen[printed] = Mined(name, printed, operation_name)
    return list(seen.values())


# --- generation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """A generated document and the variables it is sent with."""

    name: str
    text: str
    variables: dict[str, object]


class Generator:
    """Random documents over `ROOTS` (schema/compiled.py) and their getters' tables: random
    subsets of the supported fields at each level, aliases, named fragments (some spread
    twice) and inline ones, a field repeated under one key with other subfields (merged),
    `@skip`/`@include` (both at once too) with literals and variables (some with defaults,
    left out), page sizes and filters as literals or variables, a root repeated under
    aliases, `__typename`. Every document is valid (else drawn again); the test checks that
    the compiler accepts it."""

    def __init__(self, schema: GraphQLSchema, seed: int) -> None:
        self.schema = schema
        self.random = random.Random(seed)

    def documents(self, count: int, values: Mapping[str, object]) -> list[Generated]:
        return [self.document(i, values) for i in range(count)]

    def document(self, number: int, values: Mapping[str, object]) -> Generated:
        while True:
            drawn = self._draw(number, values)
            if not validate(self.schema, parse(drawn.text), specified_rules):
                return drawn

    def _draw(self, number: int, values: Mapping[str, object]) -> Generated:
        state = _Document(self, values)
        roots = self.random.choices(sorted(ROOTS), k=self.random.choice((1, 1, 1, 2, 3)))
        selections = []
        if self.random.random() < 0.3:
            selections.append("__typename")
        for i, root_name in enumerate(roots):
            selections.append(state.root(ROOTS[root_name], root_name in roots[:i]))
        body = " ".join(selections)
        definitions = ", ".join(f"${n}: {t}" for n, t in state.variable_types.items())
        head = f"query G{number}" + (f"({definitions})" if definitions else "")
        text = head + " { " + body + " }" + "".join(state.fragments)
        return Generated(f"generated-{number}", text, state.variables)


class _Document:
    """One document being generated: its variables and fragments."""

    def __init__(self, generator: Generator, values: Mapping[str, object]) -> None:
        self.random = generator.random
        self.schema = generator.schema
        self.values = values
        self.variable_types: dict[str, str] = {}
        self.variables: dict[str, object] = {}
        self.fragments: list[str] = []
        self.fragments_of: dict[tuple[str, str], list[str]] = {}  # (root, table) -> names
        self.aliases = 0

    def root(self, root: RootField, repeated: bool) -> str:
        query_type = self.schema.query_type
        assert query_type is not None
        named = get_named_type(query_type.fields[root.name].type)
        assert isinstance(named, GraphQLObjectType)
        arguments = self._root_arguments(root.name)
        selection = self.selection(root, named, named.name, depth=1)
        key = self._aliased(root.name, always=repeated)
        return key + arguments + " { " + selection + " }"

    def _root_arguments(self, name: str) -> str:
        given: list[str] = []
        if name == "thread":
            thread = self.values.get(self.random.choice(THREAD_IDS), "x")
            if self.random.random() < 0.3:
                return f'(id: "{thread}")'
            return "(id: " + self._variable("ID!", thread) + ")"
        if self.random.random() < 0.85:
            given.append("first: " + self._page_size())
        filters = {"members": MEMBER_FILTERS, "resources": RESOURCE_FILTERS}[name]
        if self.random.random() < 0.4:
            literal, value = self.random.choice(filters)
            if self.random.random() < 0.5:
                given.append("filter: " + literal)
            else:
                input_type = "MemberFilterInput" if name == "members" else "ResourceFilterInput"
                given.append("filter: " + self._variable(input_type, value))
        if name == "resources" and self.random.random() < 0.5:
            order = self.random.choice(ORDERS)
            draw = self.random.random()
            if draw < 0.5:
                given.append("orderBy: " + order)
            elif draw < 0.75:
                given.append("orderBy: " + self._variable("ResourceOrder!", order))
            else:  # a variable's default, the request leaving it out
                given.append("orderBy: " + self._variable(f"ResourceOrder = {order}", None))
        return "(" + ", ".join(given) + ")" if given else ""

    def _page_size(self) -> str:
        size = self.random.choice((0, 1, 2, 3, 5, 8))
        if self.random.random() < 0.5:
            return str(size)
        return self._variable("Int", size)

    def _variable(self, type_name: str, value: object) -> str:
        """A new variable of the type (with its default, if any), sent with `value` (left
        out of the request when None)."""
        name = f"v{len(self.variable_types)}"
        self.variable_types[name] = type_name
        if value is not None:
            self.variables[name] = value
        return "$" + name

    def _aliased(self, name: str, always: bool = False) -> str:
        if always or (self.aliases < 10 and self.random.random() < 0.25):
            self.aliases += 1
            return f"a{self.aliases}_{name}: {name}"
        return name

    def _condition(self) -> str:
        kind = self.random.choice(("skip", "include"))
        draw = self.random.random()
        if draw < 0.5:
            return f" @{kind}(if: {self.random.choice(('true', 'false'))})"
        if draw < 0.8:
            return f" @{kind}(if: {self._variable('Boolean!', self.random.random() < 0.5)})"
        default = self.random.choice(("true", "false"))
        given = self.random.choice((None, True, False))
        return f" @{kind}(if: {self._variable(f'Boolean = {default}', given)})"

    def _directive(self) -> str:
        draw = self.random.random()
        if draw < 0.8:
            return ""
        if draw < 0.96:
            return self._condition()
        return self._condition() + self._condition()

    def selection(self, root: RootField, parent: GraphQLObjectType, table: str, depth: int) -> str:
        """A random non-empty subset of the table's fields, some in fragments (skip/include
        may still leave none: an empty object); some object field again with other fields."""
        names = sorted(root.getters[table])
        chosen = [n for n in names if self.random.random() < 0.5] or [self.random.choice(names)]
        parts = []
        for name in chosen:
            head, inner = self.field(root, parent, table, name, depth)
            parts.append(head + inner)
            if inner and self.random.random() < 0.15:  # merged with the first
                again = self._inner(root, parent, table, name, depth)
                parts.append(f"... {{ {head.split(' @')[0]}{again} }}")
        if self.random.random() < 0.2:
            parts.append(self._aliased("__typename"))
        reused = self.fragments_of.get((root.name, table), [])
        if reused and self.random.random() < 0.3:
            parts.append("..." + self.random.choice(reused) + self._directive())
        return " ".join(self._wrap(root, parent, table, p) for p in parts)

    def _wrap(self, root: RootField, parent: GraphQLObjectType, table: str, part: str) -> str:
        draw = self.random.random()
        if draw < 0.12:
            return f"... on {parent.name}{self._directive()} {{ {part} }}"
        if draw < 0.18:
            return f"...{self._directive()} {{ {part} }}"
        if draw < 0.28:
            name = f"F{len(self.fragments)}"
            self.fragments.append(f" fragment {name} on {parent.name} {{ {part} }}")
            self.fragments_of.setdefault((root.name, table), []).append(name)
            return f"...{name}{self._directive()}"
        return part

    def field(
        self, root: RootField, parent: GraphQLObjectType, table: str, name: str, depth: int
    ) -> tuple[str, str]:
        """The field's key, arguments and directives; its selection (empty for a leaf)."""
        named = get_named_type(parent.fields[name].type)
        key = self._aliased(name)
        directive = self._directive()
        if is_leaf_type(named):
            return key + directive, ""
        arguments = ""
        if name == "posts":
            given = []
            if self.random.random() < 0.7:
                given.append("first: " + self._page_size())
            if self.random.random() < 0.3:
                given.append("after: " + self._variable("String", self.values.get("postCursor")))
            arguments = "(" + ", ".join(given) + ")" if given else ""
        return key + arguments + directive, self._inner(root, parent, table, name, depth)

    def _inner(
        self, root: RootField, parent: GraphQLObjectType, table: str, name: str, depth: int
    ) -> str:
        named = get_named_type(parent.fields[name].type)
        assert isinstance(named, GraphQLObjectType)
        child = root.table(table, name, named.name)
        return " { " + self.selection(root, named, child, depth + 1) + " }"


THREAD_IDS = ("publicThread", "privateThread", "deletedThread", "missingThread", "aPost")
# Filters: the literal, and the same as a variable's value.
MEMBER_FILTERS = (
    ("{isExpert: true}", {"isExpert": True}),
    ("{roles: [ADMIN, MODERATOR]}", {"roles": ["ADMIN", "MODERATOR"]}),
    ('{country: "KE"}', {"country": "KE"}),
    ("{organizationKind: CIVIL_SOCIETY}", {"organizationKind": "CIVIL_SOCIETY"}),
    ('{languages: ["fr"]}', {"languages": ["fr"]}),
    ("{objectives: [3, 5]}", {"objectives": [3, 5]}),
)
ORDERS = ("NEWEST", "RECENTLY_REVIEWED", "TITLE")
RESOURCE_FILTERS = (
    ("{objectives: [6]}", {"objectives": [6]}),
    (
        "{states: [DRAFT, SUBMITTED, IN_REVIEW, APPROVED]}",
        {"states": ["DRAFT", "SUBMITTED", "IN_REVIEW", "APPROVED"]},
    ),
    ("{kinds: [TOOL, DATASET]}", {"kinds": ["TOOL", "DATASET"]}),
    ('{languages: ["fr"]}', {"languages": ["fr"]}),
    ('{countries: ["KE"]}', {"countries": ["KE"]}),
)
