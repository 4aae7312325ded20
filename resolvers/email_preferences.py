"""Members' preferences per notification kind (how often by email, whether pushed), and the
one-click unsubscribe (RFC 8058) that sets one to NEVER: a signed token per delivery, that
works once."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import upsert
from models.notification import NotificationKind
from models.outbox import EmailFrequency, EmailPreference, UsedUnsubscribeToken
from resolvers.errors import ErrorCode, Problem
from resolvers.policy import ANONYMOUS, Viewer
from resolvers.push_subscriptions import choose_push, push_preferences_of
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation

Sessions = async_sessionmaker[AsyncSession]

# What concerns a member directly is mailed at once; community activity and what is published
# on the topics they follow once a week.
DEFAULT_FREQUENCY: Mapping[NotificationKind, EmailFrequency] = {
    NotificationKind.MENTION: EmailFrequency.IMMEDIATE,
    NotificationKind.REPLY: EmailFrequency.IMMEDIATE,
    NotificationKind.REVIEW_DECISION: EmailFrequency.IMMEDIATE,
    NotificationKind.SUPPORT_REQUEST_UPDATE: EmailFrequency.IMMEDIATE,
    NotificationKind.WEBINAR_REMINDER: EmailFrequency.IMMEDIATE,
    NotificationKind.WEBINAR_UPDATE: EmailFrequency.IMMEDIATE,
    NotificationKind.MODERATION: EmailFrequency.IMMEDIATE,
    NotificationKind.REACTION: EmailFrequency.WEEKLY,
    NotificationKind.NEW_THREAD: EmailFrequency.WEEKLY,
    NotificationKind.FOLLOWED_TOPIC: EmailFrequency.WEEKLY,
}
USED_LINK = Problem(None, "This unsubscribe link was used already.", ErrorCode.CONFLICT)
BAD_LINK = Problem(None, "This unsubscribe link is not valid.", ErrorCode.INVALID)
DUPLICATE_KIND = Problem("preferences", "Each kind may be set once.", ErrorCode.INVALID)


async def frequencies(
    session: AsyncSession, member_ids: Iterable[int], kind: NotificationKind
) -> dict[int, EmailFrequency]:
    """Each member's choice for `kind` (the kind's default where none was made)."""
    ids = list(member_ids)
    chosen = dict(
        (
            await session.execute(
                select(EmailPreference.member_id, EmailPreference.frequency).where(
                    EmailPreference.member_id.in_(ids), EmailPreference.kind == kind
                )
            )
        ).all()
    )
    return {m: chosen.get(m, DEFAULT_FREQUENCY[kind]) for m in ids}


@dataclass(frozen=True)
class FrequencyChoices:
    """Members' choices of how often to be mailed, per kind (the kind's default where none
    was made)."""

    chosen: Mapping[tuple[int, NotificationKind], EmailFrequency]

    def of(self, member_id: int, kind: NotificationKind) -> EmailFrequency:
        return self.chosen.get((member_id, kind), DEFAULT_FREQUENCY[kind])


async def frequency_choices(session: AsyncSession, member_ids: Iterable[int]) -> FrequencyChoices:
    """Every kind's choice of each member, in one statement."""
    rows = await session.execute(
        select(EmailPreference.member_id, EmailPreference.kind, EmailPreference.frequency).where(
            EmailPreference.member_id.in_(list(member_ids))
        )
    )
    return FrequencyChoices({(member_id, kind): chosen for member_id, kind, chosen in rows})


@dataclass(frozen=True)
class KindChoice:
    """A member's choice for one kind: how often by email, whether pushed (None: unchanged)."""

    kind: NotificationKind
    email: EmailFrequency | None = None
    push: bool | None = None


async def preferences_of(sessions: Sessions, member_id: int) -> list[KindChoice]:
    """Every kind with the member's choices or their defaults, in the kinds' order."""
    async with sessions() as session:
        chosen = dict(
            (
                await session.execute(
                    select(EmailPreference.kind, EmailPreference.frequency).where(
                        EmailPreference.member_id == member_id
                    )
                )
            ).all()
        )
        pushed = await push_preferences_of(session, member_id)
    return [
        KindChoice(kind, chosen.get(kind, DEFAULT_FREQUENCY[kind]), pushed[kind])
        for kind in NotificationKind
    ]


async def _choose(
    session: AsyncSession, member_id: int, kind: NotificationKind, frequency: EmailFrequency
) -> None:
    await session.execute(
        upsert(session, EmailPreference)
        .values(member_id=member_id, kind=kind, frequency=frequency)
        .on_conflict_do_update(
            index_elements=[EmailPreference.member_id, EmailPreference.kind],
            set_={"frequency": frequency},
        )
    )


async def update_preferences(
    sessions: Sessions,
    viewer: Viewer,
    choices: Sequence[KindChoice],
) -> Outcome[None]:
    """Set the viewer's own preferences for the kinds given (by email, by push, or both); the
    others stay as they are."""
    kinds = [choice.kind for choice in choices]
    problems = [DUPLICATE_KIND] if len(set(kinds)) != len(kinds) else []

    async def change(work: UnitOfWork) -> None:
        assert viewer.member_id is not None
        for choice in choices:
            if choice.email is not None:
                await _choose(work.session, viewer.member_id, choice.kind, choice.email)
        pushed = [(c.kind, c.push) for c in choices if c.push is not None]
        await choose_push(work.session, viewer.member_id, pushed)

    return await mutation(sessions, None, viewer, change, problems=problems)


# --- one-click unsubscribe -------------------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribeLink:
    """What an unsubscribe token says: this delivery's recipient wants no more mail of these
    kinds (one for a notification's email, those it gathered for a digest)."""

    delivery_key: str
    member_id: int
    kinds: tuple[NotificationKind, ...]


def _signature(secret: bytes, body: bytes) -> str:
    digest = hmac.new(secret, b"unsubscribe:" + body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unsubscribe_token(secret: bytes, link: UnsubscribeLink) -> str:
    kinds = [kind.value for kind in link.kinds]
    body = json.dumps([link.delivery_key, link.member_id, kinds]).encode()
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{encoded}.{_signature(secret, encoded.encode())}"


def read_unsubscribe_token(secret: bytes, token: str) -> UnsubscribeLink | None:
    """The link a token signed with `secret` names; None if it is forged or malformed."""
    encoded, _, signature = token.partition(".")
    if not hmac.compare_digest(signature, _signature(secret, encoded.encode())):
        return None
    try:
        key, member_id, kinds = json.loads(base64.urlsafe_b64decode(encoded + "=" * 4))
        return UnsubscribeLink(str(key), int(member_id), tuple(NotificationKind(k) for k in kinds))
    except (binascii.Error, ValueError, TypeError):
        return None


async def unsubscribe(
    sessions: Sessions, secret: bytes, token: str
) -> Outcome[tuple[NotificationKind, ...]]:
    """Set the link's kinds to NEVER for its member, once: a second use is refused."""
    link = read_unsubscribe_token(secret, token)

    async def change(work: UnitOfWork) -> tuple[NotificationKind, ...]:
        assert link is not None
        used = await work.session.get(UsedUnsubscribeToken, link.delivery_key)
        if used is not None:
            raise Refused(USED_LINK)
        # Two clicks at once meet at the primary key: the second is answered USED_LINK.
        work.session.add(UsedUnsubscribeToken(delivery_key=link.delivery_key))
        await work.session.flush()
        for kind in link.kinds:
            await _choose(work.session, link.member_id, kind, EmailFrequency.NEVER)
        return link.kinds

    problems = [BAD_LINK] if link is None else []
    # The token is the credential (RFC 8058: the mail client posts it without signing in).
    return await mutation(
        sessions, None, ANONYMOUS, change, problems=problems, sign_in=False, conflict=USED_LINK
    )
