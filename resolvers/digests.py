"""Daily and weekly digests: the notifications of the kinds a member chose to get gathered,
grouped by community and kind, once per period.

Once a period (a UTC day, an ISO week) is over, each member with notifications in it of a kind
they want at that frequency gets a DIGEST delivery whose key names the member and the period:
the key is unique, so any number of workers, and restarts, write it once. At send time the
digest is decided again: the recipient still there at the same address, the kinds still
wanted, each notification still visible to them; a digest left empty is dropped, not sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import upsert
from models.member import Member
from models.notification import Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel, EmailFrequency
from resolvers import policy
from resolvers.email_deliveries import Recipient, recipient_now
from resolvers.email_preferences import FrequencyChoices, frequencies, frequency_choices
from resolvers.notification_facts import NotificationFacts, facts_for, readers_of
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


def _period_of(claimed: Claimed) -> Period:
    payload = claimed.payload
    return Period(
        EmailFrequency(payload["frequency"]),
        datetime.fromisoformat(payload["start"]),
        datetime.fromisoformat(payload["end"]),
    )


async def prepare_digests(
    sessions: Sessions, claimed: Sequence[Claimed]
) -> dict[int, DigestFacts | Dropped]:
    """The digest to send now for each claimed delivery (by id), or why it is dropped: read
    and decided for the whole batch in a few statements (the notifications: one per period),
    whatever its size."""
    if not claimed:
        return {}
    members = {c.member_id for c in claimed if c.member_id is not None}
    async with sessions() as session:
        readers = await readers_of(session, members)
        chosen = await frequency_choices(session, members)
        decided = {c.id: recipient_now(c, readers.get(c.member_id or 0)) for c in claimed}
        going = [(c, r) for c in claimed if not isinstance(r := decided[c.id], Dropped)]
        wanted = [(r.member_id, _period_of(c)) for c, r in going]
        found = await _notifications(session, wanted, chosen)
        pairs = [
            (r.as_reader(), n) for (_, r), w in zip(going, wanted, strict=True) for n in found[w]
        ]
        told = iter(await facts_for(session, pairs))
    prepared: dict[int, DigestFacts | Dropped] = {
        i: v for i, v in decided.items() if isinstance(v, Dropped)
    }
    for (c, recipient), (member_id, period) in zip(going, wanted, strict=True):
        groups = _grouped(list(islice(told, len(found[(member_id, period)]))))
        prepared[c.id] = DigestFacts(recipient, period, groups) if groups else EMPTY
    return prepared


async def _notifications(
    session: AsyncSession, wanted: list[tuple[int, Period]], chosen: FrequencyChoices
) -> dict[tuple[int, Period], list[Notification]]:
    """For each member and period, the period's notifications of the kinds the member wants
    at its frequency now, that they may see now, newest first (at most MAX_ITEMS): one
    statement per period, for all its members (the policy's rule over their rows)."""
    found: dict[tuple[int, Period], list[Notification]] = {w: [] for w in wanted}
    periods: dict[Period, set[int]] = {}
    for member_id, period in wanted:
        periods.setdefault(period, set()).add(member_id)
    for period, member_ids in periods.items():
        rows = await session.scalars(
            select(Notification)
            .join(Member, Member.id == Notification.member_id)
            .where(
                Notification.member_id.in_(member_ids),
                policy.notifications_visible_to_their_members(),
                Notification.created_at >= period.start,
                Notification.created_at < period.end,
            )
            .order_by(Notification.id.desc())
        )
        for notification in rows:
            items = found[(notification.member_id, period)]
            wants = chosen.of(notification.member_id, notification.kind) is period.frequency
            if wants and len(items) < MAX_ITEMS:
                items.append(notification)
    return found


def _grouped(told: list[NotificationFacts]) -> list[DigestGroup]:
    """Grouped by community and kind, communities by name (those about none last)."""
    grouped: dict[tuple[Title | None, NotificationKind], list[NotificationFacts]] = {}
    for facts in told:
        grouped.setdefault((facts.titles.get("community"), facts.kind), []).append(facts)
    return [
        DigestGroup(community, kind, items)
        for (community, kind), items in sorted(
            grouped.items(),
            key=lambda group: (group[0][0].text if group[0][0] else "~", group[0][1].value),
        )
    ]
