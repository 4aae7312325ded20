"""Notifications and follows in GraphQL."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from models.db import AnyRow
from models.notification import FollowTarget
from models.notification import NotificationKind as NotificationKindModel
from resolvers import notifications
from resolvers.notification_changes import what_happened
from schema.communities import Community, WatchLevel, load_community
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.notification_headlines import notification_headline
from schema.relay import (
    AFTER,
    FIRST,
    Connection,
    Node,
    connection,
    decode_id,
    decode_int_id,
    encode_event_cursor,
    encode_id,
    int_key,
    page_request,
)
from schema.support import SupportRequest, load_support_request
from schema.threads import Post, Thread, load_post, load_thread
from schema.webinars import Webinar, load_webinar
from subscriptions.events import member_stream

if TYPE_CHECKING:
    from schema.initiatives import CallForPractices, Initiative
    from schema.resources import Resource

LazyResource = Annotated["Resource", strawberry.lazy("schema.resources")]
LazyInitiative = Annotated["Initiative", strawberry.lazy("schema.initiatives")]
LazyCall = Annotated["CallForPractices", strawberry.lazy("schema.initiatives")]

NotificationKind = described_enum(
    NotificationKindModel,
    "Why a notification was sent.",
    {
        "MENTION": "Someone mentioned you in a post.",
        "REPLY": "Someone replied to your thread or post, or in a thread you watch.",
        "REACTION": "Someone reacted to your post.",
        "MODERATION": "A moderator acted on your content.",
        "NEW_THREAD": "A new thread in a community you watch.",
        "REVIEW_DECISION": "A review decision on your submission.",
        "WEBINAR_REMINDER": "A webinar you registered for starts soon.",
        "WEBINAR_UPDATE": "A webinar you registered for changed, or your seat did.",
        "SUPPORT_REQUEST_UPDATE": "A support request you take part in changed.",
        "FOLLOWED_TOPIC": "A resource or initiative was published, a webinar scheduled, or a "
        "call for practices opened, on an objective, principle, country or region you follow.",
    },
)


@strawberry.type(description="Something that happened that concerns you.")
class Notification(Node):
    kind: NotificationKind = strawberry.field(description="Why it was sent.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When (UTC).")
    read_at: datetime | None = strawberry.field(description="When you marked it read.")
    actor_id: strawberry.Private[int | None]
    subject: strawberry.Private[dict[str, Any]]

    @classmethod
    def from_row(cls, row: AnyRow) -> Notification:
        return cls(
            id=encode_id("Notification", row.id),
            kind=row.kind,
            created_at=row.created_at,
            read_at=row.read_at,
            actor_id=row.actor_id,
            subject=row.subject,
        )

    @strawberry.field(description="Who caused it, if a member did.")
    async def actor(self, info: Info) -> Member | None:
        return await load_member(info, self.actor_id) if self.actor_id else None

    @strawberry.field(description="The thread it is about, if any (null if no longer visible).")
    async def thread(self, info: Info) -> Thread | None:
        key = self.subject.get("thread")
        return await load_thread(info, int(key)) if key else None

    @strawberry.field(description="The webinar it is about, if any (null if not visible).")
    async def webinar(self, info: Info) -> Webinar | None:
        key = self.subject.get("webinar")
        return await load_webinar(info, int(key)) if key else None

    @strawberry.field(description="The post it is about, if any (null if no longer visible).")
    async def post(self, info: Info) -> Post | None:
        key = self.subject.get("post")
        return await load_post(info, int(key)) if key else None

    @strawberry.field(description="The community it is about, if any.")
    async def community(self, info: Info) -> Community | None:
        key = self.subject.get("community")
        return await load_community(info, int(key)) if key else None

    @strawberry.field(
        description="The support request it is about, if any (null if no longer visible)."
    )
    async def support_request(self, info: Info) -> SupportRequest | None:
        key = self.subject.get("supportRequest")
        return await load_support_request(info, int(key)) if key else None

    # --- curated knowledge: review decisions

    @strawberry.field(
        description="The reviewed resource it is about, if any (null if no longer visible)."
    )
    async def resource(self, info: Info) -> LazyResource | None:
        from schema.resources import load_resource

        if self.subject.get("item_kind") != "RESOURCE":
            return None
        return await load_resource(info, int(self.subject["item"]))

    @strawberry.field(
        description="The reviewed initiative it is about, if any (null if no longer visible)."
    )
    async def initiative(self, info: Info) -> LazyInitiative | None:
        from schema.initiatives import load_initiative

        if self.subject.get("item_kind") != "INITIATIVE":
            return None
        return await load_initiative(info, int(self.subject["item"]))

    @strawberry.field(description="The call for practices it is about, if any.")
    async def call_for_practices(self, info: Info) -> LazyCall | None:
        from schema.initiatives import load_call

        key = self.subject.get("call")
        return await load_call(info, int(key)) if key else None

    @strawberry.field(
        description="What happened, as a code: a support request's change (TRIAGED, STARTED, "
        "EXPERT_PROPOSED, ...), a webinar's (SEAT_GRANTED, RESCHEDULED, CANCELLED, ...), a "
        "moderator's action (LOCK_THREAD, DELETE_POST, ...), ARCHIVED or SENT_BACK_TO_REVIEW "
        "for a reviewed item, PUBLISHED or OPENED on a topic you follow; null when the kind "
        "says it all."
    )
    def change(self) -> str | None:
        return what_happened(self.subject).change

    @strawberry.field(
        description="The status the subject moved to: a support request's status, a reviewed "
        "item's review state; null when none."
    )
    def status(self) -> str | None:
        return what_happened(self.subject).status

    @strawberry.field(
        description="The note or reason given with the change (a support request's note, a "
        "moderator's reason), as written; null when none."
    )
    def note(self) -> str | None:
        return what_happened(self.subject).note

    @strawberry.field(
        description="What happened, in one line for people, in the request's language "
        "(`Accept-Language`, the socket's `language`, else your declared languages; English, "
        "French and Spanish so far, else English): the line its email's subject and push "
        "message say. Titles are in their best text for the request, and one not in the "
        "headline's language is followed by its language's name. `kind`, `change` and "
        "`status` stay the codes for programs."
    )
    async def headline(self, info: Info) -> str:
        return await notification_headline(info, self.kind, self.actor_id, self.subject)

    @strawberry.field(
        description="For a review decision: the decision (APPROVE, REQUEST_CHANGES, REJECT)."
    )
    def review_decision(self) -> str | None:
        decision = self.subject.get("decision")
        return str(decision) if decision is not None else None


async def resolve_notifications(
    info: Info,
    unread_only: Annotated[
        bool, strawberry.argument(description="Only notifications not yet read.")
    ] = False,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Connection[Notification] | None:
    page = await notifications.notifications_page(
        info.context.db.reads,
        info.context.viewer,
        unread_only,
        page_request(first, after, None, None),
    )
    return connection(page, Notification.from_row) if page is not None else None


async def resolve_notification_cursor(info: Info) -> str | None:
    member_id = info.context.viewer.member_id
    if member_id is None:
        return None
    stream = member_stream(member_id)
    return encode_event_cursor(stream, await info.context.loaders.position_by_stream.load(stream))


async def resolve_unread_notification_count(info: Info) -> int:
    return await notifications.unread_count(info.context.db.sessions, info.context.viewer)


@strawberry.input(description="Mark notifications read.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="These notifications; null marks all of yours read."
    )


@strawberry.type(description="Result of `markNotificationsRead`.")
class MarkNotificationsReadPayload:
    unread_count: int = strawberry.field(description="Your unread notifications now.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def mark_notifications_read(
    info: Info, input: Annotated[MarkNotificationsReadInput, INPUT]
) -> MarkNotificationsReadPayload:
    ids = None
    if input.ids is not None:
        ids = [k for k in (decode_int_id(i, "Notification") for i in input.ids) if k is not None]
    problems = await notifications.mark_read(info.context.db.sessions, info.context.viewer, ids)
    count = await notifications.unread_count(info.context.db.sessions, info.context.viewer)
    return MarkNotificationsReadPayload(unread_count=count, errors=user_errors(problems))


@strawberry.input(description="Follow a thread or a community at a watch level.")
class FollowInput:
    target_id: strawberry.ID = strawberry.field(description="Global ID of a Thread or Community.")
    level: WatchLevel = strawberry.field(description="How closely.")  # type: ignore[valid-type]


@strawberry.type(description="Result of `follow`.")
class FollowPayload:
    level: WatchLevel | None = strawberry.field(description="Your watch level now.")  # type: ignore[valid-type]
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


FOLLOW_TARGETS = {"Thread": FollowTarget.THREAD, "Community": FollowTarget.COMMUNITY}


async def follow(info: Info, input: Annotated[FollowInput, INPUT]) -> FollowPayload:
    decoded = decode_id(input.target_id)
    kind = FOLLOW_TARGETS.get(decoded[0]) if decoded is not None else None
    key = int_key(decoded[1]) if decoded is not None else None
    if kind is None or key is None:
        return FollowPayload(
            level=None, errors=not_found("targetId", "No such thread or community.")
        )
    problems = await notifications.follow(
        info.context.db.sessions, info.context.events, info.context.viewer, kind, key, input.level
    )
    return FollowPayload(level=None if problems else input.level, errors=user_errors(problems))
