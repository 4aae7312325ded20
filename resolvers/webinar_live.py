"""A webinar's live chat and Q&A: reading, writing, moderation. Every change is an event on the
webinar's stream, written in the transaction that makes it and published after the commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow
from models.webinar import (
    QuestionStatus,
    Webinar,
    WebinarChatMessage,
    WebinarQuestion,
    WebinarQuestionVote,
    WebinarStatus,
)
from resolvers import policy, ratelimit
from resolvers.errors import NOT_SIGNED_IN, ErrorCode, Problem, ProblemList
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer, WebinarAccess
from resolvers.unit_of_work import Refused, UnitOfWork, unit_of_work
from resolvers.validation import clean_text
from resolvers.webinar_registrations import NO_SUCH_WEBINAR
from resolvers.webinars import access_of, access_to
from subscriptions.events import EventPublisher, webinar_stream

Sessions = async_sessionmaker[AsyncSession]

MAX_CHAT_MESSAGE = 500
MAX_QUESTION = 1_000
MAX_ANSWER = 10_000
# Per member, across webinars: enough to converse, too few to flood a room of a thousand.
CHAT_LIMIT = 10
QUESTION_LIMIT = 5
LIVE_WINDOW = timedelta(seconds=30)

CHAT_COLUMNS = (
    WebinarChatMessage.id,
    WebinarChatMessage.webinar_id,
    WebinarChatMessage.author_id,
    WebinarChatMessage.body,
    WebinarChatMessage.created_at,
    WebinarChatMessage.deleted_at,
)
QUESTION_COLUMNS = (
    WebinarQuestion.id,
    WebinarQuestion.webinar_id,
    WebinarQuestion.author_id,
    WebinarQuestion.anonymous,
    WebinarQuestion.body,
    WebinarQuestion.vote_count,
    WebinarQuestion.order_key,
    WebinarQuestion.status,
    WebinarQuestion.answer,
    WebinarQuestion.answered_live,
    WebinarQuestion.answered_by_id,
    WebinarQuestion.answered_at,
    WebinarQuestion.created_at,
)
CHAT_ORDER = Keyset("webinar-chat", (WebinarChatMessage.id,))
# Most votes first, then oldest first (order_key = -id).
QUESTION_ORDER = Keyset(
    "webinar-questions", (WebinarQuestion.vote_count, WebinarQuestion.order_key), descending=True
)

NO_SUCH_MESSAGE = Problem("messageId", "No such chat message.", ErrorCode.NOT_FOUND)
NO_SUCH_QUESTION = Problem("questionId", "No such question.", ErrorCode.NOT_FOUND)


# --- Reading --------------------------------------------------------------------------------


async def _webinar_and_access(
    session: AsyncSession, viewer: Viewer, webinar_id: int
) -> tuple[WebinarStatus, WebinarAccess] | None:
    status = await session.scalar(
        select(Webinar.status).where(Webinar.id == webinar_id, policy.visible_webinars(viewer))
    )
    if status is None:
        return None
    return status, await access_to(session, viewer, webinar_id)


async def chat_page(
    sessions: Sessions, viewer: Viewer, webinar_id: int, request: PageRequest
) -> Page | None:
    """The chat, oldest first; None when the viewer does not take part in the webinar."""
    async with sessions() as session:
        found = await _webinar_and_access(session, viewer, webinar_id)
    if found is None or not policy.may_read_chat(found[1]):
        return None
    statement = select(*CHAT_COLUMNS).where(WebinarChatMessage.webinar_id == webinar_id)
    return await fetch_page(sessions, statement, CHAT_ORDER, request)


async def questions_page(
    sessions: Sessions,
    viewer: Viewer,
    webinar_id: int,
    status: QuestionStatus | None,
    request: PageRequest,
) -> Page | None:
    """Questions by votes then age; None when the viewer may not read them. Readers of an
    ended webinar's record who did not take part see the answered questions only."""
    async with sessions() as session:
        found = await _webinar_and_access(session, viewer, webinar_id)
    if found is None or not policy.may_read_questions(found[1], found[0]):
        return None
    statement = select(*QUESTION_COLUMNS).where(WebinarQuestion.webinar_id == webinar_id)
    if policy.reads_qa_record_only(found[1]):
        statement = statement.where(WebinarQuestion.status == QuestionStatus.ANSWERED)
    if status is not None:
        statement = statement.where(WebinarQuestion.status == status)
    return await fetch_page(sessions, statement, QUESTION_ORDER, request)


async def _readable(
    session: AsyncSession, viewer: Viewer, rows: Sequence[AnyRow], questions: bool
) -> dict[int, AnyRow]:
    """The rows (of visible webinars) the viewer may read, by id."""
    webinar_ids = sorted({row.webinar_id for row in rows})
    statuses = dict(
        (
            await session.execute(
                select(Webinar.id, Webinar.status).where(
                    Webinar.id.in_(webinar_ids), policy.visible_webinars(viewer)
                )
            )
        ).all()
    )
    access = dict(zip(webinar_ids, await access_of(session, viewer, webinar_ids), strict=True))
    readable = {}
    for row in rows:
        if row.webinar_id not in statuses:
            continue
        seen_by = access[row.webinar_id]
        if questions:
            if not policy.may_read_questions(seen_by, statuses[row.webinar_id]):
                continue
            if policy.reads_qa_record_only(seen_by) and row.status is not QuestionStatus.ANSWERED:
                continue
        elif not policy.may_read_chat(seen_by):
            continue
        readable[row.id] = row
    return readable


async def chat_messages_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    async with sessions() as session:
        rows = (
            await session.execute(select(*CHAT_COLUMNS).where(WebinarChatMessage.id.in_(ids)))
        ).all()
        readable = await _readable(session, viewer, rows, questions=False)
    return [readable.get(i) for i in ids]


async def questions_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    async with sessions() as session:
        rows = (
            await session.execute(select(*QUESTION_COLUMNS).where(WebinarQuestion.id.in_(ids)))
        ).all()
        readable = await _readable(session, viewer, rows, questions=True)
    return [readable.get(i) for i in ids]


async def upvoted_by_viewer(sessions: Sessions, viewer: Viewer, ids: Sequence[int]) -> list[bool]:
    if viewer.member_id is None:
        return [False for _ in ids]
    async with sessions() as session:
        voted = set(
            (
                await session.execute(
                    select(WebinarQuestionVote.question_id).where(
                        WebinarQuestionVote.question_id.in_(ids),
                        WebinarQuestionVote.member_id == viewer.member_id,
                    )
                )
            ).scalars()
        )
    return [i in voted for i in ids]


# --- Writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveResult:
    """A chat message or question after a change (its id), or why nothing changed."""

    id: int | None = None
    problems: list[Problem] = field(default_factory=list)


async def _taking_part(
    work: UnitOfWork, viewer: Viewer, webinar_id: int
) -> tuple[Webinar, WebinarAccess]:
    webinar = await work.session.scalar(
        select(Webinar).where(Webinar.id == webinar_id, policy.visible_webinars(viewer))
    )
    if webinar is None:
        raise Refused(NO_SUCH_WEBINAR)
    access = await access_to(work.session, viewer, webinar_id)
    if not policy.takes_part_live(access):
        raise Refused(
            Problem(
                "webinarId",
                "Register for the webinar (or host it) to take part.",
                ErrorCode.NOT_ALLOWED,
            )
        )
    return webinar, access


async def _rate_limit(work: UnitOfWork, key: str, limit: int) -> None:
    if await ratelimit.hit(work.session, key, limit=limit, window=LIVE_WINDOW):
        raise Refused(Problem(None, "Too many messages: wait a moment.", ErrorCode.RATE_LIMITED))


async def send_chat_message(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, webinar_id: int, body: str
) -> LiveResult:
    """Write in the chat of a LIVE webinar (organisers also before it): at most 500
    characters, rate limited per member, and slowed by the webinar's slow mode (organisers
    and moderators are not slowed)."""
    if viewer.member_id is None:
        return LiveResult(problems=[NOT_SIGNED_IN])
    problems = ProblemList()
    text = clean_text(problems, "body", body, max_length=MAX_CHAT_MESSAGE, multiline=True)
    if problems:
        return LiveResult(problems=problems)
    try:
        async with unit_of_work(sessions, events) as work:
            webinar, access = await _taking_part(work, viewer, webinar_id)
            if not policy.may_chat_now(access, webinar.status):
                raise Refused(
                    Problem(
                        "webinarId",
                        "The chat is open while the webinar is live.",
                        ErrorCode.INVALID_TRANSITION,
                    )
                )
            await _rate_limit(work, f"webinar-chat:{viewer.member_id}", CHAT_LIMIT)
            if webinar.slow_mode_seconds and not policy.manages_webinar(access):
                await _check_slow_mode(work.session, webinar, viewer.member_id)
            message = WebinarChatMessage(
                webinar_id=webinar_id, author_id=viewer.member_id, body=text
            )
            work.session.add(message)
            await work.session.flush()
            await work.emit(
                webinar_stream(webinar_id),
                "CHAT_MESSAGE_SENT",
                {"webinar": webinar_id, "message": message.id},
            )
    except Refused as refusal:
        return LiveResult(problems=refusal.problems)
    return LiveResult(id=message.id)


async def _check_slow_mode(session: AsyncSession, webinar: Webinar, member_id: int) -> None:
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
                f"Slow mode: wait {max(1, int(wait.total_seconds()))} s before writing again.",
                ErrorCode.SLOW_MODE,
            )
        )


async def delete_chat_message(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, message_id: int
) -> LiveResult:
    """Organisers and moderators delete a chat message; the deletion is an event."""
    if viewer.member_id is None:
        return LiveResult(problems=[NOT_SIGNED_IN])
    try:
        async with unit_of_work(sessions, events) as work:
            message = await work.session.get(WebinarChatMessage, message_id)
            if message is None:
                raise Refused(NO_SUCH_MESSAGE)
            try:
                _, access = await _taking_part(work, viewer, message.webinar_id)
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
                await work.emit(
                    webinar_stream(message.webinar_id),
                    "CHAT_MESSAGE_DELETED",
                    {"webinar": message.webinar_id, "message": message.id},
                )
    except Refused as refusal:
        return LiveResult(problems=refusal.problems)
    return LiveResult(id=message_id)


async def ask_question(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    webinar_id: int,
    body: str,
    anonymous: bool,
) -> LiveResult:
    """Ask before or during the webinar; anonymous hides you from participants and speakers,
    never from organisers and moderators."""
    if viewer.member_id is None:
        return LiveResult(problems=[NOT_SIGNED_IN])
    problems = ProblemList()
    text = clean_text(problems, "body", body, max_length=MAX_QUESTION, multiline=True)
    if problems:
        return LiveResult(problems=problems)
    try:
        async with unit_of_work(sessions, events) as work:
            webinar, access = await _taking_part(work, viewer, webinar_id)
            if not policy.may_ask_now(access, webinar.status):
                raise Refused(
                    Problem(
                        "webinarId",
                        "Questions are asked before and during the webinar.",
                        ErrorCode.INVALID_TRANSITION,
                    )
                )
            await _rate_limit(work, f"webinar-question:{viewer.member_id}", QUESTION_LIMIT)
            question = WebinarQuestion(
                webinar_id=webinar_id,
                author_id=viewer.member_id,
                anonymous=anonymous,
                body=text,
                vote_count=0,
                order_key=0,
            )
            work.session.add(question)
            await work.session.flush()
            question.order_key = -question.id
            await work.emit(
                webinar_stream(webinar_id),
                "QUESTION_ASKED",
                {"webinar": webinar_id, "question": question.id},
            )
    except Refused as refusal:
        return LiveResult(problems=refusal.problems)
    return LiveResult(id=question.id)


async def _question_taking_part(
    work: UnitOfWork, viewer: Viewer, question_id: int
) -> tuple[WebinarQuestion, Webinar, WebinarAccess]:
    question = await work.session.get(WebinarQuestion, question_id)
    if question is None:
        raise Refused(NO_SUCH_QUESTION)
    try:
        webinar, access = await _taking_part(work, viewer, question.webinar_id)
    except Refused:
        raise Refused(NO_SUCH_QUESTION) from None
    return question, webinar, access


class _AlreadyVoted(Exception):
    pass


async def upvote_question(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, question_id: int
) -> LiveResult:
    """One vote per member and question; a second is refused (CONFLICT)."""
    if viewer.member_id is None:
        return LiveResult(problems=[NOT_SIGNED_IN])
    already = Problem("questionId", "You upvoted this question already.", ErrorCode.CONFLICT)
    try:
        async with unit_of_work(sessions, events) as work:
            question, webinar, access = await _question_taking_part(work, viewer, question_id)
            if not policy.may_ask_now(access, webinar.status):
                raise Refused(
                    Problem(
                        "questionId",
                        "Questions are upvoted before and during the webinar.",
                        ErrorCode.INVALID_TRANSITION,
                    )
                )
            if question.status is not QuestionStatus.OPEN:
                raise Refused(
                    Problem(
                        "questionId",
                        "Only open questions are upvoted.",
                        ErrorCode.INVALID_TRANSITION,
                    )
                )
            if await work.session.get(WebinarQuestionVote, (question_id, viewer.member_id)):
                raise Refused(already)
            work.session.add(
                WebinarQuestionVote(question_id=question_id, member_id=viewer.member_id)
            )
            await work.session.flush()
            votes = (
                await work.session.execute(
                    update(WebinarQuestion)
                    .where(WebinarQuestion.id == question_id)
                    .values(vote_count=WebinarQuestion.vote_count + 1)
                    .returning(WebinarQuestion.vote_count)
                    .execution_options(synchronize_session=False)
                )
            ).scalar_one()
            await work.emit(
                webinar_stream(question.webinar_id),
                "QUESTION_UPVOTED",
                {"webinar": question.webinar_id, "question": question_id, "votes": votes},
            )
    except Refused as refusal:
        return LiveResult(problems=refusal.problems)
    except IntegrityError:
        return LiveResult(problems=[already])  # the same vote raced in from another request
    return LiveResult(id=question_id)


async def answer_question(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    question_id: int,
    answer: str | None,
    live: bool,
) -> LiveResult:
    """Organisers, speakers and moderators answer: live (text optional) or in writing; a
    written answer may be added or corrected later, also after the webinar."""
    if viewer.member_id is None:
        return LiveResult(problems=[NOT_SIGNED_IN])
    problems = ProblemList()
    text = None
    if answer is not None and answer.strip():
        text = clean_text(problems, "answer", answer, max_length=MAX_ANSWER, multiline=True)
    elif not live:
        problems.add("answer", "A written answer needs its text.", ErrorCode.REQUIRED)
    if problems:
        return LiveResult(problems=problems)
    try:
        async with unit_of_work(sessions, events) as work:
            question, webinar, access = await _question_taking_part(work, viewer, question_id)
            _require_answering(access, webinar, question)
            question.status = QuestionStatus.ANSWERED
            question.answer = text if text is not None else question.answer
            question.answered_live = live
            question.answered_by_id = viewer.member_id
            question.answered_at = utcnow()
            await work.emit(
                webinar_stream(question.webinar_id),
                "QUESTION_ANSWERED",
                {"webinar": question.webinar_id, "question": question_id},
            )
    except Refused as refusal:
        return LiveResult(problems=refusal.problems)
    return LiveResult(id=question_id)


def _require_answering(access: WebinarAccess, webinar: Webinar, question: WebinarQuestion) -> None:
    if not policy.may_answer_questions(access):
        raise Refused(
            Problem(
                "questionId",
                "Only organisers, speakers and moderators answer or dismiss questions.",
                ErrorCode.NOT_ALLOWED,
            )
        )
    if webinar.status is WebinarStatus.CANCELLED or question.status is QuestionStatus.DISMISSED:
        raise Refused(
            Problem(
                "questionId",
                "A dismissed question, or one of a cancelled webinar, is closed.",
                ErrorCode.INVALID_TRANSITION,
            )
        )


async def dismiss_question(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, question_id: int
) -> LiveResult:
    """Set an open question aside (off topic, duplicate, answered elsewhere)."""
    if viewer.member_id is None:
        return LiveResult(problems=[NOT_SIGNED_IN])
    try:
        async with unit_of_work(sessions, events) as work:
            question, webinar, access = await _question_taking_part(work, viewer, question_id)
            _require_answering(access, webinar, question)
            if question.status is not QuestionStatus.OPEN:
                raise Refused(
                    Problem(
                        "questionId",
                        "Only open questions are dismissed.",
                        ErrorCode.INVALID_TRANSITION,
                    )
                )
            question.status = QuestionStatus.DISMISSED
            await work.emit(
                webinar_stream(question.webinar_id),
                "QUESTION_DISMISSED",
                {"webinar": question.webinar_id, "question": question_id},
            )
    except Refused as refusal:
        return LiveResult(problems=refusal.problems)
    return LiveResult(id=question_id)
