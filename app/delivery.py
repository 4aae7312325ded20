"""The outbox's worker: a task of every `hub serve` process (and the whole of `hub worker`).
It claims due deliveries, decides each one again at send time (resolvers/), hands it to its
channel's sender and records the outcome. Any number of workers share the outbox on
PostgreSQL (SKIP LOCKED claims); on SQLite, run one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

from app.mail import (
    SEND_ERRORS,
    MailConfig,
    MailSender,
    SmtpSender,
    compose,
    compose_digest,
    mail_sender,
)
from app.outcome_writer import OutcomeWriter
from app.push import Gone, PushSender, push_sender
from app.settings import Settings
from app.smtp_pool import SmtpPool
from app.webhooks import WebhookSender
from models.base import utcnow
from models.db import Database
from models.outbox import DeliveryChannel
from resolvers import outbox
from resolvers.digests import DigestFacts, ended_periods, prepare_digests, schedule_digests
from resolvers.email_deliveries import EmailFacts, prepare_emails
from resolvers.outbox import Claimed, Dropped, Failed, Progressed, Result, RetryPolicy, Sent
from resolvers.push_deliveries import PushFacts, forget, prepare_pushes
from resolvers.topic_fanout import BATCH_SIZE, expand_batch
from resolvers.webhooks import WebhookCall, prepare_webhooks
from subscriptions import metrics
from subscriptions.events import EventPublisher
from subscriptions.tasks import stop_task

logger = logging.getLogger("hub.delivery")
# A delivery is sent only while at least a fifth of its lease is left (its send and record
# must end before another worker may claim it again).
LEASE_USED = 0.8
# How long a stopping server or worker lets the round in progress end (its messages sent and
# recorded) before cancelling it: a cancelled round's claimed rows wait for their lease, and a
# message accepted but not recorded is sent again.
STOP_GRACE_SECONDS = 10.0


@dataclass
class DeliveryWorker:
    """Runs rounds every `interval` seconds (at once again while a round fills its batch);
    `rounds` and `handled` count what it did."""

    db: Database
    mail: MailSender
    config: MailConfig
    webhooks: WebhookSender
    retry: RetryPolicy
    # None: push is off (no VAPID key), and push deliveries fail until it is configured.
    push: PushSender | None = None
    # Publishes the live events of the notifications a fan-out job writes (None: such jobs
    # fail until there is one).
    events: EventPublisher | None = None
    batch_size: int = 50
    fanout_batch_size: int = BATCH_SIZE
    lease: timedelta = timedelta(minutes=5)
    interval: float = 1.0
    concurrency: int = 8
    rounds: int = 0
    handled: int = 0
    # The periods whose digests this worker wrote: a restart writes them again (the digests'
    # keys make that a no-op), then only a new day or week does.
    digests_scheduled: tuple[str, ...] | None = None
    outcomes: OutcomeWriter = field(init=False)
    stopping: asyncio.Event = field(init=False)

    def __post_init__(self) -> None:
        self.outcomes = OutcomeWriter(self.db, self.retry)
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """End `run` after the round in progress, not in the middle of it."""
        self.stopping.set()

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, events: EventPublisher | None = None
    ) -> DeliveryWorker:
        return cls(
            db=db,
            mail=_kept_connections(mail_sender(settings), settings.delivery_concurrency),
            config=MailConfig.from_settings(settings),
            webhooks=WebhookSender(
                settings.webhook_rules(), web_base_url=settings.web_base_url.rstrip("/")
            ),
            push=push_sender(settings),
            events=events,
            fanout_batch_size=settings.delivery_fanout_batch_size,
            retry=RetryPolicy(
                max_attempts=settings.delivery_max_attempts,
                base=timedelta(seconds=settings.delivery_retry_base_seconds),
            ),
            batch_size=settings.delivery_batch_size,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            interval=settings.delivery_poll_seconds,
            concurrency=settings.delivery_concurrency,
        )

    async def run(self) -> None:
        """Rounds until `stop`."""
        while not self.stopping.is_set():
            try:
                full = await self.run_round() == self.batch_size
            except Exception:
                # A database hiccup must not end the worker: the next round catches up.
                logger.exception("delivery: round failed, retrying next round")
                full = False
            if not full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self.interval or 1.0)

    async def finish(self, task: asyncio.Task[None]) -> None:
        """Stop `task` (running `run`): its round may end within STOP_GRACE_SECONDS, then it
        is cancelled; the kept SMTP connections are closed either way."""
        self.stop()
        await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        await stop_task(task)
        await self.close()

    async def run_round(self) -> int:
        """Claim a batch of due deliveries and handle each; returns how many were claimed.
        When a day or a week has ended, first write its digests."""
        now = utcnow()
        periods = ended_periods(now)
        if periods != self.digests_scheduled:
            await schedule_digests(self.db.sessions, now)
            self.digests_scheduled = periods
        lease_over = time.monotonic() + self.lease.total_seconds() * LEASE_USED
        claimed = await outbox.claim_due(self.db.sessions, limit=self.batch_size, lease=self.lease)
        prepared = await self._prepare(claimed)
        # Sending waits on the network: a round's deliveries go out side by side, a few at a time.
        limit = asyncio.Semaphore(self.concurrency)

        async def handle(delivery: Claimed) -> None:
            # A send keeps its place until its outcome is committed: at most `concurrency`
            # messages are ever sent and not yet recorded (sent again if the worker dies). The
            # outcome leaves before the loop runs anything else (app/outcome_writer.py).
            async with limit:
                if time.monotonic() >= lease_over:
                    # Another worker may hold it now: it is its to send (a slow round would
                    # send it a second time, as a killed worker's unrecorded ones are).
                    metrics.DELIVERIES.labels(delivery.channel.value.lower(), "lease_over").inc()
                    return
                result = await self._attempt(delivery, prepared.get(delivery.id))
                await self._record(delivery, result)

        if claimed:
            async with self.outcomes.kept():
                await asyncio.gather(*(handle(delivery) for delivery in claimed))
        self.rounds += 1
        self.handled += len(claimed)
        metrics.OLDEST_UNDELIVERED_SECONDS.set(
            await outbox.oldest_undelivered_age(self.db.sessions)
        )
        return len(claimed)

    async def close(self) -> None:
        """Quit the kept SMTP connections (the worker is stopping)."""
        if isinstance(self.mail, SmtpPool):
            await self.mail.close()

    async def _prepare(self, claimed: list[Claimed]) -> dict[int, Prepared]:
        """What the batch's emails, push messages and webhook calls say, or why each is
        dropped: read and decided for the whole batch in a few statements (visibility
        included), and the emails composed, before anything is sent (no statement and little
        work between a message's acceptance and its record)."""
        emails = [c for c in claimed if c.channel is DeliveryChannel.EMAIL]
        digests = [c for c in claimed if c.channel is DeliveryChannel.DIGEST]
        pushes = [c for c in claimed if c.channel is DeliveryChannel.PUSH]
        webhooks = [c for c in claimed if c.channel is DeliveryChannel.WEBHOOK]
        prepared: dict[int, Prepared] = {}
        try:
            for delivery_id, facts in (await prepare_emails(self.db.sessions, emails)).items():
                prepared[delivery_id] = self._composed(facts)
            for delivery_id, digest in (await prepare_digests(self.db.sessions, digests)).items():
                prepared[delivery_id] = self._composed(digest)
            if self.push is not None:
                prepared.update(await prepare_pushes(self.db.sessions, pushes))
            prepared.update(await prepare_webhooks(self.db.sessions, webhooks))
        except Exception as error:
            # As for one delivery (`_attempt`): the batch's attempts fail and end dead in the
            # end, instead of coming back with every lease.
            logger.exception("delivery: cannot prepare a batch of %d", len(claimed))
            failed = Failed(f"internal error: {type(error).__name__}")
            everything = [*emails, *digests, *pushes, *webhooks]
            prepared.update({c.id: failed for c in everything if c.id not in prepared})
        return prepared

    def _composed(
        self, facts: EmailFacts | DigestFacts | Dropped
    ) -> EmailMessage | Dropped | Failed:
        if isinstance(facts, Dropped):
            return facts
        try:
            if isinstance(facts, DigestFacts):
                return compose_digest(self.config, facts)
            return compose(self.config, facts)
        except Exception as error:
            logger.exception("delivery %s: cannot compose", facts.recipient.delivery_key)
            return Failed(f"internal error: {type(error).__name__}")

    async def _attempt(self, claimed: Claimed, prepared: Prepared | None) -> Result:
        try:
            return await self._deliver(claimed, prepared)
        except Exception as error:
            # A bug or an unreadable row fails this attempt like any other failure, so that it
            # ends dead (for an admin to see) instead of coming back with every lease.
            logger.exception("delivery %s: internal error", claimed.key)
            return Failed(f"internal error: {type(error).__name__}")

    async def _record(self, claimed: Claimed, result: Result) -> None:
        """Record the outcome with the writer's next commit (as soon as it is known)."""
        recorded = await self.outcomes.record(claimed, result)
        outcome = _outcome(result, claimed, self.retry) if recorded else "lost"
        if isinstance(result, Failed):
            logger.warning("delivery %s (%s) failed: %s", claimed.key, outcome, result.error)
        metrics.DELIVERIES.labels(claimed.channel.value.lower(), outcome).inc()

    async def _deliver(self, claimed: Claimed, prepared: Prepared | None) -> Result:
        if claimed.channel is DeliveryChannel.FANOUT:
            return await self._expand(claimed)
        if claimed.channel is DeliveryChannel.WEBHOOK:
            return await self._call(prepared)  # prepared with the batch's (`_prepare`)
        if claimed.channel is DeliveryChannel.PUSH:
            return await self._push(prepared)
        if claimed.channel in (DeliveryChannel.EMAIL, DeliveryChannel.DIGEST):
            return await self._mail(prepared)  # composed with the batch's (`_prepare`)
        return Failed(f"no sender for {claimed.channel.value} deliveries yet")

    async def _mail(self, message: Prepared | None) -> Result:
        if not isinstance(message, EmailMessage):
            return message if isinstance(message, Dropped | Failed) else Failed("nothing composed")
        try:
            await self.mail.send(message)
        except SEND_ERRORS as error:
            return Failed(f"{type(error).__name__}: {error}")
        return Sent()

    async def _call(self, call: Prepared | None) -> Result:
        if not isinstance(call, WebhookCall):
            return call if isinstance(call, Dropped | Failed) else Failed("nothing prepared")
        return await self.webhooks.send(call)

    async def _expand(self, claimed: Claimed) -> Result:
        """A batch of a fan-out job (resolvers/topic_fanout.py)."""
        if self.events is None:
            return Failed("fan-out jobs need an event publisher: none was given to this worker")
        return await expand_batch(self.db.sessions, self.events, claimed, self.fanout_batch_size)

    async def _push(self, facts: Prepared | None) -> Result:
        if self.push is None:
            return Failed("push is not configured (HUB_VAPID_PRIVATE_KEY)")
        if not isinstance(facts, PushFacts):
            return facts if isinstance(facts, Dropped | Failed) else Failed("nothing prepared")
        result = await self.push.send(facts)
        if isinstance(result, Gone):
            await forget(self.db.sessions, result.subscription_id)
        return result


# What a claimed batch's email, push or webhook delivery became before sending.
Prepared = EmailMessage | PushFacts | WebhookCall | Dropped | Failed


def _kept_connections(sender: MailSender, size: int) -> MailSender:
    """SMTP through connections kept open across messages, one per concurrent send."""
    return SmtpPool.replacing(sender, size) if isinstance(sender, SmtpSender) else sender


def _outcome(result: Result, claimed: Claimed, retry: RetryPolicy) -> str:
    if isinstance(result, Sent):
        return "sent"
    if isinstance(result, Dropped):
        return "dropped"
    if isinstance(result, Progressed):
        return "progressed"
    return "dead" if retry.exhausted(claimed.attempts) else "retry"


async def run_worker(settings: Settings, rounds: int | None = None) -> int:
    """`hub worker`: the worker alone, in a process of its own; returns what it handled."""
    from app.response_cache import ResponseCache
    from models.db import create_database
    from subscriptions.broadcast import create_broadcast

    db = create_database(
        settings.database_url,
        statement_timeout_ms=settings.statement_timeout_ms,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    # Its writes are announced to the servers' response caches, which otherwise find their
    # versions missing and drop everything (app/response_cache.py).
    broadcast = create_broadcast(settings.broadcast_url, namespace=settings.broadcast_namespace)
    await broadcast.connect()
    announcer = ResponseCache(0, settings.response_cache_ttl_seconds, 0)
    announcer.announce(broadcast)
    db.write_listeners.append(announcer.committed)
    worker = DeliveryWorker.from_settings(db, settings, EventPublisher(broadcast))
    try:
        if rounds is None:
            await _run_until_signalled(worker)
        for _ in range(rounds or 0):
            await worker.run_round()
    finally:
        await worker.close()
        await announcer.close()
        await broadcast.disconnect()
        await db.dispose()
    return worker.handled


async def _run_until_signalled(worker: DeliveryWorker) -> None:
    """`hub worker` without `--rounds`: rounds until SIGTERM or SIGINT, which let the round in
    progress end (`DeliveryWorker.finish`)."""
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(worker.run(), name="delivery")
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, worker.stop)
    try:
        await asyncio.wait({task})
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await worker.finish(task)
