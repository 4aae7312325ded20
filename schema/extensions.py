"""Schema extensions: introspection by policy, and error codes with masking of internal errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    StringValueNode,
    Visitor,
    get_operation_ast,
    specified_rules,
    validate,
    visit,
)
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.types import StreamExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.errors import ClientError
from resolvers.policy import may_use_developer_tools
from schema.context import Context
from schema.cost import CostCache
from schema.request_id import current_request_id, current_trace_id

logger = logging.getLogger("hub.errors")

INTERNAL_MESSAGE = "Internal server error."
# graphql-core's "Did you mean ...?" names arguments, types, enum values and input fields even
# with field suggestions disabled: the schema must not leak through error messages.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


# Texts whose parse and validation each process keeps (strawberry's LRUs, keyed by the text and
# the parse options, and by the document and the rules).
CACHED_TEXTS = 512
_PARSE = ParserCache(maxsize=CACHED_TEXTS).cached_parse_document
_VALIDATE = ValidationCache(maxsize=CACHED_TEXTS).cached_validate_document


def cached_parse(text: str, max_tokens: int) -> DocumentNode:
    """The executor's parse of `text` (GraphQLError if it does not parse), from the LRU the
    schema's ReportingParserCache shares: a text one of them parsed, the other finds."""
    document: DocumentNode = _PARSE(text, max_tokens=max_tokens)
    return document


def cached_validation(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """The executor's validation of `document` (specified rules, then `rules`, the ones the
    schema adds with AddValidationRules), from the LRU the schema's ValidationCache shares."""
    errors: list[GraphQLError] = _VALIDATE(schema, document, (*specified_rules, *rules))
    return errors


def cached_text_misses() -> tuple[int, int]:
    """How many texts the shared LRUs have parsed, and documents they have validated, so far."""
    return _misses(_PARSE), _misses(_VALIDATE)


def _misses(cached: Any) -> int:
    return int(cached.cache_info().misses)  # functools.lru_cache's wrapper


class ReportingParserCache(ParserCache):
    """strawberry's ParserCache, but a document that does not parse (syntax error, too many
    tokens) is left to strawberry's own parse, which reports it as a pre-execution error that
    `ErrorCodes` sees; raised from the cache, it escaped the operation hooks without a code."""

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLError:
            yield


_INTROSPECTION_NAME = re.compile(r"\b__(?:schema|type)\b")


NUL = "\x00"


def nul_at(value: object, path: str) -> str | None:
    """Where a JSON value (the variables) holds a NUL character, in any string, key or item."""
    if isinstance(value, str):
        return path if NUL in value else None
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                return path
            items.append((f"{path}.{key}", item))
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    for where, item in items:
        found = nul_at(item, where)
        if found is not None:
            return found
    return None


def nul_literals(document: DocumentNode) -> list[StringValueNode]:
    found: list[StringValueNode] = []

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if NUL in node.value:
                found.append(node)

    visit(document, Finder())
    return found


class RequestShape(SchemaExtension):
    """Refuses, before anything runs, what no operation can mean:

    - a NUL character in any string argument or variable (no text here holds one, and
      PostgreSQL refuses them in text): `BAD_USER_INPUT`, on every database alike;
    - several operations with no `operationName` to choose one (the GraphQL spec's request
      error; graphql-core would otherwise run the first).

    Listed after the validation cache, like IntrospectionPolicy: errors are set before the
    yield."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            # NUL first, over any validation error: the one thing to fix is the text.
            errors = self._nul(document) or ctx.pre_execution_errors or self._unnamed(document)
            # Left as the cache set it when nothing is wrong: `None` here made strawberry
            # validate the document again, uncached, on every request.
            if errors:
                ctx.pre_execution_errors = errors
        yield

    def _nul(self, document: DocumentNode) -> list[GraphQLError]:
        # A string literal holds NUL only through an escape (\u0000, \u{0}): most documents
        # have no escape at all and need no walk.
        query = self.execution_context.query or ""
        literals = nul_literals(document) if "\\u" in query else []
        variables = self.execution_context.variables or {}
        where = next((f for f in (nul_at(v, f"${k}") for k, v in variables.items()) if f), None)
        if not literals and where is None:
            return []
        named = f" (in `{where}`)" if where else ""
        return [
            GraphQLError(
                f"Text may not contain NUL characters (U+0000){named}.",
                nodes=literals or None,
                extensions={"code": "BAD_USER_INPUT"},
            )
        ]

    def _unnamed(self, document: DocumentNode) -> list[GraphQLError]:
        # strawberry's `operation_name` falls back to the first operation's name; what the
        # client sent is kept apart (strawberry internals: pinned by tests/test_request_shape).
        if self.execution_context.__dict__["_provided_operation_name"] is not None:
            return []
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) < 2:
            return []
        return [
            GraphQLError(
                "The document has several operations: name the one to run in `operationName`.",
                extensions={"code": "BAD_REQUEST"},
            )
        ]


class IntrospectionPolicy(SchemaExtension):
    """`__schema` and `__type` only for whom the policy allows (development, staff).

    Listed after ValidationCache: it runs once the cached validation has run (so the cache
    stays independent of the viewer) and before the yield, because strawberry looks at the
    validation errors before the hooks resume: errors added after the yield were ignored."""

    def on_validate(self) -> Iterator[None]:
        self._refuse_introspection()
        yield

    def _refuse_introspection(self) -> None:
        ctx = self.execution_context
        context = ctx.context
        if ctx.pre_execution_errors or not isinstance(context, Context):
            return
        if may_use_developer_tools(context.viewer, development=context.development):
            return
        # GraphQL names cannot be escaped: a document without these names selects neither
        # (`__typename`, which clients add everywhere, is not introspection).
        if not _INTROSPECTION_NAME.search(ctx.query or ""):
            return
        assert ctx.graphql_document is not None
        errors = validate(
            ctx.schema._schema, ctx.graphql_document, [NoSchemaIntrospectionCustomRule]
        )
        if errors:
            # One error for the document, pointing at every introspection field in it.
            ctx.pre_execution_errors = [
                GraphQLError(
                    "Introspection is available in development and to moderators and admins.",
                    nodes=[node for e in errors for node in e.nodes or ()],
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            ]


COSTS = CostCache()  # shared by every request of the process (costs depend on no viewer)


class QueryCost(SchemaExtension):
    """Refuses an operation whose cost (schema/cost.py) is above the maximum before anything
    runs, and reports `extensions.cost` ({requested, maximum}) with the result of queries and
    mutations. Listed after the validation cache, like IntrospectionPolicy: errors must be set
    before the yield."""

    def __init__(self, *, maximum: int) -> None:
        self.maximum = maximum
        self.requested: int | None = None

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if not ctx.pre_execution_errors and document is not None:
            operation = get_operation_ast(document, ctx.operation_name)
            if operation is not None:
                fragments = {
                    d.name.value: d
                    for d in document.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
                self.requested = COSTS.cost(
                    ctx.schema._schema, ctx.query or "", operation, fragments, ctx.variables
                )
                if self.requested > self.maximum:
                    ctx.pre_execution_errors = [
                        GraphQLError(
                            f"This operation may cost {self.requested}, above the maximum of "
                            f"{self.maximum}: ask for fewer items (`first`) or fewer nested "
                            "lists.",
                            extensions={"code": "QUERY_TOO_COSTLY"},
                        )
                    ]
        yield

    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context
        if self.requested is None or ctx.operation_type is OperationType.SUBSCRIPTION:
            return {}
        return {"cost": {"requested": self.requested, "maximum": self.maximum}}


def classify(error: GraphQLError) -> tuple[str, bool]:
    """(extensions.code, whether the message must be masked) of one error."""
    original = error.original_error
    if isinstance(original, ClientError):
        return original.code, False
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED", False
    if isinstance(original, MissingQueryError):
        return "BAD_REQUEST", False
    if error.path is None and (original is None or isinstance(original, GraphQLError)):
        # Validation, and variable values that do not coerce (graphql-core keeps its coercion
        # error as the original): a wrong value fails alike as a literal or as a variable.
        return "GRAPHQL_VALIDATION_FAILED", False
    return "INTERNAL_SERVER_ERROR", True


def public_error(error: GraphQLError, *, expose_internal: bool) -> GraphQLError:
    """The error as a client may see it: always a code; internal details only in development."""
    code, internal = classify(error)
    if error.extensions and "code" in error.extensions:
        code = str(error.extensions["code"])
    if internal:
        logger.error("internal error at %s", error.path, exc_info=error.original_error or error)
    message = INTERNAL_MESSAGE if internal and not expose_internal else error.message
    message = SUGGESTION.sub("", message)
    extensions = {"code": code}
    request_id = current_request_id()
    if internal and request_id is not None:
        extensions["requestId"] = request_id  # what a user quotes to find it in the logs
    trace_id = current_trace_id()
    if internal and trace_id is not None:
        extensions["traceId"] = trace_id  # and to find its trace
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,  # kept for the server (never serialised)
        extensions=extensions,
    )


def log_client_errors(errors: list[GraphQLError]) -> None:
    """A client's mistakes (syntax, validation, bad variables or cursors, refusals) are one
    line each with their code; internal errors are logged, with their traceback, by
    `public_error`."""
    for error in errors:
        code, internal = classify(error)
        if error.extensions and "code" in error.extensions:
            code = str(error.extensions["code"])
        if not internal:
            logger.info("client error %s: %s", code, SUGGESTION.sub("", error.message))


class ErrorCodes(SchemaExtension):
    """Gives every error `extensions.code` and masks internal errors outside development, in
    results returned by `execute` (HTTP) and in results streamed by `stream` (WebSocket),
    which are sent before `on_operation` resumes."""

    streamed: object = None  # the last result published by on_stream_result

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not self.streamed:
            self._publish(result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._publish(result)
        self.streamed = result
        yield

    def _publish(self, result: Any) -> None:
        """`result` is strawberry's or graphql-core's ExecutionResult (or a streamed frame)."""
        context = self.execution_context.context
        expose = isinstance(context, Context) and context.development
        if getattr(result, "errors", None):
            result.errors = [public_error(e, expose_internal=expose) for e in result.errors]
