"""Daily and weekly digests: the notifications of the kinds a member chose to get gathered,
grouped by community and kind, once per period.

Once a period (a UTC day, an ISO week) is over, each member with notifications in it of a kind
they want at that frequency gets a DIGEST delivery whose key names the member and the period:
the key is unique, so any number of workers, and restarts, write it once. At send time the
digest is decided again: the recipient still there at the same address, the kinds still
wanted, each notification still visible to them; a digest left empty is dropped, not sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import upsert
from models.member import Member
from models.notification import Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel, EmailFrequency
from resolvers import policy
from resolvers.email_deliveries import Recipient, recipient_of
from resolvers.email_preferences import frequencies, frequency_choices
from resolvers.notification_facts import NotificationFacts, facts_for
from resolvers.notification_titles import Title
from resolvers.outbox import Claimed, Dropped

Sessions = async_sessionmaker[AsyncSession]

DIGEST_FREQUENCIES = (EmailFrequency.DAILY, EmailFrequency.WEEKLY)
EMPTY = Dropped("nothing to tell for the period")
MAX_ITEMS = 200  # a digest lists at most this many notifications, newest first


@dataclass(frozen=True)
class Period:
    frequency: EmailFrequency
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        if self.frequency is EmailFrequency.DAILY:
            return self.start.date().isoformat()
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


def last_complete_period(frequency: EmailFrequency, now: datetime) -> Period:
    """The UTC day, or the ISO week (from Monday), that ended last before `now`."""
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if frequency is EmailFrequency.DAILY:
        return Period(frequency, midnight - timedelta(days=1), midnight)
    monday = midnight - timedelta(days=midnight.weekday())
    return Period(frequency, monday - timedelta(weeks=1), monday)


def ended_periods(now: datetime) -> tuple[str, ...]:
    """The labels of the periods that ended last: when they change, digests are due."""
    return tuple(last_complete_period(f, now).label for f in DIGEST_FREQUENCIES)


def digest_key(member_id: int, period: Period) -> str:
    """The delivery key of a member's digest for a period: one digest, whoever writes it."""
    return f"digest-{period.label}-{member_id}"


async def schedule_digests(sessions: Sessions, now: datetime) -> int:
    """Write the digests of the periods that ended last (each once); returns how many rows
    this call wrote."""
    written = 0
    for frequency in DIGEST_FREQUENCIES:
        period = last_complete_period(frequency, now)
        async with sessions.begin() as session:
            members = await _members_with_news(session, period)
            written += await _write_digests(session, period, members)
    return written


async def _members_with_news(session: AsyncSession, period: Period) -> list[int]:
    """Members with a notification in the period of a kind they want at its frequency."""
    pairs = (
        await session.execute(
            select(Notification.member_id, Notification.kind)
            .where(Notification.created_at >= period.start, Notification.created_at < period.end)
            .distinct()
        )
    ).all()
    by_kind: dict[NotificationKind, set[int]] = {}
    for member_id, kind in pairs:
        by_kind.setdefault(kind, set()).add(member_id)
    members: set[int] = set()
    for kind, of_kind in by_kind.items():
        chosen = await frequencies(session, of_kind, kind)
        members.update(m for m, frequency in chosen.items() if frequency is period.frequency)
    return sorted(members)


async def _write_digests(session: AsyncSession, period: Period, members: list[int]) -> int:
    if not members:
        return 0
    addresses = dict(
        (await session.execute(select(Member.id, Member.email).where(Member.id.in_(members)))).all()
    )
    rows = [
        {
            "key": digest_key(member_id, period),
            "channel": DeliveryChannel.DIGEST,
            "member_id": member_id,
            "address": addresses[member_id],
            "payload": {
                "frequency": period.frequency.value,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            },
        }
        for member_id in members
    ]
    result = await session.execute(
        upsert(session, Delivery).values(rows).on_conflict_do_nothing(index_elements=["key"])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DigestGroup:
    """The notifications of one kind about one community (or about none)."""

    community: Title | None
    kind: NotificationKind
    items: list[NotificationFacts]


@dataclass(frozen=True)
class DigestFacts:
    recipient: Recipient
    period: Period
    groups: list[DigestGroup]

    @property
    def kinds(self) -> tuple[NotificationKind, ...]:
        return tuple(sorted({g.kind for g in self.groups}, key=lambda k: k.value))


async def prepare_digest(sessions: Sessions, claimed: Claimed) -> DigestFacts | Dropped:
    """The digest to send now for a claimed delivery, or why it is dropped."""
    payload = claimed.payload
    period = Period(
        EmailFrequency(payload["frequency"]),
        datetime.fromisoformat(payload["start"]),
        datetime.fromisoformat(payload["end"]),
    )
    async with sessions() as session:
        recipient = await recipient_of(session, claimed)
        if isinstance(recipient, Dropped):
            return recipient
        groups = await _groups(session, recipient, period)
    return DigestFacts(recipient, period, groups) if groups else EMPTY


async def _groups(session: AsyncSession, recipient: Recipient, period: Period) -> list[DigestGroup]:
    """The period's notifications of the kinds the recipient wants at its frequency now, that
    they may see now, grouped by community and kind."""
    chosen = await frequency_choices(session, [recipient.member_id])
    wanted = [
        kind
        for kind in NotificationKind
        if chosen.of(recipient.member_id, kind) is period.frequency
    ]
    notifications = await session.scalars(
        select(Notification)
        .where(
            policy.visible_notifications(recipient.viewer),
            Notification.kind.in_(wanted),
            Notification.created_at >= period.start,
            Notification.created_at < period.end,
        )
        .order_by(Notification.id.desc())
        .limit(MAX_ITEMS)
    )
    grouped: dict[tuple[Title | None, NotificationKind], list[NotificationFacts]] = {}
    reader = recipient.as_reader()
    told = await facts_for(session, [(reader, notification) for notification in notifications])
    for facts in told:
        grouped.setdefault((facts.titles.get("community"), facts.kind), []).append(facts)
    return [
        DigestGroup(community, kind, items)
        for (community, kind), items in sorted(
            grouped.items(),
            key=lambda group: (group[0][0].text if group[0][0] else "~", group[0][1].value),
        )
    ]
