"""A support request's private message thread in GraphQL."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from resolvers import support_messages
from resolvers.markdown import render
from schema.context import Info
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.relay import Node, decode_int_id, encode_id


@strawberry.type(description="A message in a support request's private thread.")
class SupportMessage(Node):
    body: str = strawberry.field(description="Text in Markdown, as written.")
    created_at: datetime = strawberry.field(description="When it was sent (UTC).")
    author_id: strawberry.Private[int | None]
    request_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> SupportMessage:
        return cls(
            id=encode_id("SupportMessage", row.id),
            body=row.body,
            created_at=row.created_at,
            author_id=row.author_id,
            request_id=row.request_id,
        )

    @strawberry.field(description="The text as sanitized HTML.")
    def body_html(self) -> str:
        return render(self.body)

    @strawberry.field(description="Who wrote it; null if the account is gone.")
    async def author(self, info: Info) -> Member | None:
        return await load_member(info, self.author_id) if self.author_id else None


async def load_support_message(info: Info, message_id: int) -> SupportMessage | None:
    row = await info.context.loaders.support_message_by_id.load(message_id)
    return SupportMessage.from_row(row) if row is not None else None


@strawberry.input(description="Write in a support request's private thread.")
class PostSupportMessageInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the request.")
    body: str = strawberry.field(description="Markdown (at most 10,000 characters).")


@strawberry.type(description="Result of `postSupportMessage`.")
class SupportMessagePayload:
    message: SupportMessage | None = strawberry.field(description="The new message.")
    errors: list[UserError] = strawberry.field(description="Why nothing was sent, if so.")


async def post_support_message(
    info: Info, input: Annotated[PostSupportMessageInput, INPUT]
) -> SupportMessagePayload:
    key = decode_int_id(input.request_id, "SupportRequest")
    if key is None:
        return SupportMessagePayload(
            message=None, errors=not_found("requestId", "No such support request.")
        )
    result = await support_messages.post_support_message(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.body
    )
    message = SupportMessage.from_row(result.message) if result.message is not None else None
    return SupportMessagePayload(message=message, errors=user_errors(result.problems))
