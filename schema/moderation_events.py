"""Moderators' live work in GraphQL: `moderationEvents`, resumable like every stream."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Hashable
from datetime import datetime
from typing import Annotated

import strawberry

from models.event import StoredEvent
from models.review import ReviewItemKind
from resolvers.errors import ClientError
from resolvers.moderation_events import ModerationEventKind as Kind
from resolvers.moderation_events import moderation_position, watch_moderation
from resolvers.review_items import ItemRef
from resolvers.watch import Watch
from schema.communities import Community, load_community
from schema.context import Info
from schema.events import AFTER_EVENT, ResyncRequired, watch_stream
from schema.members import Member, load_member
from schema.relay import encode_event_cursor, encode_id
from schema.review_actions import load_item
from schema.reviews import Reviewable
from schema.support import SupportRequest, load_support_request
from schema.threads import Post, load_post
from subscriptions.events import moderation_stream


@strawberry.enum(description="What arrived for moderators.")
class ModerationEventKind(enum.Enum):
    FLAG_RAISED = strawberry.enum_value(
        Kind.FLAG_RAISED.value, description="A member flagged a post."
    )
    REVIEW_SUBMITTED = strawberry.enum_value(
        Kind.REVIEW_SUBMITTED.value, description="A resource or initiative was sent to review."
    )
    JOIN_REQUESTED = strawberry.enum_value(
        Kind.JOIN_REQUESTED.value, description="A member asked to join a private community."
    )
    SUPPORT_REQUESTED = strawberry.enum_value(
        Kind.SUPPORT_REQUESTED.value, description="A government submitted a support request."
    )


@strawberry.type(
    description="One thing that arrived for moderators, in order, with its cursor. Fields that "
    "do not apply to its kind are null."
)
class ModerationEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this event.")
    kind: ModerationEventKind = strawberry.field(description="What arrived.")
    occurred_at: datetime = strawberry.field(description="When it was committed (UTC).")
    reason: str | None = strawberry.field(
        description="The flag's reason, or the join request's message."
    )
    flag_id: strawberry.ID | None = strawberry.field(
        description="FLAG_RAISED: the flag's global ID, for `resolveFlag`."
    )
    join_request_id: strawberry.ID | None = strawberry.field(
        description="JOIN_REQUESTED: the request's global ID, for `decideJoinRequest`."
    )
    community_id: strawberry.Private[int | None]
    member_id: strawberry.Private[int | None]
    post_id: strawberry.Private[int | None]
    item: strawberry.Private[ItemRef | None]
    request_id: strawberry.Private[int | None]
    share_key: strawberry.Private[Hashable] = None

    @strawberry.field(description="The community concerned (flags and join requests).")
    async def community(self, info: Info) -> Community | None:
        return await load_community(info, self.community_id) if self.community_id else None

    @strawberry.field(description="Who flagged, asked to join, submitted or requested support.")
    async def member(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id) if self.member_id else None

    @strawberry.field(description="FLAG_RAISED: the flagged post, as it is now.")
    async def post(self, info: Info) -> Post | None:
        return await load_post(info, self.post_id) if self.post_id else None

    @strawberry.field(description="REVIEW_SUBMITTED: the resource or initiative, as it is now.")
    async def review_item(self, info: Info) -> Reviewable | None:
        return await load_item(info, self.item) if self.item else None

    @strawberry.field(description="SUPPORT_REQUESTED: the request, as it is now.")
    async def support_request(self, info: Info) -> SupportRequest | None:
        return await load_support_request(info, self.request_id) if self.request_id else None


ModerationEventMessage = Annotated[
    ModerationEvent | ResyncRequired,
    strawberry.union(
        "ModerationEventMessage", description="A moderation event, or a request to resync."
    ),
]


def _optional_int(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) else None


def _moderation_message(event: StoredEvent, share_key: Hashable) -> ModerationEvent | None:
    if event.kind not in Kind.__members__:
        return None
    payload = event.payload
    flag, join_request = (
        _optional_int(payload.get("flag")),
        _optional_int(payload.get("join_request")),
    )
    item_id = _optional_int(payload.get("item"))
    return ModerationEvent(
        share_key=share_key,
        cursor=encode_event_cursor(event.stream, event.seq),
        kind=ModerationEventKind[event.kind],
        occurred_at=event.created_at,
        reason=payload.get("reason"),
        flag_id=encode_id("Flag", flag) if flag is not None else None,
        join_request_id=encode_id("JoinRequest", join_request) if join_request else None,
        community_id=_optional_int(payload.get("community")),
        member_id=_optional_int(payload.get("member")),
        post_id=_optional_int(payload.get("post")),
        item=ItemRef(ReviewItemKind(payload["item_kind"]), item_id) if item_id else None,
        request_id=_optional_int(payload.get("request")),
    )


async def moderation_events(
    info: Info, after: Annotated[str | None, AFTER_EVENT] = None
) -> AsyncGenerator[ModerationEventMessage, None]:
    context = info.context
    if context.viewer.member_id is None:
        raise ClientError("Sign in to follow moderation events.", code="UNAUTHENTICATED")

    async def watcher() -> Watch | None:
        return await watch_moderation(context.db.sessions, context.viewer)

    async for message in watch_stream(
        info, moderation_stream(), after, watcher, _moderation_message
    ):
        yield message  # type: ignore[misc]


async def resolve_moderation_cursor(info: Info) -> str | None:
    seq = await moderation_position(info.context.db.sessions, info.context.viewer)
    return encode_event_cursor(moderation_stream(), seq) if seq is not None else None
