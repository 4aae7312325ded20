"""A webinar's live events in GraphQL: the resumable `webinarEvents` subscription. It follows
the webinar's stream with the same machinery as `threadEvents` (schema/events.py)."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Hashable
from datetime import datetime
from typing import Annotated

import strawberry

from models.event import StoredEvent
from resolvers import webinar_access
from resolvers.watch import Watch
from schema.context import Info
from schema.events import AFTER_EVENT, ResyncRequired, watch_stream
from schema.relay import decode_int_id, encode_event_cursor
from schema.webinar_live import (
    WebinarChatMessage,
    WebinarQuestion,
    load_chat_message,
    load_question,
)
from schema.webinars import Webinar, load_webinar
from subscriptions.events import webinar_stream


@strawberry.enum(description="What happened in a webinar.")
class WebinarEventKind(enum.Enum):
    CHAT_MESSAGE_SENT = strawberry.enum_value(
        "CHAT_MESSAGE_SENT", description="A chat message was sent."
    )
    CHAT_MESSAGE_DELETED = strawberry.enum_value(
        "CHAT_MESSAGE_DELETED", description="An organiser or moderator deleted a chat message."
    )
    QUESTION_ASKED = strawberry.enum_value("QUESTION_ASKED", description="A question was asked.")
    QUESTION_UPVOTED = strawberry.enum_value(
        "QUESTION_UPVOTED", description="A question got an upvote."
    )
    QUESTION_ANSWERED = strawberry.enum_value(
        "QUESTION_ANSWERED", description="A question was answered (live or in writing)."
    )
    QUESTION_DISMISSED = strawberry.enum_value(
        "QUESTION_DISMISSED", description="A question was dismissed."
    )
    STATUS_CHANGED = strawberry.enum_value(
        "STATUS_CHANGED", description="The webinar went live, ended or was cancelled."
    )
    WEBINAR_UPDATED = strawberry.enum_value(
        "WEBINAR_UPDATED", description="The webinar's details (schedule, slow mode, ...) changed."
    )


@strawberry.type(description="One event of a webinar, in order, with its cursor.")
class WebinarEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this event.")
    kind: WebinarEventKind = strawberry.field(description="What happened.")
    occurred_at: datetime = strawberry.field(description="When it was committed (UTC).")
    vote_count: int | None = strawberry.field(
        description="For QUESTION_UPVOTED: the question's upvotes after this one."
    )
    webinar_id: strawberry.Private[int]
    message_id: strawberry.Private[int | None]
    question_id: strawberry.Private[int | None]
    share_key: strawberry.Private[Hashable] = None

    @strawberry.field(description="The webinar as it is now.")
    async def webinar(self, info: Info) -> Webinar | None:
        return await load_webinar(info, self.webinar_id)

    @strawberry.field(description="The chat message concerned, as it is now (deleted ones too).")
    async def chat_message(self, info: Info) -> WebinarChatMessage | None:
        return await load_chat_message(info, self.message_id) if self.message_id else None

    @strawberry.field(description="The question concerned, as it is now.")
    async def question(self, info: Info) -> WebinarQuestion | None:
        return await load_question(info, self.question_id) if self.question_id else None


WebinarEventMessage = Annotated[
    WebinarEvent | ResyncRequired,
    strawberry.union("WebinarEventMessage", description="A webinar event, or a request to resync."),
]


def _webinar_message(event: StoredEvent, share_key: Hashable) -> WebinarEvent | None:
    # Registration events only make the watcher ask the policy again; they are nobody's news.
    if event.kind not in WebinarEventKind.__members__:
        return None
    return WebinarEvent(
        share_key=share_key,
        cursor=encode_event_cursor(event.stream, event.seq),
        kind=WebinarEventKind[event.kind],
        occurred_at=event.created_at,
        vote_count=event.payload.get("votes"),
        webinar_id=int(event.payload["webinar"]),
        message_id=event.payload.get("message"),
        question_id=event.payload.get("question"),
    )


async def webinar_events(
    info: Info,
    webinar_id: Annotated[
        strawberry.ID, strawberry.argument(description="Global ID of the webinar.")
    ],
    after: Annotated[str | None, AFTER_EVENT] = None,
) -> AsyncGenerator[WebinarEventMessage, None]:
    context = info.context
    key = decode_int_id(webinar_id, "Webinar") or 0

    async def watcher() -> Watch | None:
        return await webinar_access.watch_webinar(context.db.sessions, context.viewer, key)

    async for message in watch_stream(info, webinar_stream(key), after, watcher, _webinar_message):
        yield message  # type: ignore[misc]
