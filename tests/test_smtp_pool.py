"""The worker's SMTP connections (app/smtp_pool.py): kept open across messages, at most one per
concurrent send, opened again when the server dropped them; against a real SMTP server."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from urllib.parse import urlsplit

from app.smtp_pool import SmtpPool
from tests.mail import smtp_server


def message(n: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "hub@example.org"
    mail["To"] = f"member{n}@example.org"
    mail["Subject"] = f"Message {n}"
    mail["Message-ID"] = f"<delivery-{n}@hub.example.org>"
    mail.set_content(f"Body {n}")
    return mail


async def test_many_messages_go_over_as_many_connections_as_sends_at_once() -> None:
    with smtp_server() as (inbox, url):
        # given: a pool of two connections
        pool = SmtpPool(url, size=2)
        # when: twelve messages are sent, all at once, then two more one after the other
        await asyncio.gather(*(pool.send(message(n)) for n in range(12)))
        await pool.send(message(12))
        await pool.send(message(13))
        await pool.close()
    # then: every message arrived once, over two connections (two sign-ins), not fourteen
    assert sorted(str(m["Subject"]) for m in inbox.messages) == sorted(
        f"Message {n}" for n in range(14)
    )
    assert pool.opened == 2
    assert len(inbox.logins) == 2


async def test_a_connection_the_server_dropped_is_opened_again() -> None:
    with smtp_server() as (first, url):
        pool = SmtpPool(url, size=1)
        await pool.send(message(1))
    # the server went away with the kept connection, and came back on the same port
    port = urlsplit(url).port
    assert port is not None
    with smtp_server(port) as (second, _):
        await pool.send(message(2))
        await pool.close()
    assert [str(m["Subject"]) for m in first.messages] == ["Message 1"]
    assert [str(m["Subject"]) for m in second.messages] == ["Message 2"]
    assert pool.opened == 2
