"""The webinar reminder job: a task of the server process, started and stopped by the lifespan.
Every process may run it; the claim rows make each reminder go out once (see
resolvers/webinar_reminders.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from broadcaster import Broadcast

from models.db import Database
from resolvers.webinar_reminders import send_due_reminders
from subscriptions.events import EventPublisher

logger = logging.getLogger("hub.reminders")


@dataclass
class ReminderJob:
    """Runs a round every `interval` seconds; `rounds` and `sent` count what it did."""

    db: Database
    broadcast: Broadcast
    interval: float
    rounds: int = 0
    sent: int = 0

    async def run(self) -> None:
        publisher = EventPublisher(self.broadcast)
        while True:
            try:
                self.sent += await send_due_reminders(self.db.sessions, publisher)
            except Exception:
                # A database hiccup must not end the job: the next round catches up.
                logger.exception("webinar reminders: round failed, retrying next round")
            self.rounds += 1
            await asyncio.sleep(self.interval)
