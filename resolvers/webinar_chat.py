"""A webinar's live chat: reading, writing (length limit, rate limit, slow mode), deletion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.member import Member
from models.moderation import AuditEntry, ModerationAction
from models.webinar import Webinar, WebinarChatMessage, WebinarStatus
from resolvers import policy
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer, WebinarAccess
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_text
from resolvers.webinar_live import (
    LiveResult,
    Sessions,
    rate_limit,
    readable_rows,
    reading_live,
    taking_part,
    webinar_and_access,
)
from subscriptions.events import EventPublisher, webinar_stream

MAX_CHAT_MESSAGE = 500
# Per member, across webinars: enough to converse, too few to flood a room of a thousand.
CHAT_LIMIT = 10

CHAT_COLUMNS = (
    WebinarChatMessage.id,
    WebinarChatMessage.webinar_id,
    WebinarChatMessage.author_id,
    WebinarChatMessage.body,
    WebinarChatMessage.created_at,
    WebinarChatMessage.deleted_at,
)
CHAT_ORDER = Keyset("webinar-chat", (WebinarChatMessage.id,))
NO_SUCH_MESSAGE = Problem("messageId", "No such chat message.", ErrorCode.NOT_FOUND)


async def chat_page(
    sessions: Sessions, viewer: Viewer, webinar_id: int, request: PageRequest
) -> Page | None:
    """The chat, oldest first; None when the viewer does not take part in the webinar."""
    async with sessions() as session:
        found = await webinar_and_access(session, viewer, webinar_id)
    if found is None or not policy.may_read_chat(found[1]):
        return None
    statement = select(*CHAT_COLUMNS).where(WebinarChatMessage.webinar_id == webinar_id)
    return await fetch_page(sessions, statement, CHAT_ORDER, request)


def _may_read(access: WebinarAccess, status: WebinarStatus, row: AnyRow) -> bool:
    return policy.may_read_chat(access)


def _answer(row_id: int) -> AnySelect:
    return select(*CHAT_COLUMNS).where(WebinarChatMessage.id == row_id)


async def chat_messages_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    async with sessions() as session:
        rows = (
            await session.execute(select(*CHAT_COLUMNS).where(WebinarChatMessage.id.in_(ids)))
        ).all()
        readable = await readable_rows(session, viewer, rows, _may_read)
    return [readable.get(i) for i in ids]


async def send_chat_message(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, webinar_id: int, body: str
) -> LiveResult:
    """Write in the chat of a LIVE webinar (organisers also before it): at most 500
    characters, rate limited per member, and slowed by the webinar's slow mode (organisers
    and moderators are not slowed)."""
    problems = ProblemList()
    text = clean_text(problems, "body", body, max_length=MAX_CHAT_MESSAGE, multiline=True)

    async def change(work: UnitOfWork) -> int:
        assert viewer.member_id is not None  # mutation() lets members only in
        webinar, access = await taking_part(work, viewer, webinar_id)
        if not policy.may_chat_now(access, webinar.status):
            raise Refused(
                Problem(
                    "webinarId",
                    "The chat is open while the webinar is live.",
                    ErrorCode.INVALID_TRANSITION,
                )
            )
        await rate_limit(work, f"webinar-chat:{viewer.member_id}", CHAT_LIMIT)
        if webinar.slow_mode_seconds and not policy.manages_webinar(access):
            await _check_slow_mode(work.session, webinar, viewer.member_id)
        message = WebinarChatMessage(webinar_id=webinar_id, author_id=viewer.member_id, body=text)
        work.session.add(message)
        await work.session.flush()
        await work.emit(
            webinar_stream(webinar_id),
            "CHAT_MESSAGE_SENT",
            {"webinar": webinar_id, "message": message.id},
        )
        return message.id

    answered = reading_live(change, viewer, _answer, _may_read)
    done = await mutation(sessions, events, viewer, answered, problems=problems)
    return LiveResult(row=done.value, problems=done.problems)


async def _check_slow_mode(session: AsyncSession, webinar: Webinar, member_id: int) -> None:
    """Refuse when the member's last message in this webinar is more recent than slow mode
    allows. The member's row is locked first (PostgreSQL), so two messages the member sends at
    once are checked one after the other and only one gets through (the rate-limit counter's
    row serialises them too, except across its window boundary: this does not rely on it)."""
    await session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
    last = await session.scalar(
        select(func.max(WebinarChatMessage.created_at)).where(
            WebinarChatMessage.webinar_id == webinar.id,
            WebinarChatMessage.author_id == member_id,
        )
    )
    if last is None:
        return
    wait = timedelta(seconds=webinar.slow_mode_seconds) - (utcnow() - last)
    if wait > timedelta(0):
        raise Refused(
            Problem(
                "body",
                "Slow mode: wait {seconds} s before writing again.",
                ErrorCode.SLOW_MODE,
                values=message_values(seconds=max(1, int(wait.total_seconds()))),
            )
        )


async def delete_chat_message(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, message_id: int, reason: str = ""
) -> LiveResult:
    """Organisers and moderators delete a chat message; the deletion is an event, and is
    recorded in the audit log (with the webinar's community, if it has one)."""
    problems = ProblemList()
    reason = clean_text(problems, "reason", reason, max_length=500, required=False)

    async def change(work: UnitOfWork) -> int:
        message = await work.session.get(WebinarChatMessage, message_id)
        if message is None:
            raise Refused(NO_SUCH_MESSAGE)
        try:
            webinar, access = await taking_part(work, viewer, message.webinar_id)
        except Refused:
            raise Refused(NO_SUCH_MESSAGE) from None
        if not policy.manages_webinar(access):
            raise Refused(
                Problem(
                    "messageId",
                    "Only organisers and moderators delete chat messages.",
                    ErrorCode.NOT_ALLOWED,
                )
            )
        if message.deleted_at is None:
            message.deleted_at = utcnow()
            message.deleted_by_id = viewer.member_id
            work.session.add(
                AuditEntry(
                    actor_id=viewer.member_id,
                    action=ModerationAction.DELETE_WEBINAR_CHAT_MESSAGE,
                    subject_type="WebinarChatMessage",
                    subject_id=message.id,
                    community_id=webinar.community_id,
                    reason=reason,
                    details={"webinar": webinar.id, "author": message.author_id},
                )
            )
            await work.emit(
                webinar_stream(message.webinar_id),
                "CHAT_MESSAGE_DELETED",
                {"webinar": message.webinar_id, "message": message.id},
            )
        return message_id

    answered = reading_live(change, viewer, _answer, _may_read)
    done = await mutation(sessions, events, viewer, answered, problems=problems)
    return LiveResult(row=done.value, problems=done.problems)
