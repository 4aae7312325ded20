"""What a webinar's chat and Q&A share: who takes part, reading rows through the policy, the
per-member rate limit, and the result of a change. Chat: webinar_chat.py; Q&A:
webinar_questions.py. Every change is an event on the webinar's stream, written in the
transaction that makes it and published after the commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow, AnySelect
from models.webinar import Webinar, WebinarStatus
from resolvers import policy, ratelimit
from resolvers.errors import ErrorCode, Problem
from resolvers.policy import Viewer, WebinarAccess
from resolvers.unit_of_work import Change, Refused, UnitOfWork
from resolvers.webinar_access import access_of, access_to
from resolvers.webinar_registrations import NO_SUCH_WEBINAR
from subscriptions import metrics

Sessions = async_sessionmaker[AsyncSession]

LIVE_WINDOW = timedelta(seconds=30)
# Whether a viewer with this access may read this row of a webinar in this status.
RowRule = Callable[[WebinarAccess, WebinarStatus, AnyRow], bool]


async def webinar_and_access(
    session: AsyncSession, viewer: Viewer, webinar_id: int
) -> tuple[WebinarStatus, WebinarAccess] | None:
    status = await session.scalar(
        select(Webinar.status).where(Webinar.id == webinar_id, policy.visible_webinars(viewer))
    )
    if status is None:
        return None
    return status, await access_to(session, viewer, webinar_id)


async def readable_rows(
    session: AsyncSession, viewer: Viewer, rows: Sequence[AnyRow], may_read: RowRule
) -> dict[int, AnyRow]:
    """The rows (of webinars the viewer sees) that `may_read` lets the viewer read, by id."""
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
    return {
        row.id: row
        for row in rows
        if row.webinar_id in statuses
        and may_read(access[row.webinar_id], statuses[row.webinar_id], row)
    }


@dataclass(frozen=True)
class LiveResult:
    """A chat message or question after a change (its row, read in the change's transaction,
    if the viewer may read it), or why nothing changed."""

    row: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def reading_live(
    change: Change[int], viewer: Viewer, answer: Callable[[int], AnySelect], may_read: RowRule
) -> Change[AnyRow | None]:
    """`change` (which returns the id of the message or question it wrote), answering with
    its row as `answer(id)` selects it, read in the same transaction and only if `may_read`
    lets the viewer read it (`readable_rows`, as the loaders do)."""

    async def changed(work: UnitOfWork) -> AnyRow | None:
        row_id = await change(work)
        await work.session.flush()
        rows = (await work.session.execute(answer(row_id))).all()
        return (await readable_rows(work.session, viewer, rows, may_read)).get(row_id)

    return changed


async def taking_part(
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


async def rate_limit(work: UnitOfWork, key: str, limit: int) -> None:
    if await ratelimit.hit(work.session, key, limit=limit, window=LIVE_WINDOW):
        metrics.RATE_LIMITED.labels("webinar_live").inc()
        raise Refused(Problem(None, "Too many messages: wait a moment.", ErrorCode.RATE_LIMITED))
