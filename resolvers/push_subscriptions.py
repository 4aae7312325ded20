"""Web Push subscriptions and preferences: a member registers the subscription their browser
or app got from its push service (`PushManager.subscribe()` with the hub's VAPID public key),
removes it, and chooses per notification kind whether it is pushed.

A subscription's endpoint is a URL the hub's workers will call: like a webhook's, it must be
https and never a loopback, link-local or private address (no server-side request forgery);
only a deployment that says so (HUB_PUSH_ALLOW_LOCAL_ENDPOINTS, for tests and development)
accepts http://127.0.0.1."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import upsert
from models.notification import NotificationKind
from models.push import PushPreference, PushSubscription
from resolvers import policy
from resolvers.errors import ErrorCode, Problem
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import Outcome, UnitOfWork, mutation
from resolvers.webhooks import AddressRules, url_problem

Sessions = async_sessionmaker[AsyncSession]

# Pushed: what a member would want to know now; community activity only by email.
DEFAULT_PUSH: Mapping[NotificationKind, bool] = {
    NotificationKind.MENTION: True,
    NotificationKind.REPLY: True,
    NotificationKind.REVIEW_DECISION: True,
    NotificationKind.SUPPORT_REQUEST_UPDATE: True,
    NotificationKind.WEBINAR_REMINDER: True,
    NotificationKind.WEBINAR_UPDATE: True,
    NotificationKind.MODERATION: True,
    NotificationKind.REACTION: False,
    NotificationKind.NEW_THREAD: False,
    NotificationKind.FOLLOWED_TOPIC: False,
}
PUSH_OFF = Problem(None, "Push is not configured on this hub.", ErrorCode.NOT_ALLOWED)
REFUSED_ENDPOINT = Problem(
    "endpoint", "This address is not allowed for push subscriptions.", ErrorCode.NOT_ALLOWED
)
BAD_P256DH = Problem("p256dh", "Not a valid push subscription key.", ErrorCode.INVALID)
BAD_AUTH = Problem("auth", "Not a valid push subscription key.", ErrorCode.INVALID)
P256DH_LENGTH = 65  # an uncompressed P-256 point (RFC 8291)
AUTH_LENGTH = 16
NEWEST_FIRST = Keyset("push_subscriptions", (PushSubscription.id,), descending=True)
SUBSCRIPTION_COLUMNS = (PushSubscription.id, PushSubscription.endpoint, PushSubscription.created_at)


@dataclass(frozen=True)
class PushConfig:
    """What the API needs of the deployment's push settings: where endpoints may point, and
    the VAPID public key clients subscribe with (None: push is off)."""

    rules: AddressRules = field(default_factory=AddressRules)
    public_key: str | None = None


@dataclass(frozen=True)
class NewSubscription:
    """What `PushSubscription.toJSON()` gives a browser: the endpoint and its two keys."""

    endpoint: str
    p256dh: str
    auth: str


def decode_key(value: str) -> bytes | None:
    """A base64url value (padded or not) as bytes; None if it is not one."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def subscription_problems(new: NewSubscription, rules: AddressRules) -> list[Problem]:
    problems = []
    where = url_problem(new.endpoint, rules)
    if where is not None:
        refused = where.code is ErrorCode.NOT_ALLOWED
        problems.append(
            REFUSED_ENDPOINT if refused else dataclasses.replace(where, field="endpoint")
        )
    p256dh = decode_key(new.p256dh)
    if p256dh is None or len(p256dh) != P256DH_LENGTH or p256dh[0] != 4:
        problems.append(BAD_P256DH)
    auth = decode_key(new.auth)
    if auth is None or len(auth) != AUTH_LENGTH:
        problems.append(BAD_AUTH)
    return problems


async def register(
    sessions: Sessions,
    viewer: Viewer,
    new: NewSubscription,
    config: PushConfig,
) -> Outcome[int]:
    """Register the viewer's subscription (again: its keys are updated, and an endpoint
    another member registered on that browser becomes the viewer's); its id."""
    configured = config.public_key is not None
    problems = subscription_problems(new, config.rules) if configured else [PUSH_OFF]

    async def change(work: UnitOfWork) -> int:
        assert viewer.member_id is not None
        values = {"p256dh": new.p256dh, "auth": new.auth, "member_id": viewer.member_id}
        statement = (
            upsert(work.session, PushSubscription)
            .values(endpoint=new.endpoint, **values)
            .on_conflict_do_update(index_elements=[PushSubscription.endpoint], set_=values)
            .returning(PushSubscription.id)
        )
        subscription_id: int = (await work.session.execute(statement)).scalar_one()
        return subscription_id

    return await mutation(sessions, None, viewer, change, problems=problems)


async def unregister(sessions: Sessions, viewer: Viewer, endpoint: str) -> Outcome[bool]:
    """Remove the viewer's own subscription at `endpoint`; whether there was one."""

    async def change(work: UnitOfWork) -> bool:
        removed = await work.session.execute(
            delete(PushSubscription).where(
                PushSubscription.endpoint == endpoint, policy.own_push_subscriptions(viewer)
            )
        )
        return bool(removed.rowcount)  # type: ignore[attr-defined]

    return await mutation(sessions, None, viewer, change)


async def subscriptions_page(
    sessions: Sessions, viewer: Viewer, member_id: int, request: PageRequest
) -> Page | None:
    """A member's subscriptions, newest first, for that member alone (None for others)."""
    if not policy.may_read_push_subscriptions(viewer, member_id):
        return None
    statement = select(*SUBSCRIPTION_COLUMNS).where(policy.own_push_subscriptions(viewer))
    return await fetch_page(sessions, statement, NEWEST_FIRST, request)


async def subscription_row(sessions: Sessions, viewer: Viewer, subscription_id: int) -> Any:
    async with sessions() as session:
        statement = select(*SUBSCRIPTION_COLUMNS).where(
            PushSubscription.id == subscription_id, policy.own_push_subscriptions(viewer)
        )
        return (await session.execute(statement)).first()


# --- preferences -----------------------------------------------------------------------------


async def push_choices(
    session: AsyncSession, member_ids: Iterable[int], kind: NotificationKind
) -> dict[int, bool]:
    """Whether each member wants `kind` pushed (the kind's default where none was chosen)."""
    ids = list(member_ids)
    chosen = dict(
        (
            await session.execute(
                select(PushPreference.member_id, PushPreference.enabled).where(
                    PushPreference.member_id.in_(ids), PushPreference.kind == kind
                )
            )
        ).all()
    )
    return {m: chosen.get(m, DEFAULT_PUSH[kind]) for m in ids}


@dataclass(frozen=True)
class PushChoices:
    """Whether members want each kind pushed (the kind's default where none was chosen)."""

    chosen: Mapping[tuple[int, NotificationKind], bool]

    def of(self, member_id: int, kind: NotificationKind) -> bool:
        return self.chosen.get((member_id, kind), DEFAULT_PUSH[kind])


async def push_choices_of(session: AsyncSession, member_ids: Iterable[int]) -> PushChoices:
    """Every kind's choice of each member, in one statement."""
    rows = await session.execute(
        select(PushPreference.member_id, PushPreference.kind, PushPreference.enabled).where(
            PushPreference.member_id.in_(list(member_ids))
        )
    )
    return PushChoices({(member_id, kind): enabled for member_id, kind, enabled in rows})


async def push_preferences_of(
    session: AsyncSession, member_id: int
) -> dict[NotificationKind, bool]:
    chosen = dict(
        (
            await session.execute(
                select(PushPreference.kind, PushPreference.enabled).where(
                    PushPreference.member_id == member_id
                )
            )
        ).all()
    )
    return {kind: chosen.get(kind, DEFAULT_PUSH[kind]) for kind in NotificationKind}


async def choose_push(
    session: AsyncSession, member_id: int, choices: Sequence[tuple[NotificationKind, bool]]
) -> None:
    for kind, enabled in choices:
        await session.execute(
            upsert(session, PushPreference)
            .values(member_id=member_id, kind=kind, enabled=enabled)
            .on_conflict_do_update(
                index_elements=[PushPreference.member_id, PushPreference.kind],
                set_={"enabled": enabled},
            )
        )
