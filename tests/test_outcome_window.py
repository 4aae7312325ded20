"""The duplicate window (issue 14): a message the SMTP server accepted is sent again after its
lease if the worker dies before its outcome is committed. What lies between the server's 250
and the committed outcome is counted here, not timed: the outcome's statement leaves before the
event loop runs anything else, on the connection the round keeps (no pool checkout), as one
statement on PostgreSQL (no BEGIN or COMMIT round trips)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import event, select

from app.delivery import DeliveryWorker
from app.outcome_writer import OutcomeWriter
from models.community import Community, CommunityMember, CommunityVisibility
from models.db import Database
from models.member import Member
from models.notification import NotificationKind
from models.outbox import Delivery, DeliveryChannel, DeliveryState
from resolvers import notifications, outbox
from resolvers.outbox import RetryPolicy, Sent
from resolvers.unit_of_work import unit_of_work
from tests.conftest import make_settings
from tests.mail import Inbox, smtp_server

Trace = list[str]


class TracingInbox(Inbox):
    """The sink notes each acceptance in the trace before it answers 250."""

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.trace.append("accepted")
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def traced(db: Database, trace: Trace) -> Iterator[None]:
    """Note in `trace` each statement (its first words), transaction begun and connection
    checked out of the pool."""
    engine = db.engine.sync_engine

    def statement(_conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        trace.append("statement " + " ".join(text.split()[:3]).upper())

    def begun(_conn: Any) -> None:
        trace.append("begin")

    def checked_out(*_: Any) -> None:
        trace.append("checkout")

    listeners = [
        (engine, "before_cursor_execute", statement),
        (engine, "begin", begun),
        (engine.pool, "checkout", checked_out),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


async def moderation_notices(db: Database, members: int) -> None:
    """`members` members of a public community, each emailed a moderation notice."""
    async with db.sessions.begin() as session:
        people = [
            Member(name=f"Reader {i}", email=f"window-{i}@example.org", password_hash="-")
            for i in range(members + 1)
        ]
        session.add_all(people)
        community = Community(slug="window", name="Window", visibility=CommunityVisibility.PUBLIC)
        session.add(community)
        await session.flush()
        session.add_all(CommunityMember(community_id=community.id, member_id=p.id) for p in people)
        moderator, *readers = people
    async with unit_of_work(db.sessions, None) as work:
        await notifications.notify(
            work,
            [r.id for r in readers],
            NotificationKind.MODERATION,
            actor_id=moderator.id,
            subject={"community": community.id, "reason": "window"},
        )
        work.events.clear()  # no subscribers in this test


def between_acceptances(trace: Trace) -> list[Trace]:
    """What the worker did from each acceptance to the next."""
    starts = [i for i, step in enumerate(trace) if step == "accepted"]
    return [trace[a + 1 : b] for a, b in pairwise(starts)]


async def test_between_two_acceptances_the_worker_only_records_the_outcome(database_url, db):
    trace: Trace = []
    with smtp_server(inbox=TracingInbox(trace)) as (inbox, url):
        # given: a worker sending one message at a time, and 4 notices to send
        settings = make_settings(database_url, smtp_url=url, delivery_concurrency=1)
        worker = DeliveryWorker.from_settings(db, settings)
        assert await worker.run_round() == 0  # its first round writes the digests due, if any
        await moderation_notices(db, 4)
        # when: it sends them
        with traced(db, trace):
            assert await worker.run_round() == 4
    # then: from one acceptance to the next (the 250, the outcome committed, the next send),
    # the worker checked no connection out and ran only the outcome's statement: one on
    # PostgreSQL, in autocommit; on SQLite a short transaction of two (no round trips there)
    assert len(inbox.messages) == 4
    windows = between_acceptances(trace)
    assert len(windows) == 3
    if db.is_sqlite:
        recording = ["begin", "statement UPDATE DELIVERY SET", "statement UPDATE WRITE_VERSION SET"]
    else:
        recording = ["statement WITH OUTCOME_0 AS"]
    assert windows == [recording] * 3, trace
    async with db.sessions() as session:
        states = set(await session.scalars(select(Delivery.state)))
    assert states == {DeliveryState.SENT}


async def test_an_outcome_leaves_before_the_event_loop_runs_anything_else(db):
    # given: two claimed deliveries, and a writer keeping its connection (as a round does)
    async with db.sessions.begin() as session:
        member = Member(name="M", email="loop@example.org", password_hash="-")
        session.add(member)
        await session.flush()
        session.add_all(
            Delivery(channel=DeliveryChannel.EMAIL, member_id=member.id, address=member.email)
            for _ in range(2)
        )
    first, second = await outbox.claim_due(db.sessions, limit=2, lease=timedelta(minutes=5))
    writer = OutcomeWriter(db, RetryPolicy())
    trace: Trace = []
    async with writer.kept():
        assert await writer.record(first, Sent())
        # when: something else is ready to run (another send's step) as an outcome arrives
        asyncio.get_running_loop().call_soon(trace.append, "the loop ran something else")
        with traced(db, trace):
            assert await writer.record(second, Sent())
    # then: its statement was issued first, on the kept connection (SQLite: its transaction
    # began first; aiosqlite then hops to its thread for the cursor, a yield of the driver's)
    first = "begin" if db.is_sqlite else "statement WITH OUTCOME_0 AS"
    assert trace[:2] == [first, "the loop ran something else"], trace
    assert "checkout" not in trace


async def test_a_round_sends_nothing_once_its_lease_is_over(database_url, db):
    with smtp_server() as (inbox, url):
        # given: 3 notices, and a worker whose rounds outlast their lease (here: one of 0 s)
        worker = DeliveryWorker.from_settings(db, make_settings(database_url, smtp_url=url))
        assert await worker.run_round() == 0  # its first round writes the digests due, if any
        await moderation_notices(db, 3)
        worker.lease = timedelta(0)
        # when: it claims them
        assert await worker.run_round() == 3
        # then: it sent none (another worker may have claimed them again meanwhile), and they
        # are due for the next claim, this attempt counted
        assert inbox.messages == []
        async with db.sessions() as session:
            rows = (await session.execute(select(Delivery.state, Delivery.attempts))).all()
        assert sorted(rows) == [(DeliveryState.PENDING, 1)] * 3
        # and a worker within its lease sends them
        worker.lease = timedelta(minutes=5)
        assert await worker.run_round() == 3
    assert len(inbox.messages) == 3
