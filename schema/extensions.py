"""Schema extensions: introspection by policy, and error codes with masking of internal errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError, NoSchemaIntrospectionCustomRule, validate
from strawberry.extensions import SchemaExtension

from resolvers.errors import ClientError
from resolvers.policy import may_use_developer_tools
from schema.context import Context

logger = logging.getLogger("hub.errors")

INTERNAL_MESSAGE = "Internal server error."


class IntrospectionPolicy(SchemaExtension):
    """`__schema` and `__type` only for whom the policy allows (development, staff).

    Runs after the cached validation, so the cache stays independent of the viewer."""

    def on_validate(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        context = ctx.context
        if ctx.pre_execution_errors or not isinstance(context, Context):
            return
        if may_use_developer_tools(context.viewer, development=context.development):
            return
        assert ctx.graphql_document is not None
        errors = validate(
            ctx.schema._schema, ctx.graphql_document, [NoSchemaIntrospectionCustomRule]
        )
        if errors:
            ctx.pre_execution_errors = [
                GraphQLError(
                    "Introspection is available in development and to moderators and admins.",
                    nodes=e.nodes,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
                for e in errors
            ]


def classify(error: GraphQLError) -> tuple[str, bool]:
    """(extensions.code, whether the message must be masked) of one error."""
    original = error.original_error
    if isinstance(original, ClientError):
        return original.code, False
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED", False
    if original is None and error.path is None:
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
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code},
    )


class ErrorCodes(SchemaExtension):
    """Gives every error `extensions.code` and masks internal errors outside development."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        expose = isinstance(context, Context) and context.development
        if result is not None and result.errors:
            result.errors = [public_error(e, expose_internal=expose) for e in result.errors]
