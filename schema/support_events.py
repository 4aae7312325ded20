"""A support request's live events in GraphQL: its changes and messages, resumable."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Hashable
from datetime import datetime
from typing import Annotated

import strawberry

from models.event import StoredEvent
from resolvers import support
from resolvers.support import SupportChange as SupportChangeModel
from resolvers.support_messages import MESSAGE_POSTED
from resolvers.watch import Watch
from schema.context import Info
from schema.events import AFTER_EVENT, ResyncRequired, watch_stream
from schema.relay import decode_int_id, encode_event_cursor
from schema.support import REQUEST_ID, SupportChange, SupportRequest, load_support_request
from schema.support_messages import SupportMessage, load_support_message


@strawberry.type(description="One event of a support request, in order, with its cursor.")
class SupportRequestEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this event.")
    change: SupportChange | None = strawberry.field(  # type: ignore[valid-type]
        description="What changed; null for a new message."
    )
    occurred_at: datetime = strawberry.field(description="When it was committed (UTC).")
    request_id: strawberry.Private[int]
    message_id: strawberry.Private[int | None]
    share_key: strawberry.Private[Hashable] = None

    @strawberry.field(description="The request as it is now.")
    async def support_request(self, info: Info) -> SupportRequest | None:
        return await load_support_request(info, self.request_id)

    @strawberry.field(description="The new message, for message events.")
    async def support_message(self, info: Info) -> SupportMessage | None:
        return await load_support_message(info, self.message_id) if self.message_id else None


SupportRequestEventMessage = Annotated[
    SupportRequestEvent | ResyncRequired,
    strawberry.union(
        "SupportRequestEventMessage",
        description="A support request event, or a request to resync.",
    ),
]


def _support_message(event: StoredEvent, share_key: Hashable) -> SupportRequestEvent | None:
    if event.kind != MESSAGE_POSTED and event.kind not in SupportChangeModel.__members__:
        return None
    return SupportRequestEvent(
        share_key=share_key,
        cursor=encode_event_cursor(event.stream, event.seq),
        change=None if event.kind == MESSAGE_POSTED else SupportChangeModel[event.kind],
        occurred_at=event.created_at,
        request_id=int(event.payload["request"]),
        message_id=event.payload.get("message"),
    )


async def support_request_events(
    info: Info,
    request_id: Annotated[strawberry.ID, REQUEST_ID],
    after: Annotated[str | None, AFTER_EVENT] = None,
) -> AsyncGenerator[SupportRequestEventMessage, None]:
    context = info.context
    key = decode_int_id(request_id, "SupportRequest") or 0

    async def watcher() -> Watch | None:
        return await support.watch_support_request(context.db.sessions, context.viewer, key)

    async for message in watch_stream(
        info, support.support_stream(key), after, watcher, _support_message
    ):
        yield message  # type: ignore[misc]
