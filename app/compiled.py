"""Trusted documents answered by their compiled plan (schema/compiled.py) instead of the
executor, when the request would run without any error; the one hook is in app/http.py.

A compiled answer is observed as the executor's would be: the same operation counter and
label (the document's id), and the request's log line says `compiled=true` (app/logs.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLSchema

from app.metrics import record_compiled_answer
from schema import Limits
from schema.compiled import CompiledDocument, compile_document
from schema.compiled import Limits as TextLimits
from schema.compiled_run import answer, prepare
from schema.context import Context

logger = logging.getLogger("hub.compiled")


class CompiledAnswers:
    """One per process: compiles trusted documents, and answers requests with their plans."""

    def __init__(
        self, schema: GraphQLSchema, limits: Limits, rules: Sequence[Any], *, record: bool
    ) -> None:
        self.schema = schema
        self.limits = TextLimits(
            limits.max_depth, limits.max_tokens, limits.max_aliases, limits.max_cost
        )
        self.rules = rules
        self.record = record

    def compile(self, text: str) -> CompiledDocument | None:
        return compile_document(self.schema, text, self.limits, self.rules)

    async def answer(
        self,
        compiled: CompiledDocument,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> bytes | None:
        """The body of the answer, or None: the executor must run this request."""
        prepared = prepare(
            self.schema,
            compiled,
            variables,
            operation_name,
            context.viewer.is_signed_in,
            self.limits.max_cost,
        )
        if prepared is None:
            return None
        try:
            body = await answer(prepared, context)
        except Exception:
            # The executor runs it again and answers its own error (masked, with its code).
            logger.exception(
                "compiled document %s failed: the executor answers", context.document_id
            )
            return None
        record_compiled_answer(context, context.document_id, prepared.statements, self.record)
        return body
