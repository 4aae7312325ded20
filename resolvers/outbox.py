"""The outbox's life cycle: deliveries written in the transaction that causes them, claimed by
workers when due (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of processes share the
work; SQLite runs one worker), their outcome recorded, failures retried with exponential
backoff and jitter and then left dead for an admin to retry.

A claim is a lease: the row stays PENDING with `due_at` moved to the lease's end and its
attempt counted. A worker that dies while sending leaves the row to be claimed again when the
lease ends (nothing is lost); its receivers drop the duplicate by the delivery's stable key."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Update, exists, func, select, true, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from models.base import utcnow
from models.outbox import Delivery, DeliveryChannel, DeliveryState
from models.writes import WriteVersion
from resolvers import policy
from resolvers.errors import ErrorCode, Problem
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation

Sessions = async_sessionmaker[AsyncSession]

MAX_ERROR_LENGTH = 500
_RANDOM = random.Random()  # jitter, not secrets  # noqa: S311
NEWEST_FIRST = Keyset("deliveries", (Delivery.id,), descending=True)
NO_SUCH_DELIVERY = Problem("deliveryId", "No such delivery.", ErrorCode.NOT_FOUND)
NOT_DEAD = Problem(
    "deliveryId", "Only a dead delivery can be retried.", ErrorCode.INVALID_TRANSITION
)
DELIVERY_COLUMNS = (
    Delivery.id,
    Delivery.key,
    Delivery.channel,
    Delivery.state,
    Delivery.member_id,
    Delivery.attempts,
    Delivery.created_at,
    Delivery.due_at,
    Delivery.finished_at,
    Delivery.last_error,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails waits about base * 2^(n-1), capped, times a random
    factor in [0.5, 1) so that rows failing together do not come back together."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        exponential: timedelta = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        factor = 0.5 + (rng or _RANDOM).random() / 2
        return exponential * factor

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds until its lease ends."""

    id: int
    key: str
    channel: DeliveryChannel
    member_id: int | None
    notification_id: int | None
    address: str | None
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Dropped:
    """Not to be sent: the recipient may no longer receive it (why, for admins)."""

    reason: str


@dataclass(frozen=True)
class Failed:
    error: str


@dataclass(frozen=True)
class Progressed:
    """A fan-out job wrote a batch (its progress committed with it) and has more to do: due
    again as of its creation, so ahead of every email its batches wrote (a worker expands the
    job while it sends them, instead of once they are all sent), its attempts counted afresh
    (they count the failures since its last progress, so a long job never runs out)."""


Result = Sent | Dropped | Failed | Progressed


async def claim_due(
    sessions: Sessions, *, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Claimed]:
    """Claim up to `limit` due deliveries, oldest due first, for `lease`."""
    now = now or utcnow()
    due = (
        select(Delivery.id)
        .where(Delivery.state == DeliveryState.PENDING, Delivery.due_at <= now)
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(attempts=Delivery.attempts + 1, due_at=now + lease)
        .returning(
            Delivery.id,
            Delivery.key,
            Delivery.channel,
            Delivery.member_id,
            Delivery.notification_id,
            Delivery.address,
            Delivery.payload,
            Delivery.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    async with sessions.begin() as session:
        rows = (await session.execute(claim)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _ending(result: Result, claimed: Claimed, retry: RetryPolicy, now: datetime) -> dict[str, Any]:
    """The columns that record `result` of the claimed attempt."""
    if isinstance(result, Sent):
        return {"state": DeliveryState.SENT, "finished_at": now, "last_error": None}
    if isinstance(result, Dropped):
        return {"state": DeliveryState.DROPPED, "finished_at": now, "last_error": result.reason}
    if isinstance(result, Progressed):
        return {"due_at": Delivery.created_at, "attempts": 0, "last_error": None}
    error = result.error[:MAX_ERROR_LENGTH]
    if retry.exhausted(claimed.attempts):
        return {"state": DeliveryState.DEAD, "finished_at": now, "last_error": error}
    return {"due_at": now + retry.delay(claimed.attempts), "last_error": error}


def _alike(
    outcomes: Sequence[tuple[Claimed, Result]], retry: RetryPolicy, now: datetime
) -> list[tuple[dict[str, Any], list[Claimed]]]:
    """The outcomes grouped by the columns that record them: every message sent shares one
    UPDATE, those dropped for one reason another; each retry has its own (its jitter)."""
    alike: dict[tuple[Any, ...], tuple[dict[str, Any], list[Claimed]]] = {}
    for claimed, result in outcomes:
        values = _ending(result, claimed, retry, now)
        key = (claimed.id,) if "due_at" in values else tuple(sorted(values.items(), key=str))
        alike.setdefault(key, (values, []))[1].append(claimed)
    return list(alike.values())


def _recording(values: dict[str, Any], claims: list[Claimed]) -> Update:
    """The UPDATE of claimed rows still held by these claims (a lost claim is left alone)."""
    return (
        update(Delivery)
        .where(
            tuple_(Delivery.id, Delivery.attempts).in_([(c.id, c.attempts) for c in claims]),
            Delivery.state == DeliveryState.PENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Recorded:
    """What a recording committed: the ids recorded (not those whose claim was lost) and the
    write version it took (None: it changed nothing)."""

    ids: frozenset[int]
    version: int | None


async def record_on(
    connection: AsyncConnection, outcomes: Sequence[tuple[Claimed, Result]], retry: RetryPolicy
) -> Recorded:
    """Record outcomes on a connection a worker keeps, its write version moved on with them.

    On PostgreSQL the connection is in autocommit and the whole recording is one statement
    (one round trip: no BEGIN, no COMMIT, no pool checkout): the UPDATEs and the write
    version's are data-modifying CTEs of one SELECT. SQLite has no such CTEs: one short
    transaction (it has no round trips to save)."""
    groups = _alike(outcomes, retry, utcnow())
    if connection.dialect.name == "postgresql":
        rows = (await connection.execute(_recording_statement(groups))).all()
        return Recorded(frozenset(row[0] for row in rows), rows[0][1] if rows else None)
    async with connection.begin():
        ids: set[int] = set()
        for values, claims in groups:
            statement = _recording(values, claims).returning(Delivery.id)
            ids.update((await connection.scalars(statement)).all())
        version = await connection.scalar(_version_bump()) if ids else None
    return Recorded(frozenset(ids), version)


def _version_bump() -> Update:
    return (
        update(WriteVersion)
        .where(WriteVersion.id == 1)
        .values(value=WriteVersion.value + 1)
        .returning(WriteVersion.value)
    )


def _recording_statement(groups: list[tuple[dict[str, Any], list[Claimed]]]) -> Select[Any]:
    """WITH outcome_i AS (UPDATE delivery ... RETURNING id), ..., bump AS (UPDATE
    write_version ... WHERE some row was recorded RETURNING value) SELECT id, version."""
    parts = [
        _recording(values, claims).returning(Delivery.id).cte(f"outcome_{i}")
        for i, (values, claims) in enumerate(groups)
    ]
    done = union_all(*(select(part.c.id) for part in parts)).cte("done")
    bump = _version_bump().where(exists(select(done.c.id))).cte("bump")
    return select(done.c.id, bump.c.value).select_from(done.outerjoin(bump, true()))


async def oldest_undelivered_age(sessions: Sessions, now: datetime | None = None) -> float:
    """Seconds since the oldest pending delivery was written (0 when none waits)."""
    async with sessions() as session:
        oldest = await session.scalar(
            select(func.min(Delivery.created_at)).where(Delivery.state == DeliveryState.PENDING)
        )
    if oldest is None:
        return 0.0
    return max(0.0, ((now or utcnow()) - oldest).total_seconds())


# --- what admins see and do ------------------------------------------------------------------


async def deliveries_page(
    sessions: Sessions,
    viewer: Viewer,
    state: DeliveryState | None,
    channel: DeliveryChannel | None,
    request: PageRequest,
) -> Page | None:
    """Newest first; for those the policy lets manage deliveries, None for others."""
    if not policy.may_manage_deliveries(viewer):
        return None
    statement = select(*DELIVERY_COLUMNS)
    if state is not None:
        statement = statement.where(Delivery.state == state)
    if channel is not None:
        statement = statement.where(Delivery.channel == channel)
    return await fetch_page(sessions, statement, NEWEST_FIRST, request)


async def deliveries_by_ids(sessions: Sessions, viewer: Viewer, ids: list[int]) -> list[Any]:
    if not policy.may_manage_deliveries(viewer) or not ids:
        return []
    async with sessions() as session:
        return list(await session.execute(select(*DELIVERY_COLUMNS).where(Delivery.id.in_(ids))))


async def retry_dead_delivery(
    sessions: Sessions, viewer: Viewer, delivery_id: int | None
) -> Outcome[int]:
    """Send a dead delivery again, now, with a fresh count of attempts (same key: receivers
    that got it after all drop it)."""

    async def change(work: UnitOfWork) -> int:
        if delivery_id is None or not policy.may_manage_deliveries(viewer):
            raise Refused(NO_SUCH_DELIVERY)
        state = await work.session.scalar(
            select(Delivery.state).where(Delivery.id == delivery_id).with_for_update()
        )
        if state is None:
            raise Refused(NO_SUCH_DELIVERY)
        if state is not DeliveryState.DEAD:
            raise Refused(NOT_DEAD)
        await send_again(work.session, delivery_id)
        return delivery_id

    return await mutation(sessions, None, viewer, change)


async def send_again(session: AsyncSession, delivery_id: int) -> None:
    """Make a finished delivery due now, with a fresh count of attempts and the same key."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(state=DeliveryState.PENDING, attempts=0, due_at=utcnow(), finished_at=None)
        .execution_options(synchronize_session=False)
    )
