"""Moderation in GraphQL: thread actions, post deletion, flags, queue and audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.moderation import ModerationAction as ModerationActionModel
from resolvers import moderation
from resolvers.errors import Problem
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_id,
    page_request,
)
from schema.threads import Post, load_post

ModerationAction = described_enum(
    ModerationActionModel,
    "What a moderator did, as recorded in the audit log.",
    {
        "PIN_THREAD": "Pinned a thread.",
        "UNPIN_THREAD": "Unpinned a thread.",
        "LOCK_THREAD": "Locked a thread.",
        "UNLOCK_THREAD": "Unlocked a thread.",
        "MOVE_THREAD": "Moved a thread to another community.",
        "DELETE_THREAD": "Deleted a thread.",
        "DELETE_POST": "Deleted someone's post.",
        "REMOVE_COMMUNITY_MEMBER": "Removed a member from a community.",
        "RESOLVE_FLAG": "Resolved a flag.",
        "DECIDE_REVIEW_ITEM": "Decided a reviewed item alone (approve, reject, request changes).",
        "ARCHIVE_REVIEW_ITEM": "Archived a reviewed item.",
        "SEND_BACK_TO_REVIEW": "Sent a published item back to review.",
        "DELETE_WEBINAR_CHAT_MESSAGE": "Deleted someone's message in a webinar's chat.",
    },
)


@strawberry.enum(description="What to do to a thread.")
class ThreadModeration(enum.Enum):
    PIN = strawberry.enum_value("PIN", description="Pin it on top of its community.")
    UNPIN = strawberry.enum_value("UNPIN", description="Unpin it.")
    LOCK = strawberry.enum_value("LOCK", description="Lock it: only moderators reply.")
    UNLOCK = strawberry.enum_value("UNLOCK", description="Unlock it.")
    DELETE = strawberry.enum_value("DELETE", description="Delete it (audited).")


THREAD_ACTIONS = {
    ThreadModeration.PIN: ModerationActionModel.PIN_THREAD,
    ThreadModeration.UNPIN: ModerationActionModel.UNPIN_THREAD,
    ThreadModeration.LOCK: ModerationActionModel.LOCK_THREAD,
    ThreadModeration.UNLOCK: ModerationActionModel.UNLOCK_THREAD,
    ThreadModeration.DELETE: ModerationActionModel.DELETE_THREAD,
}


@strawberry.type(description="Result of a moderation action.")
class ModerationPayload:
    ok: bool = strawberry.field(description="The action was taken.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


def _payload(problems: list[Problem]) -> ModerationPayload:
    return ModerationPayload(ok=not problems, errors=user_errors(problems))


@strawberry.input(description="Pin, unpin, lock, unlock or delete a thread, with a reason.")
class ModerateThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="Global ID of the thread.")
    action: ThreadModeration = strawberry.field(description="What to do.")
    reason: str = strawberry.field(description="Why; recorded in the audit log.")


async def moderate_thread(
    info: Info, input: Annotated[ModerateThreadInput, INPUT]
) -> ModerationPayload:
    key = decode_int_id(input.thread_id, "Thread")
    if key is None:
        return ModerationPayload(ok=False, errors=not_found("threadId", "No such thread."))
    return _payload(
        await moderation.moderate_thread(
            info.context.db.sessions,
            info.context.events,
            info.context.viewer,
            key,
            THREAD_ACTIONS[input.action],
            input.reason,
        )
    )


@strawberry.input(description="Move a thread to another community you moderate.")
class MoveThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="Global ID of the thread.")
    to_community_id: strawberry.ID = strawberry.field(description="Global ID of the target.")
    reason: str = strawberry.field(description="Why; recorded in the audit log.")


async def move_thread(info: Info, input: Annotated[MoveThreadInput, INPUT]) -> ModerationPayload:
    key = decode_int_id(input.thread_id, "Thread")
    target = decode_int_id(input.to_community_id, "Community")
    errors = [] if key is not None else not_found("threadId", "No such thread.")
    if target is None:
        errors += not_found("toCommunityId", "No such community.")
    if errors or key is None or target is None:
        return ModerationPayload(ok=False, errors=errors)
    return _payload(
        await moderation.move_thread(
            info.context.db.sessions,
            info.context.events,
            info.context.viewer,
            key,
            target,
            input.reason,
        )
    )


@strawberry.input(description="Delete a post: your own, or any as a moderator (with a reason).")
class DeletePostInput:
    post_id: strawberry.ID = strawberry.field(description="Global ID of the post.")
    reason: str = strawberry.field(default="", description="Required of moderators; audited.")


async def delete_post(info: Info, input: Annotated[DeletePostInput, INPUT]) -> ModerationPayload:
    key = decode_int_id(input.post_id, "Post")
    if key is None:
        return ModerationPayload(ok=False, errors=not_found("postId", "No such post."))
    return _payload(
        await moderation.delete_post(
            info.context.db.sessions, info.context.events, info.context.viewer, key, input.reason
        )
    )


@strawberry.input(description="Ask moderators to look at a post.")
class FlagContentInput:
    post_id: strawberry.ID = strawberry.field(description="Global ID of the post.")
    reason: str = strawberry.field(description="What is wrong with it.")


async def flag_content(info: Info, input: Annotated[FlagContentInput, INPUT]) -> ModerationPayload:
    key = decode_int_id(input.post_id, "Post")
    if key is None:
        return ModerationPayload(ok=False, errors=not_found("postId", "No such post."))
    return _payload(
        await moderation.flag_content(
            info.context.db.sessions, info.context.events, info.context.viewer, key, input.reason
        )
    )


@strawberry.input(description="Close a flag after looking at the post.")
class ResolveFlagInput:
    flag_id: strawberry.ID = strawberry.field(description="Global ID of the flag.")
    reason: str = strawberry.field(description="What was done; recorded in the audit log.")


async def resolve_flag(info: Info, input: Annotated[ResolveFlagInput, INPUT]) -> ModerationPayload:
    key = decode_int_id(input.flag_id, "Flag")
    if key is None:
        return ModerationPayload(ok=False, errors=not_found("flagId", "No such flag."))
    return _payload(
        await moderation.resolve_flag(
            info.context.db.sessions, info.context.events, info.context.viewer, key, input.reason
        )
    )


@strawberry.type(description="A member's flag on a post, waiting for a moderator.")
class ContentFlag(Node):
    reason: str = strawberry.field(description="What the member said is wrong.")
    created_at: datetime = strawberry.field(description="When it was flagged (UTC).")
    post_id: strawberry.Private[int]
    member_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> ContentFlag:
        return cls(
            id=encode_id("Flag", row.id),
            reason=row.reason,
            created_at=row.created_at,
            post_id=row.post_id,
            member_id=row.member_id,
        )

    @strawberry.field(description="The flagged post.")
    async def post(self, info: Info) -> Post | None:
        return await load_post(info, self.post_id)

    @strawberry.field(description="Who flagged it.")
    async def flagged_by(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id)


@strawberry.type(description="One moderation action, as the append-only audit log keeps it.")
class AuditEntry(Node):
    action: ModerationAction = strawberry.field(description="What was done.")  # type: ignore[valid-type]
    subject_type: str = strawberry.field(description="Kind of object acted on (Thread, Post, ...).")
    subject_id: strawberry.ID = strawberry.field(description="Global ID of the object.")
    reason: str = strawberry.field(description="The moderator's reason.")
    created_at: datetime = strawberry.field(description="When (UTC).")
    actor_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> AuditEntry:
        return cls(
            id=encode_id("AuditEntry", row.id),
            action=row.action,
            subject_type=row.subject_type,
            subject_id=encode_id(row.subject_type, row.subject_id),
            reason=row.reason,
            created_at=row.created_at,
            actor_id=row.actor_id,
        )

    @strawberry.field(description="The moderator who acted.")
    async def actor(self, info: Info) -> Member | None:
        return await load_member(info, self.actor_id) if self.actor_id else None


async def resolve_moderation_queue(
    info: Info,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[ContentFlag] | None:
    page = await moderation.moderation_queue(
        info.context.db.sessions, info.context.viewer, page_request(first, after, last, before)
    )
    return connection(page, ContentFlag.from_row) if page is not None else None


async def resolve_audit_log(
    info: Info,
    community_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="One community's entries (its moderators may read)."),
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[AuditEntry] | None:
    key = None
    if community_id is not None:
        key = decode_int_id(community_id, "Community")
        if key is None:
            return None
    page = await moderation.audit_log(
        info.context.db.sessions, info.context.viewer, key, page_request(first, after, last, before)
    )
    return connection(page, AuditEntry.from_row) if page is not None else None
