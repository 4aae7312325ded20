"""The outbox (issue 14): a notification's email is written in its transaction, sent by a worker
to a real SMTP server, decided again at send time, retried, left dead for admins, and stopped
by a one-click unsubscribe link that works once."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import delete, func, select, update

from app.delivery import DeliveryWorker
from app.mail import list_maildir
from app.settings import Settings
from models.community import CommunityMember
from models.db import Database, create_database
from models.member import Member, Role
from models.outbox import Delivery, DeliveryChannel, DeliveryState
from resolvers.outbox import RetryPolicy
from schema.relay import decode_int_id
from tests.conftest import gql, make_settings
from tests.discussions import community, join, post, thread
from tests.mail import free_port, smtp_server

PREFERENCES = "{ viewer { notificationPreferences { kind email } } }"
UPDATE_PREFERENCES = """
mutation($p: [NotificationPreferenceInput!]) {
  updateNotificationPreferences(input: {preferences: $p}) {
    preferences { kind email } errors { field code } } }
"""
DELIVERIES = """
query($state: DeliveryState) { deliveries(state: $state) {
  nodes { id key channel state attempts lastError recipient { name } } } }
"""
RETRY = """
mutation($id: ID!) { retryDelivery(input: {deliveryId: $id}) {
  delivery { key state attempts } errors { field code } } }
"""


def worker_for(db: Database, settings: Settings) -> DeliveryWorker:
    return DeliveryWorker.from_settings(db, settings)


async def deliveries(db: Database) -> list[Delivery]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def a_reply_to(client: Any, factory: Any, body: str, **private: bool) -> tuple[Any, Any]:
    """A thread by `author` and a reply to it by the community's moderator: the author is
    notified (REPLY). Returns (author, moderator)."""
    community_id, moderator = await community(client, factory, **private)
    author = await factory.member(name="Thread Author")
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author)
    await post(client, thread_id, moderator, body)
    return author, moderator


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content()


async def test_a_reply_is_mailed_once_with_both_parts_thread_headers_and_unsubscribe(
    database_url, db, client, factory
):
    # given: a reply to a member's thread, written with Markdown and an attempt at HTML
    author, _ = await a_reply_to(
        client, factory, "# Findings\n\n**Bold** point <script>alert(1)</script>"
    )
    [delivery] = await deliveries(db)
    assert delivery.state is DeliveryState.PENDING
    assert delivery.address == author.email
    with smtp_server() as (inbox, url):
        settings = make_settings(database_url, smtp_url=url)
        sent_before = REGISTRY.get_sample_value(
            "hub_deliveries_total", {"channel": "email", "outcome": "sent"}
        )
        # when: the worker runs twice
        assert await worker_for(db, settings).run_round() == 1
        assert await worker_for(db, settings).run_round() == 0
    # then: one message, to the author, with both parts and the headers mail clients need
    assert len(inbox.messages) == 1
    assert inbox.recipients == [author.email]
    message = inbox.messages[0]
    assert message["Message-ID"] == f"<{delivery.key}@127.0.0.1>"
    assert message["In-Reply-To"] == message["References"]
    assert message["In-Reply-To"].startswith("<thread-")
    assert message["Subject"] == "Mod Erator replied in “Fair recruitment fees”"
    assert inbox.logins == ["hub"]  # HUB_SMTP_URL's credentials were used
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    assert "Findings\nBold point <script>alert(1)</script>" in text
    assert "**" not in text
    assert "# " not in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http://localhost:3000/thread/" in text
    assert 'href="http://localhost:3000/thread/' in html
    assert (
        REGISTRY.get_sample_value("hub_deliveries_total", {"channel": "email", "outcome": "sent"})
        == (sent_before or 0) + 1
    )
    [sent] = await deliveries(db)
    assert sent.state is DeliveryState.SENT
    assert sent.attempts == 1

    # when: the one-click unsubscribe is posted twice (RFC 8058)
    unsubscribe = urlsplit(message["List-Unsubscribe"].strip("<>"))
    assert (await client.get(unsubscribe.path)).status_code == 200  # a page, no change
    first = await client.post(unsubscribe.path, content="List-Unsubscribe=One-Click")
    second = await client.post(unsubscribe.path, content="List-Unsubscribe=One-Click")
    forged = await client.post(unsubscribe.path[:-2] + "xx")
    # then: it worked once, and the author gets no more replies by email
    assert (first.status_code, second.status_code, forged.status_code) == (200, 410, 404)
    mine = (await gql(client, PREFERENCES, member=author))["data"]["viewer"]
    assert {"kind": "REPLY", "email": "NEVER"} in mine["notificationPreferences"]


async def test_the_mutation_writes_the_delivery_and_never_sends_it_itself(db, client, factory):
    with smtp_server() as (inbox, _):
        # when: a reply notifies the author, no worker running
        await a_reply_to(client, factory, "A reply")
        # then: the delivery waits in the outbox, nothing was sent
        assert [d.state for d in await deliveries(db)] == [DeliveryState.PENDING]
        assert inbox.messages == []


async def test_preferences_choose_which_kinds_are_mailed(db, client, factory):
    member = await factory.member()
    other = await factory.member()
    defaults = (await gql(client, PREFERENCES, member=member))["data"]["viewer"]
    by_kind = {p["kind"]: p["email"] for p in defaults["notificationPreferences"]}
    assert by_kind["MENTION"] == by_kind["REPLY"] == by_kind["REVIEW_DECISION"] == "IMMEDIATE"
    assert by_kind["SUPPORT_REQUEST_UPDATE"] == by_kind["WEBINAR_REMINDER"] == "IMMEDIATE"
    assert by_kind["NEW_THREAD"] == "WEEKLY"

    changes = [{"kind": "REPLY", "email": "DAILY"}, {"kind": "NEW_THREAD", "email": "NEVER"}]
    payload = (await gql(client, UPDATE_PREFERENCES, {"p": changes}, member=member))["data"]
    updated = {
        p["kind"]: p["email"] for p in payload["updateNotificationPreferences"]["preferences"]
    }
    assert (updated["REPLY"], updated["NEW_THREAD"], updated["MENTION"]) == (
        "DAILY",
        "NEVER",
        "IMMEDIATE",
    )
    twice = [{"kind": "REPLY", "email": "DAILY"}, {"kind": "REPLY", "email": "NEVER"}]
    refused = (await gql(client, UPDATE_PREFERENCES, {"p": twice}, member=member))["data"]
    assert refused["updateNotificationPreferences"]["errors"] == [
        {"field": "preferences", "code": "INVALID"}
    ]
    anonymous = (await gql(client, UPDATE_PREFERENCES, {"p": changes}))["data"]
    assert anonymous["updateNotificationPreferences"]["errors"][0]["code"] == "UNAUTHENTICATED"
    # someone else's preferences read as nothing
    other_view = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Member { notificationPreferences { kind } } } }",
        {"id": member.global_id},
        member=other,
    )
    assert other_view["data"]["node"] == {"notificationPreferences": None}


async def test_a_member_who_wants_replies_daily_gets_no_immediate_mail(db, client, factory):
    community_id, moderator = await community(client, factory)
    author = await factory.member()
    await join(client, community_id, author)
    changes = [{"kind": "REPLY", "email": "DAILY"}]
    await gql(client, UPDATE_PREFERENCES, {"p": changes}, member=author)
    thread_id = await thread(client, community_id, author)
    await post(client, thread_id, moderator, "A reply")
    assert await deliveries(db) == []


@pytest.mark.parametrize("change", ["lost_access", "email_changed", "deleted", "unsubscribed"])
async def test_what_changed_between_write_and_send_drops_the_delivery(
    change, database_url, db, client, factory
):
    # given: a reply in a private community written to the outbox for its thread's author
    community_id, moderator = await community(client, factory, private=True)
    author = await factory.member(name="Thread Author")
    community_key = decode_int_id(community_id, "Community")
    async with db.sessions.begin() as session:
        session.add(CommunityMember(community_id=community_key, member_id=author.id))
    thread_id = await thread(client, community_id, author)
    await post(client, thread_id, moderator, "A reply only members may read")
    assert len(await deliveries(db)) == 1
    # when: before the worker sends it, the recipient ...
    async with db.sessions.begin() as session:
        if change == "lost_access":
            await session.execute(
                delete(CommunityMember).where(CommunityMember.member_id == author.id)
            )
        elif change == "email_changed":
            await session.execute(
                update(Member).where(Member.id == author.id).values(email="new@example.org")
            )
        elif change == "deleted":
            await session.execute(delete(Member).where(Member.id == author.id))
    if change == "unsubscribed":
        await gql(
            client, UPDATE_PREFERENCES, {"p": [{"kind": "REPLY", "email": "NEVER"}]}, member=author
        )
    with smtp_server() as (inbox, url):
        assert await worker_for(db, make_settings(database_url, smtp_url=url)).run_round() == 1
    # then: nothing is sent, to the old address or the new; the row says why
    assert inbox.messages == []
    [dropped] = await deliveries(db)
    assert dropped.state is DeliveryState.DROPPED
    reasons = {
        "lost_access": "may no longer see",
        "email_changed": "address changed",
        "deleted": "account was deleted",
        "unsubscribed": "no longer wants",
    }
    assert reasons[change] in (dropped.last_error or "")


async def test_failures_back_off_then_die_and_an_admin_retries(database_url, db, client, factory):
    admin = await factory.member(role=Role.ADMIN)
    author, moderator = await a_reply_to(client, factory, "A reply")
    # given: an SMTP server that does not answer, and two attempts allowed
    down = make_settings(
        database_url, smtp_url=f"smtp://127.0.0.1:{free_port()}", delivery_max_attempts=2
    )
    worker = worker_for(db, down)
    # when: the first attempt fails
    assert await worker.run_round() == 1
    [waiting] = await deliveries(db)
    # then: it waits, at least half the first backoff, before its next attempt
    assert waiting.state is DeliveryState.PENDING
    assert waiting.attempts == 1
    assert waiting.due_at - waiting.created_at >= timedelta(seconds=15)
    assert (waiting.last_error or "").startswith("SMTPConnectError")
    assert await worker.run_round() == 0  # not due yet
    async with db.sessions.begin() as session:  # its time comes
        await session.execute(update(Delivery).values(due_at=waiting.created_at))
    assert await worker.run_round() == 1
    [dead] = await deliveries(db)
    assert dead.state is DeliveryState.DEAD
    assert dead.attempts == 2

    # admins list the dead letters; others see nothing of the outbox
    listed = (await gql(client, DELIVERIES, {"state": "DEAD"}, member=admin))["data"]
    [node] = listed["deliveries"]["nodes"]
    assert (node["key"], node["channel"], node["attempts"]) == (dead.key, "EMAIL", 2)
    assert node["recipient"] == {"name": "Thread Author"}
    for someone in (author, moderator, None):
        body = await gql(client, DELIVERIES, {"state": "DEAD"}, member=someone)
        assert body["data"]["deliveries"] is None
        refused = (await gql(client, RETRY, {"id": node["id"]}, member=someone))["data"]
        assert refused["retryDelivery"]["delivery"] is None
        assert refused["retryDelivery"]["errors"][0]["code"] in ("NOT_FOUND", "UNAUTHENTICATED")
        by_node = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": node["id"]})
        assert by_node["data"]["node"] is None

    # when: an admin retries it and the server is back
    retried = (await gql(client, RETRY, {"id": node["id"]}, member=admin))["data"]["retryDelivery"]
    assert retried == {
        "delivery": {"key": dead.key, "state": "PENDING", "attempts": 0},
        "errors": [],
    }
    again = (await gql(client, RETRY, {"id": node["id"]}, member=admin))["data"]["retryDelivery"]
    assert again["errors"] == [{"field": "deliveryId", "code": "INVALID_TRANSITION"}]
    with smtp_server() as (inbox, url):
        assert await worker_for(db, make_settings(database_url, smtp_url=url)).run_round() == 1
    # then: it is sent, under the same delivery id
    assert [m["Message-ID"] for m in inbox.messages] == [f"<{dead.key}@127.0.0.1>"]


async def test_two_workers_share_the_outbox_and_send_each_mail_once(
    database_url, db, client, factory
):
    # given: 30 members mentioned
    community_id, moderator = await community(client, factory)
    members = [await factory.member(name=f"Reader {i}") for i in range(30)]
    for member in members:
        await join(client, community_id, member)
    thread_id = await thread(client, community_id, moderator)
    for half in (members[:15], members[15:]):  # a post mentions at most 20
        await post(
            client, thread_id, moderator, " ".join(f"@[{m.id}]({m.global_id})" for m in half)
        )
    assert len(await deliveries(db)) == 30
    other = create_database(database_url)
    try:
        with smtp_server() as (inbox, url):
            settings = make_settings(database_url, smtp_url=url, delivery_batch_size=7)
            workers = [worker_for(db, settings), worker_for(other, settings)]

            async def drain(worker: DeliveryWorker) -> None:
                while await worker.run_round():
                    pass

            # when: two workers (two pools, as two processes would) drain it at once
            await asyncio.gather(*(drain(w) for w in workers))
    finally:
        await other.dispose()
    # then: every member got exactly one message
    assert sorted(inbox.recipients) == sorted(m.email for m in members)
    assert len({m["Message-ID"] for m in inbox.messages}) == 30
    assert sum(w.handled for w in workers) == 30
    async with db.sessions() as session:
        sent = await session.scalar(
            select(func.count()).where(Delivery.state == DeliveryState.SENT)
        )
    assert sent == 30


async def test_without_smtp_mail_goes_to_a_maildir_listed_by_hub_mail_list(
    database_url, db, client, factory, tmp_path
):
    from tests.test_cli import env_for, hub

    author, _ = await a_reply_to(client, factory, "A reply")
    settings = make_settings(database_url, maildir_path=str(tmp_path / "mail"))
    assert await worker_for(db, settings).run_round() == 1
    [(_, to, subject)] = list_maildir(tmp_path / "mail")
    assert author.email in to
    assert "replied in" in subject
    result = await hub(
        "mail", "list", env=env_for(database_url, HUB_MAILDIR_PATH=str(tmp_path / "mail"))
    )
    assert result.exit_code == 0, result.output
    assert author.email in result.output
    assert "1 messages" in result.output


def test_backoff_grows_exponentially_with_jitter_up_to_its_cap():
    retry = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(hours=1))
    rng = random.Random(14)
    for attempt, ceiling in ((1, 30), (2, 60), (3, 120), (4, 240), (10, 3600)):
        delays = [retry.delay(attempt, rng).total_seconds() for _ in range(200)]
        assert all(ceiling / 2 <= d < ceiling for d in delays)
        assert len({round(d, 3) for d in delays}) > 100  # jittered, not all alike


async def test_server_processes_run_the_worker_and_send_each_mail_once(
    database_url, db, client, factory, tmp_path
):
    import contextlib

    from app.main import create_app

    # given: three members mentioned, and two server processes with their workers
    community_id, moderator = await community(client, factory)
    members = [await factory.member() for _ in range(3)]
    for member in members:
        await join(client, community_id, member)
    thread_id = await thread(client, community_id, moderator)
    await post(client, thread_id, moderator, " ".join(f"@[x]({m.global_id})" for m in members))
    assert len(await deliveries(db)) == 3
    maildir = tmp_path / "mail"
    settings = make_settings(database_url, delivery_poll_seconds=0.01, maildir_path=str(maildir))

    async def serve_until(apps: list[Any], rounds: int) -> None:
        async with asyncio.timeout(20), contextlib.AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            # polling another task's counter: nothing to await on
            while min(a.state.delivery_worker.rounds for a in apps) < rounds:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    # when: both serve for a while, then one restarts
    await serve_until([create_app(settings), create_app(settings)], rounds=3)
    await serve_until([create_app(settings)], rounds=3)
    # then: each member got one message
    recipients = sorted(parseaddr(to)[1] for _, to, _ in list_maildir(maildir))
    assert recipients == sorted(m.email for m in members)


async def test_hub_worker_delivers_alone(database_url, db, client, factory, tmp_path):
    from tests.test_cli import env_for, hub

    await a_reply_to(client, factory, "A reply")
    env = env_for(database_url, HUB_MAILDIR_PATH=str(tmp_path / "mail"))
    result = await hub("worker", "--rounds", "2", env=env)
    assert result.exit_code == 0, result.output
    assert "handled 1 deliveries" in result.output
    assert len(list_maildir(tmp_path / "mail")) == 1


async def test_the_oldest_undelivered_age_is_measured(database_url, db, client, factory):
    def oldest() -> float | None:
        return REGISTRY.get_sample_value("hub_oldest_undelivered_seconds")

    await a_reply_to(client, factory, "A reply")
    down = make_settings(database_url, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    assert await worker_for(db, down).run_round() == 1
    assert (oldest() or 0) > 0  # it failed and waits
    async with db.sessions.begin() as session:
        await session.execute(update(Delivery).values(due_at=Delivery.created_at))
    with smtp_server() as (_, url):
        assert await worker_for(db, make_settings(database_url, smtp_url=url)).run_round() == 1
    assert oldest() == 0


async def test_a_delivery_that_cannot_be_read_fails_and_ends_dead(database_url, db, factory):
    # given: a digest row without its period (as a bug might write it)
    member = await factory.member()
    async with db.sessions.begin() as session:
        session.add(
            Delivery(
                channel=DeliveryChannel.DIGEST,
                member_id=member.id,
                address=member.email,
                payload={},
            )
        )
    settings = make_settings(database_url, delivery_max_attempts=1)
    # when
    assert await worker_for(db, settings).run_round() == 1
    # then: it is dead with the reason, not claimed again and again
    [dead] = await deliveries(db)
    assert dead.state is DeliveryState.DEAD
    assert dead.last_error == "internal error: KeyError"


async def test_workers_writing_the_first_mail_at_once_all_land(tmp_path):
    """Two workers (threads) creating the Maildir at once: mailbox.Maildir checks, then makes,
    so one of them used to fail with FileExistsError and wait for its retry."""
    from email.message import EmailMessage

    from app.mail import MaildirSender

    def message(number: int) -> EmailMessage:
        mail = EmailMessage()
        mail["To"] = f"member-{number}@example.org"
        mail["Subject"] = "At once"
        mail.set_content("Both land.")
        return mail

    for attempt in range(10):  # each round a new folder, created by 16 senders at once
        sender = MaildirSender(tmp_path / f"mail-{attempt}")
        await asyncio.gather(*(sender.send(message(n)) for n in range(16)))
        assert len(list_maildir(sender.path)) == 16
