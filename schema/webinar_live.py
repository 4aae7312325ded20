"""A webinar's chat and Q&A in GraphQL: types and mutations (the subscription: webinars.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.webinar import QuestionStatus as QuestionStatusModel
from resolvers import policy, webinar_chat, webinar_live, webinar_questions
from resolvers.markdown import render
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.relay import Node, decode_int_id, encode_id

QuestionStatus = described_enum(
    QuestionStatusModel,
    "Where a question of a webinar's Q&A stands.",
    {
        "OPEN": "Asked, waiting for an answer; participants upvote it.",
        "ANSWERED": "Answered live or in writing.",
        "DISMISSED": "Set aside by the hosts.",
    },
)


@strawberry.type(description="A message in a webinar's live chat.")
class WebinarChatMessage(Node):
    created_at: datetime = strawberry.field(description="When it was sent (UTC).")
    is_deleted: bool = strawberry.field(description="Deleted by an organiser or moderator.")
    db_id: strawberry.Private[int]
    webinar_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    text: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: AnyRow) -> WebinarChatMessage:
        return cls(
            id=encode_id("WebinarChatMessage", row.id),
            db_id=row.id,
            webinar_id=row.webinar_id,
            author_id=row.author_id,
            text=row.body,
            created_at=row.created_at,
            is_deleted=row.deleted_at is not None,
        )

    async def _readable_text(self, info: Info) -> str | None:
        if not self.is_deleted:
            return self.text
        access = await info.context.loaders.access_by_webinar.load(self.webinar_id)
        return self.text if policy.manages_webinar(access) else None

    @strawberry.field(
        description="The text as written (plain text or Markdown); null once deleted, except "
        "for organisers and moderators."
    )
    async def body(self, info: Info) -> str | None:
        return await self._readable_text(info)

    @strawberry.field(description="The text as sanitized HTML; null once deleted (same rule).")
    async def body_html(self, info: Info) -> str | None:
        text = await self._readable_text(info)
        return render(text) if text is not None else None

    @strawberry.field(description="Who wrote it; null if the account is gone or hidden.")
    async def author(self, info: Info) -> Member | None:
        return await load_member(info, self.author_id) if self.author_id else None


@strawberry.type(description="You and this question (executed per viewer in subscriptions).")
class WebinarQuestionViewerState:
    question_id: strawberry.Private[int]
    asked: bool = strawberry.field(description="You asked it (also when anonymous).")

    @strawberry.field(description="You upvoted it.")
    async def upvoted(self, info: Info) -> bool:
        return await info.context.loaders.upvoted_by_question.load(self.question_id)


@strawberry.type(
    description="A question of a webinar's Q&A, listed by votes then age. An anonymous "
    "question's author is shown to organisers and moderators only."
)
class WebinarQuestion(Node):
    body: str = strawberry.field(description="The question, as written.")
    anonymous: bool = strawberry.field(description="Asked anonymously.")
    vote_count: int = strawberry.field(description="Upvotes.")
    status: QuestionStatus = strawberry.field(description="Open, answered or dismissed.")  # type: ignore[valid-type]
    answer: str | None = strawberry.field(description="The written answer (Markdown), if any.")
    answered_live: bool = strawberry.field(description="It was answered live, by voice.")
    answered_at: datetime | None = strawberry.field(description="When it was answered (UTC).")
    created_at: datetime = strawberry.field(description="When it was asked (UTC).")
    db_id: strawberry.Private[int]
    webinar_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    answered_by_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> WebinarQuestion:
        return cls(
            id=encode_id("WebinarQuestion", row.id),
            db_id=row.id,
            webinar_id=row.webinar_id,
            author_id=row.author_id,
            answered_by_id=row.answered_by_id,
            body=row.body,
            anonymous=row.anonymous,
            vote_count=row.vote_count,
            status=row.status,
            answer=row.answer,
            answered_live=row.answered_live,
            answered_at=row.answered_at,
            created_at=row.created_at,
        )

    @strawberry.field(description="The question as sanitized HTML.")
    def body_html(self) -> str:
        return render(self.body)

    @strawberry.field(description="The written answer as sanitized HTML, if any.")
    def answer_html(self) -> str | None:
        return render(self.answer) if self.answer is not None else None

    @strawberry.field(
        description="Who asked: null for an anonymous question unless you organise or "
        "moderate the webinar (null too if the account is gone or hidden)."
    )
    async def author(self, info: Info) -> Member | None:
        if self.author_id is None:
            return None
        if self.anonymous:
            access = await info.context.loaders.access_by_webinar.load(self.webinar_id)
            if not policy.sees_anonymous_authors(access):
                return None
        return await load_member(info, self.author_id)

    @strawberry.field(description="Who answered it, if anyone.")
    async def answered_by(self, info: Info) -> Member | None:
        return await load_member(info, self.answered_by_id) if self.answered_by_id else None

    @strawberry.field(description="Whether you asked or upvoted it; per viewer.")
    def viewer(self, info: Info) -> WebinarQuestionViewerState:
        asked = self.author_id is not None and self.author_id == info.context.viewer.member_id
        return WebinarQuestionViewerState(question_id=self.db_id, asked=asked)


async def load_chat_message(info: Info, message_id: int) -> WebinarChatMessage | None:
    row = await info.context.loaders.chat_message_by_id.load(message_id)
    return WebinarChatMessage.from_row(row) if row is not None else None


async def load_question(info: Info, question_id: int) -> WebinarQuestion | None:
    row = await info.context.loaders.question_by_id.load(question_id)
    return WebinarQuestion.from_row(row) if row is not None else None


# --- mutations --------------------------------------------------------------------------------


@strawberry.type(description="Result of a change to a webinar's chat.")
class ChatMessagePayload:
    message: WebinarChatMessage | None = strawberry.field(description="The message after it.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type(description="Result of a change to a webinar's Q&A.")
class QuestionPayload:
    question: WebinarQuestion | None = strawberry.field(description="The question after it.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.input(description="Write in a webinar's chat.")
class SendChatMessageInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")
    body: str = strawberry.field(description="At most 500 characters, plain text or Markdown.")


async def send_chat_message(
    info: Info, input: Annotated[SendChatMessageInput, INPUT]
) -> ChatMessagePayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return ChatMessagePayload(message=None, errors=not_found("webinarId", "No such webinar."))
    result = await webinar_chat.send_chat_message(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.body
    )
    return _chat_payload(result)


def _chat_payload(result: webinar_live.LiveResult) -> ChatMessagePayload:
    message = WebinarChatMessage.from_row(result.row) if result.row is not None else None
    return ChatMessagePayload(message=message, errors=user_errors(result.problems))


@strawberry.input(description="Delete a chat message (organisers and moderators).")
class DeleteChatMessageInput:
    message_id: strawberry.ID = strawberry.field(description="Global ID of the message.")
    reason: str = strawberry.field(
        default="", description="Why (at most 500 characters), for the audit log."
    )


async def delete_chat_message(
    info: Info, input: Annotated[DeleteChatMessageInput, INPUT]
) -> ChatMessagePayload:
    key = decode_int_id(input.message_id, "WebinarChatMessage")
    if key is None:
        return ChatMessagePayload(
            message=None, errors=not_found("messageId", "No such chat message.")
        )
    result = await webinar_chat.delete_chat_message(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.reason
    )
    return _chat_payload(result)


def _question_payload(result: webinar_live.LiveResult) -> QuestionPayload:
    question = WebinarQuestion.from_row(result.row) if result.row is not None else None
    return QuestionPayload(question=question, errors=user_errors(result.problems))


@strawberry.input(description="Ask a question in a webinar's Q&A.")
class AskQuestionInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")
    body: str = strawberry.field(description="The question (at most 1,000 characters).")
    anonymous: bool = strawberry.field(
        default=False,
        description="Hide your name from participants and speakers (organisers and "
        "moderators still see it).",
    )


async def ask_question(info: Info, input: Annotated[AskQuestionInput, INPUT]) -> QuestionPayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return QuestionPayload(question=None, errors=not_found("webinarId", "No such webinar."))
    result = await webinar_questions.ask_question(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        input.body,
        input.anonymous,
    )
    return _question_payload(result)


@strawberry.input(description="Act on one question.")
class QuestionInput:
    question_id: strawberry.ID = strawberry.field(description="Global ID of the question.")


def _question_key(question_id: str) -> int | None:
    return decode_int_id(question_id, "WebinarQuestion")


async def upvote_question(info: Info, input: Annotated[QuestionInput, INPUT]) -> QuestionPayload:
    key = _question_key(input.question_id)
    if key is None:
        return QuestionPayload(question=None, errors=not_found("questionId", "No such question."))
    result = await webinar_questions.upvote_question(
        info.context.db.sessions, info.context.events, info.context.viewer, key
    )
    return _question_payload(result)


async def dismiss_question(info: Info, input: Annotated[QuestionInput, INPUT]) -> QuestionPayload:
    key = _question_key(input.question_id)
    if key is None:
        return QuestionPayload(question=None, errors=not_found("questionId", "No such question."))
    result = await webinar_questions.dismiss_question(
        info.context.db.sessions, info.context.events, info.context.viewer, key
    )
    return _question_payload(result)


@strawberry.input(description="Answer a question, live or in writing.")
class AnswerQuestionInput:
    question_id: strawberry.ID = strawberry.field(description="Global ID of the question.")
    answer: str | None = strawberry.field(
        default=None, description="The written answer (Markdown; required unless `live`)."
    )
    live: bool = strawberry.field(default=False, description="It was answered live, by voice.")


async def answer_question(
    info: Info, input: Annotated[AnswerQuestionInput, INPUT]
) -> QuestionPayload:
    key = _question_key(input.question_id)
    if key is None:
        return QuestionPayload(question=None, errors=not_found("questionId", "No such question."))
    result = await webinar_questions.answer_question(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        input.answer,
        input.live,
    )
    return _question_payload(result)
