"""SMTP over kept connections, for the outbox's worker: a message costs MAIL, RCPT and DATA
on a connection already open, instead of connecting, greeting, signing in and quitting each
time (a worker sending thousands of notification emails spent most of its round trips, and
the server most of its work, on those).

Each of the worker's concurrent sends takes an idle connection, or opens one (at most `size`
at once), and puts it back after a success. A connection that fails is closed, never reused;
a kept connection the server closed meanwhile (an idle timeout) is opened again once, before
anything was sent on it, so that its message does not wait for the outbox's retry."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from app.mail import SmtpSender, smtp_options


@dataclass
class SmtpPool:
    url: str
    size: int = 8
    timeout: float = 30.0
    # How many connections were opened (for the tests and the benchmark).
    opened: int = 0
    _idle: list[aiosmtplib.SMTP] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None

    @classmethod
    def replacing(cls, sender: SmtpSender, size: int) -> SmtpPool:
        return cls(sender.url, size=size, timeout=sender.timeout)

    async def send(self, message: EmailMessage) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            client = await self._take()
            try:
                await client.send_message(message)
            except aiosmtplib.SMTPServerDisconnected:
                # A kept connection the server dropped: nothing was accepted on it. Once more
                # on a new one (which, if it fails too, fails this attempt).
                client.close()
                client = await self._open()
                await self._send_or_close(client, message)
            except BaseException:
                client.close()
                raise
            self._idle.append(client)

    async def _send_or_close(self, client: aiosmtplib.SMTP, message: EmailMessage) -> None:
        try:
            await client.send_message(message)
        except BaseException:
            client.close()
            raise

    async def _take(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
            client.close()
        return await self._open()

    async def _open(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(**smtp_options(self.url, self.timeout))
        await client.connect()
        self.opened += 1
        return client

    async def close(self) -> None:
        """Quit every idle connection (the worker is stopping)."""
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
