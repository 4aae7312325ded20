"""Trusted documents answered by their compiled plan (schema/compiled.py) instead of the
executor, when the request would run without any error; the one hook is in app/http.py
(`GraphQLHTTP._answer`).

Plain texts (sent whole, or by an automatic persisted query's hash) are compiled too, by
`CompiledTexts`: once the executor has answered a text without an error, its plan (or the
verdict that it has none) is kept under the text's SHA-256, and the next requests with that
text run compiled. Compiling then costs no parse and no validation: both come from the LRUs the
executor has just filled (schema/extensions.py, `cached_parse`, `cached_validation`), so a
flood of distinct texts costs what the executor costs, plus one hash and, for texts that
succeeded, a walk of the document (bench/README.md, "Compiled plain texts").

A compiled answer is observed as the executor's would be: the same operation counter and
label (the document's id, else the operation's name), and the request's log line says
`compiled=true` (app/logs.py)."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSchema

from app.metrics import operation_label, record_compiled_answer
from schema import Limits
from schema.compiled import CompiledDocument, compile_document, compile_valid
from schema.compiled import Limits as TextLimits
from schema.compiled_fields import Asking
from schema.compiled_run import answer, prepare
from schema.context import Context
from schema.extensions import cached_parse, cached_validation

logger = logging.getLogger("hub.compiled")


class CompiledTexts:
    """Plain texts' verdicts by SHA-256: a plan, or None (not in the supported set), for at
    most `entries` texts, least recently used out first; 0 keeps none (nothing compiled)."""

    def __init__(self, compile: Callable[[str], CompiledDocument | None], entries: int) -> None:
        self.compile = compile
        self.entries = entries
        self._verdicts: OrderedDict[bytes, CompiledDocument | None] = OrderedDict()

    def plan(self, text: str) -> CompiledDocument | None:
        """The text's plan if it has one (compiled after an answer without error)."""
        if self.entries <= 0:
            return None
        key = _key(text)
        found = self._verdicts.get(key)
        if found is not None:
            self._verdicts.move_to_end(key)
        return found

    def learn(self, text: str) -> None:
        """The executor answered `text` without an error: compile it, unless already known."""
        if self.entries <= 0:
            return
        key = _key(text)
        if key in self._verdicts:
            self._verdicts.move_to_end(key)
            return
        self._verdicts[key] = self.compile(text)
        while len(self._verdicts) > self.entries:
            self._verdicts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._verdicts)


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class CompiledAnswers:
    """One per process: compiles trusted documents and plain texts, and answers requests with
    their plans."""

    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        rules: Sequence[Any],
        *,
        record: bool,
        text_entries: int = 0,
    ) -> None:
        self.schema = schema
        self.limits = TextLimits(
            limits.max_depth, limits.max_tokens, limits.max_aliases, limits.max_cost
        )
        self.rules = tuple(rules)
        self.record = record
        self.texts = CompiledTexts(self.compile_answered, text_entries)

    def compile(self, text: str) -> CompiledDocument | None:
        return compile_document(self.schema, text, self.limits, self.rules)

    def compile_answered(self, text: str) -> CompiledDocument | None:
        """`compile` for a text the executor has just run: its parse and validation are in
        the executor's caches (same text, same options, same rules), found rather than redone."""
        try:
            document = cached_parse(text, self.limits.max_tokens)
        except GraphQLError:
            return None
        if cached_validation(self.schema, document, self.rules):
            return None
        return compile_valid(self.schema, text, document)

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
            Asking(context.viewer, context.requested_languages),
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
        # labelled as the executor labels it: the trusted document's id, else the operation
        name = context.document_id or operation_label(compiled.name)
        record_compiled_answer(context, name, prepared.statements, self.record)
        return body
