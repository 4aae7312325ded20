"""Telling the followers of topics, later (issue 14): publishing does not write ten thousand
notifications itself. It writes ONE job to the outbox (a `delivery` row of channel FANOUT, in
the publishing transaction: committed with the publication or not at all), and the workers
expand it in batches of members, keyset over member id.

Each batch is one transaction: `notify()` for its members (the policy asked now, at expansion
time; emails and push messages written as for any notification) and the job's progress, the
last member id it covered. A worker killed between batches leaves the job to another once its
lease ends, which resumes after that member: nothing is written twice, nothing is skipped. A
batch also holds the job's row (`FOR UPDATE`) and checks that its claim is still the current
one, and a notification names its job, unique per member (`uq_notification_fanout_job_member_id`),
so a batch written twice would fail instead of telling anyone twice. The live events of a
batch are published once it has committed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.notification import NotificationKind, TopicFollow, TopicKind
from models.outbox import Delivery, DeliveryChannel, DeliveryState
from resolvers.notifications import notify
from resolvers.outbox import Claimed, Failed, Progressed, Result, Sent
from resolvers.unit_of_work import UnitOfWork, unit_of_work
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

BATCH_SIZE = 1_000  # members per batch (one transaction; notify() pages checks by 5,000)
CLAIM_LOST = Failed("another worker holds this job now")


@dataclass(frozen=True)
class FollowerNews:
    """What a job tells: `kind` about `subject` to the followers of `topics`, from `actor_id`
    (never told), `excluded` aside (an item's author)."""

    topics: tuple[tuple[TopicKind, str], ...]
    kind: NotificationKind
    subject: dict[str, Any]
    actor_id: int | None
    excluded: int | None

    def payload(self) -> dict[str, Any]:
        return {
            "topics": [[kind.value, key] for kind, key in self.topics],
            "kind": self.kind.value,
            "subject": self.subject,
            "actor": self.actor_id,
            "excluded": self.excluded,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> FollowerNews:
        return cls(
            topics=tuple((TopicKind(kind), str(key)) for kind, key in payload["topics"]),
            kind=NotificationKind(payload["kind"]),
            subject=dict(payload["subject"]),
            actor_id=payload["actor"],
            excluded=payload["excluded"],
        )


def follows_any(topics: Iterable[tuple[TopicKind, str]]) -> ColumnElement[bool]:
    """The follows of any of `topics` (false for none)."""
    by_kind: dict[TopicKind, set[str]] = {}
    for kind, key in topics:
        by_kind.setdefault(kind, set()).add(key)
    matches = [
        and_(TopicFollow.topic == kind, TopicFollow.key.in_(sorted(keys)))
        for kind, keys in by_kind.items()
    ]
    return or_(*matches) if matches else false()


async def tell_followers_later(work: UnitOfWork, news: FollowerNews) -> None:
    """Write the job that tells `news` to its followers, in the caller's transaction: one row
    (and one statement to see whether anyone else follows those topics), however many do."""
    untold = {news.actor_id, news.excluded} - {None}
    someone = await work.session.scalar(
        select(TopicFollow.id)
        .where(follows_any(news.topics), TopicFollow.member_id.not_in(untold))
        .limit(1)
    )
    if someone is not None:
        work.deliver(Delivery(channel=DeliveryChannel.FANOUT, payload=news.payload()))


async def expand_batch(
    sessions: Sessions, events: EventPublisher, claimed: Claimed, size: int = BATCH_SIZE
) -> Result:
    """Tell the next `size` followers of a claimed job, in one transaction with the job's
    progress; Sent once every follower was covered, else Progressed (due again at once)."""
    news = FollowerNews.from_payload(claimed.payload)
    async with unit_of_work(sessions, events) as work:
        after = await _progress_of_held_job(work.session, claimed)
        if after is None:
            return CLAIM_LOST
        members = await _next_followers(work.session, news.topics, after, size)
        if members:
            await notify(
                work,
                set(members) - {news.excluded},
                news.kind,
                actor_id=news.actor_id,
                subject=news.subject,
                fanout_job=claimed.id,
            )
            await work.session.execute(
                update(Delivery)
                .where(Delivery.id == claimed.id)
                .values(last_member_id=members[-1])
                .execution_options(synchronize_session=False)
            )
    return Sent() if len(members) < size else Progressed()


async def _progress_of_held_job(session: AsyncSession, claimed: Claimed) -> int | None:
    """The job's progress (0: none yet), its row locked until the batch commits; None when the
    claim is no longer this worker's (its lease ended and another claimed the job)."""
    row = (
        await session.execute(
            select(Delivery.last_member_id, Delivery.attempts)
            .where(Delivery.id == claimed.id, Delivery.state == DeliveryState.PENDING)
            .with_for_update()
        )
    ).first()
    if row is None or row.attempts != claimed.attempts:
        return None
    return row.last_member_id or 0


async def _next_followers(
    session: AsyncSession, topics: Sequence[tuple[TopicKind, str]], after: int, size: int
) -> list[int]:
    """The next `size` members, in id order after `after`, who follow any of `topics`."""
    return list(
        await session.scalars(
            select(TopicFollow.member_id)
            .where(follows_any(topics), TopicFollow.member_id > after)
            .distinct()
            .order_by(TopicFollow.member_id)
            .limit(size)
        )
    )
