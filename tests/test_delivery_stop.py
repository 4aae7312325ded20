"""A server or a `hub worker` that stops lets the worker's round in progress end: the message
being sent is sent and recorded (not left claimed until its lease ends, to be sent again), and
the kept SMTP connections are closed with QUIT. Against a real SMTP server that answers slowly,
so that the stop comes while a message is on the wire."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from app.main import create_app
from models.db import Database
from models.outbox import DeliveryState
from tests.conftest import make_settings
from tests.mail import Inbox, smtp_server
from tests.test_cli import env_for
from tests.test_outbox import a_reply_to, deliveries

ANSWER_AFTER = 0.5  # seconds the SMTP server takes before accepting a message


class SlowInbox(Inbox):
    """Accepts each message ANSWER_AFTER seconds after its data arrived; `receiving` is set
    when the first arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = threading.Event()  # set on the server's own thread

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.sleep(ANSWER_AFTER)
        return await super().handle_DATA(server, session, envelope)


async def sent_once(db: Database, inbox: Inbox) -> None:
    (delivery,) = await deliveries(db)
    assert delivery.state is DeliveryState.SENT
    assert len(inbox.messages) == 1
    assert inbox.quits == 1  # the kept connection ended with QUIT, not dropped


async def test_a_stopping_server_lets_the_round_end_and_quits_its_smtp_connections(
    database_url, db, client, factory
):
    # given: a server whose worker is sending a notification's email
    await a_reply_to(client, factory, "A reply")
    inbox = SlowInbox()
    with smtp_server(inbox=inbox) as (_, url):
        settings = make_settings(database_url, delivery_poll_seconds=0.01, smtp_url=url)
        app = create_app(settings)
        async with asyncio.timeout(20), app.router.lifespan_context(app):
            assert await asyncio.to_thread(inbox.receiving.wait, 15)
            # when: the server stops while the message is on the wire
        # then: it was sent once and recorded as sent, and the connection was quit
        await sent_once(db, inbox)


async def test_hub_worker_ends_its_round_on_sigterm(database_url, db, client, factory):
    # given: `hub worker` sending a notification's email
    await a_reply_to(client, factory, "A reply")
    inbox = SlowInbox()
    with smtp_server(inbox=inbox) as (_, url):
        env = {
            **os.environ,
            **env_for(database_url, HUB_SMTP_URL=url, HUB_DELIVERY_POLL_SECONDS="0.05"),
        }
        hub = str(Path(sys.executable).with_name("hub"))
        worker = await asyncio.create_subprocess_exec(
            hub, "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            assert await asyncio.to_thread(inbox.receiving.wait, 30)
            # when: it is told to stop while the message is on the wire
            worker.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                output, _ = await worker.communicate()
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        # then: it ended by itself, having sent the message once and recorded it
        assert worker.returncode == 0, output.decode()
        assert "handled 1 deliveries" in output.decode()
        await sent_once(db, inbox)
