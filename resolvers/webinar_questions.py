"""A webinar's Q&A: questions (optionally anonymous), upvotes, answers, dismissals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.webinar import (
    QuestionStatus,
    Webinar,
    WebinarQuestion,
    WebinarQuestionVote,
    WebinarStatus,
)
from resolvers import policy
from resolvers.errors import ErrorCode, Problem, ProblemList
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

MAX_QUESTION = 1_000
MAX_ANSWER = 10_000
QUESTION_LIMIT = 5

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
# Most votes first, then oldest first (order_key = -id).
QUESTION_ORDER = Keyset(
    "webinar-questions", (WebinarQuestion.vote_count, WebinarQuestion.order_key), descending=True
)

NO_SUCH_QUESTION = Problem("questionId", "No such question.", ErrorCode.NOT_FOUND)


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
        found = await webinar_and_access(session, viewer, webinar_id)
    if found is None or not policy.may_read_questions(found[1], found[0]):
        return None
    statement = select(*QUESTION_COLUMNS).where(WebinarQuestion.webinar_id == webinar_id)
    if policy.reads_qa_record_only(found[1]):
        statement = statement.where(WebinarQuestion.status == QuestionStatus.ANSWERED)
    if status is not None:
        statement = statement.where(WebinarQuestion.status == status)
    return await fetch_page(sessions, statement, QUESTION_ORDER, request)


def _may_read(access: WebinarAccess, status: WebinarStatus, row: AnyRow) -> bool:
    return policy.may_read_question(access, status, row.status)


def _answer(row_id: int) -> AnySelect:
    return select(*QUESTION_COLUMNS).where(WebinarQuestion.id == row_id)


async def questions_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    async with sessions() as session:
        rows = (
            await session.execute(select(*QUESTION_COLUMNS).where(WebinarQuestion.id.in_(ids)))
        ).all()
        readable = await readable_rows(session, viewer, rows, _may_read)
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
    problems = ProblemList()
    text = clean_text(problems, "body", body, max_length=MAX_QUESTION, multiline=True)

    async def change(work: UnitOfWork) -> int:
        webinar, access = await taking_part(work, viewer, webinar_id)
        if not policy.may_ask_now(access, webinar.status):
            raise Refused(
                Problem(
                    "webinarId",
                    "Questions are asked before and during the webinar.",
                    ErrorCode.INVALID_TRANSITION,
                )
            )
        await rate_limit(work, f"webinar-question:{viewer.member_id}", QUESTION_LIMIT)
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
        return question.id

    answered = reading_live(change, viewer, _answer, _may_read)
    done = await mutation(sessions, events, viewer, answered, problems=problems)
    return LiveResult(row=done.value, problems=done.problems)


async def _question_taking_part(
    work: UnitOfWork, viewer: Viewer, question_id: int
) -> tuple[WebinarQuestion, Webinar, WebinarAccess]:
    question = await work.session.get(WebinarQuestion, question_id)
    if question is None:
        raise Refused(NO_SUCH_QUESTION)
    try:
        webinar, access = await taking_part(work, viewer, question.webinar_id)
    except Refused:
        raise Refused(NO_SUCH_QUESTION) from None
    return question, webinar, access


async def upvote_question(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, question_id: int
) -> LiveResult:
    """One vote per member and question; a second is refused (CONFLICT)."""
    already = Problem("questionId", "You upvoted this question already.", ErrorCode.CONFLICT)

    async def change(work: UnitOfWork) -> int:
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
        work.session.add(WebinarQuestionVote(question_id=question_id, member_id=viewer.member_id))
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
        return question_id

    # The same vote raced in from another request: it meets this one at the vote's key.
    answered = reading_live(change, viewer, _answer, _may_read)
    done = await mutation(sessions, events, viewer, answered, conflict=already)
    return LiveResult(row=done.value, problems=done.problems)


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
    problems = ProblemList()
    text = None
    if answer is not None and answer.strip():
        text = clean_text(problems, "answer", answer, max_length=MAX_ANSWER, multiline=True)
    elif not live:
        problems.add("answer", "A written answer needs its text.", ErrorCode.REQUIRED)

    async def change(work: UnitOfWork) -> int:
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
        return question_id

    answered = reading_live(change, viewer, _answer, _may_read)
    done = await mutation(sessions, events, viewer, answered, problems=problems)
    return LiveResult(row=done.value, problems=done.problems)


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

    async def change(work: UnitOfWork) -> int:
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
        return question_id

    done = await mutation(
        sessions, events, viewer, reading_live(change, viewer, _answer, _may_read)
    )
    return LiveResult(row=done.value, problems=done.problems)
