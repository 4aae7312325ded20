"""The private message thread of a support request: requester side, focal point, experts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from models.db import AnyRow, AnySelect
from models.support import SupportMessage
from resolvers.batching import rows_by_ids
from resolvers.errors import Problem, ProblemList
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.support import Sessions, request_for_change, support_stream, visible_request_ids
from resolvers.unit_of_work import UnitOfWork, mutation, reading_back
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

MAX_MESSAGE = 10_000
# The live event of a new message in a request's stream (its changes are SupportChange values).
MESSAGE_POSTED = "MESSAGE_POSTED"

MESSAGE_COLUMNS = (
    SupportMessage.id,
    SupportMessage.request_id,
    SupportMessage.author_id,
    SupportMessage.body,
    SupportMessage.created_at,
)
MESSAGE_ORDER = Keyset("support_messages", (SupportMessage.id,))


async def messages_page(
    sessions: Sessions, viewer: Viewer, request_id: int, request: PageRequest
) -> Page:
    statement = select(*MESSAGE_COLUMNS).where(
        SupportMessage.request_id == request_id,
        SupportMessage.request_id.in_(visible_request_ids(viewer)),
    )
    return await fetch_page(sessions, statement, MESSAGE_ORDER, request)


async def messages_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(sessions, _visible(viewer, ids), ids)


def _visible(viewer: Viewer, ids: Sequence[int]) -> AnySelect:
    """The messages of `ids` the viewer may see (those of the requests they may see)."""
    return select(*MESSAGE_COLUMNS).where(
        SupportMessage.id.in_(ids), SupportMessage.request_id.in_(visible_request_ids(viewer))
    )


@dataclass(frozen=True)
class MessageResult:
    message: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def post_support_message(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, request_id: int, body: str
) -> MessageResult:
    """A message in the request's private thread, by anyone who may see the request."""
    problems = ProblemList()
    body = clean_text(problems, "body", body, max_length=MAX_MESSAGE, multiline=True)

    async def change(work: UnitOfWork) -> int:
        request = await request_for_change(work, viewer, request_id)
        message = SupportMessage(request_id=request.id, author_id=viewer.member_id, body=body)
        work.session.add(message)
        await work.session.flush()
        await work.emit(
            support_stream(request.id),
            MESSAGE_POSTED,
            {"request": request.id, "message": message.id, "author": viewer.member_id},
        )
        return message.id

    answered = reading_back(change, lambda message_id: _visible(viewer, [message_id]))
    done = await mutation(sessions, events, viewer, answered, problems=problems)
    return MessageResult(message=done.value, problems=done.problems)
