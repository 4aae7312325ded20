"""Sign-in: registration, login, tokens, logout, password change. Passwords are argon2id."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.auth import AuthToken, LoginKnownAddress, LoginThrottle
from models.base import utcnow
from models.db import upsert
from models.member import Member, Role
from resolvers import ratelimit
from resolvers.errors import NOT_SIGNED_IN, ErrorCode, Problem, ProblemList, message_values
from resolvers.policy import ANONYMOUS, Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import MEMBERS
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_email, clean_text
from subscriptions import metrics
from subscriptions.events import EventPublisher, member_stream

TOKEN_PREFIX = "hub_"  # noqa: S105 - a marker, not a secret
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@functools.cache
def dummy_hash() -> str:
    """Verified when an email is unknown, so that both failures cost the same time. Made
    once per process, not at import (an argon2 hash is ~0.1-1 s of CPU, which every `hub`
    command and every worker paid before it could do anything); the app's start-up makes it
    (app/main.py), so that no sign-in pays for it."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AuthConfig:
    """What sign-in needs from the settings (kept here so resolvers never import `app`)."""

    secret_key: bytes
    token_ttl: timedelta = timedelta(days=14)
    login_attempts_per_address: int = 30
    login_attempts_per_account: int = 10
    login_window: timedelta = timedelta(minutes=15)
    login_delay: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class SignInResult:
    """A new token and the viewer it signs in, or the problems that prevented it."""

    token: str | None = None
    viewer: Viewer | None = None
    problems: list[Problem] = field(default_factory=list)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def token_digest(config: AuthConfig, token: str) -> str:
    return hmac.new(config.secret_key, token.encode(), hashlib.sha256).hexdigest()


def check_new_password(problems: ProblemList, field: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.add(
            field,
            "Must be at least {min_password_length} characters.",
            ErrorCode.WEAK_PASSWORD,
            values=message_values(min_password_length=MIN_PASSWORD_LENGTH),
        )
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.add(
            field,
            "Must be at most {max_password_length} characters.",
            ErrorCode.TOO_LONG,
            values=message_values(max_password_length=MAX_PASSWORD_LENGTH),
        )
    elif "\x00" in password:
        problems.add(field, "Must not contain NUL characters.")


async def issue_token(session: AsyncSession, config: AuthConfig, member_id: int) -> str:
    """Create a session token (256 random bits); only its keyed hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AuthToken(
            member_id=member_id,
            token_hash=token_digest(config, token),
            expires_at=utcnow() + config.token_ttl,
        )
    )
    await session.flush()
    return token


SESSIONS_REVOKED = "SESSIONS_REVOKED"


async def revoke_member_tokens(work: UnitOfWork, member_id: int) -> None:
    """End every session of the member; after commit, their open sockets close too."""
    await work.session.execute(
        update(AuthToken)
        .where(AuthToken.member_id == member_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await work.emit(member_stream(member_id), SESSIONS_REVOKED, {"member": member_id})


def may_be_token(token: str) -> bool:
    """Whether a bearer token is worth looking up (any other signs nobody in)."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= 200


def live_token(digest: Any, now: Any) -> Select[int, int, Role, int | None]:
    """The token's id, member, role and organization while the token is live (not revoked,
    not expired at `now`): values, or SQL expressions (app/compiled_front.py binds them)."""
    return (
        select(AuthToken.id, Member.id, Member.role, Member.organization_id)
        .join(Member, Member.id == AuthToken.member_id)
        .where(
            AuthToken.token_hash == digest,
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > now,
        )
    )


async def viewer_for_token(
    sessions: async_sessionmaker[AsyncSession], config: AuthConfig, token: str
) -> Viewer | None:
    """The viewer a bearer token signs in, or None for an unknown, expired or revoked one."""
    if not may_be_token(token):
        return None
    statement = live_token(token_digest(config, token), utcnow())
    async with sessions() as session:
        row = (await session.execute(statement)).first()
    if row is None:
        return None
    token_id, member_id, role, organization_id = row
    return Viewer(
        member_id=member_id, role=role, organization_id=organization_id, token_id=token_id
    )


@dataclass(frozen=True)
class Registration:
    name: str
    email: str
    password: str


TOO_MANY_ATTEMPTS = Problem(None, "Too many attempts; try again later.", ErrorCode.RATE_LIMITED)


async def register(
    sessions: async_sessionmaker[AsyncSession],
    config: AuthConfig,
    data: Registration,
    *,
    client_address: str,
) -> list[Problem]:
    """Create a member account. The answer is the same whether or not the email was taken:
    a taken email creates nothing, and the caller only learns it by failing to sign in."""
    email_key = data.email.strip().lower()[:254]
    if await _rate_limited(sessions, config, "register", email=email_key, address=client_address):
        metrics.RATE_LIMITED.labels("register").inc()
        return [TOO_MANY_ATTEMPTS]
    problems = ProblemList()
    name = clean_text(problems, "name", data.name, max_length=200)
    email = clean_email(problems, "email", data.email)
    check_new_password(problems, "password", data.password)
    if problems:
        return problems
    password_hash = await hash_password(data.password)  # hashed either way: same timing

    async def change(work: UnitOfWork) -> None:
        # A taken email (also by a request at the same moment) inserts nothing.
        member_id = await work.session.scalar(
            upsert(work.session, Member)
            .values(name=name, email=email, password_hash=password_hash, role=Role.MEMBER)
            .on_conflict_do_nothing(index_elements=[Member.email])
            .returning(Member.id)
        )
        if member_id is not None:
            await reindex(work.session, MEMBERS, [member_id])

    return (await mutation(sessions, None, ANONYMOUS, change, sign_in=False)).problems


async def login(
    sessions: async_sessionmaker[AsyncSession],
    config: AuthConfig,
    *,
    email: str,
    password: str,
    client_address: str,
) -> SignInResult:
    """Sign in. Only failures count against the address and the account: an office behind one
    address signs in as often as it needs, and nobody can lock a member out (see `_slowed`)."""
    email = email.strip().lower()[:254]
    keys = _LoginKeys.of(config, email, client_address)
    if await _login_refused(sessions, config, keys):
        metrics.RATE_LIMITED.labels("login").inc()
        return SignInResult(problems=[TOO_MANY_ATTEMPTS])

    async def change(work: UnitOfWork) -> SignInResult:
        # A wrong password is an answer, not a refusal: its failure is recorded and committed.
        return await _sign_in(work.session, config, keys, email=email, password=password)

    done = await mutation(sessions, None, ANONYMOUS, change, sign_in=False)
    return done.value or SignInResult(problems=done.problems)


async def _sign_in(
    session: AsyncSession, config: AuthConfig, keys: _LoginKeys, *, email: str, password: str
) -> SignInResult:
    member = (
        await session.scalar(select(Member).where(Member.email == email))
        if "\x00" not in email  # no account has one; PostgreSQL text cannot even hold it
        else None
    )
    password_hash = member.password_hash if member is not None else dummy_hash()
    if not await verify_password(password_hash, password[:MAX_PASSWORD_LENGTH]) or member is None:
        await _record_failure(session, config, keys)
        return SignInResult(problems=[WRONG_CREDENTIALS])
    if _hasher.check_needs_rehash(member.password_hash):
        member.password_hash = await hash_password(password)
    await _record_success(session, keys)
    token = await issue_token(session, config, member.id)
    return SignInResult(token=token, viewer=_viewer_of(member))


WRONG_CREDENTIALS = Problem(None, "Email or password is incorrect.", ErrorCode.INVALID_CREDENTIALS)
KNOWN_ADDRESS_FOR = timedelta(days=30)


@dataclass(frozen=True)
class _LoginKeys:
    """What sign-in limits are kept under: hashes, never the email or address itself."""

    address: str
    account: str
    known: str  # this address for this account

    @classmethod
    def of(cls, config: AuthConfig, email: str, address: str) -> _LoginKeys:
        def digest(*parts: str) -> str:
            return hmac.new(config.secret_key, "\x1f".join(parts).encode(), "sha256").hexdigest()

        return cls(
            address=f"login:address:{address}",
            account=digest("account", email),
            known=digest("address", address),
        )


async def _login_refused(
    sessions: async_sessionmaker[AsyncSession], config: AuthConfig, keys: _LoginKeys
) -> bool:
    """Too many failures from this address; or the account is being slowed and this address
    is not one it signed in from."""
    async with sessions() as session:
        address_failures = await ratelimit.count(session, keys.address, window=config.login_window)
        if address_failures >= config.login_attempts_per_address:
            return True
        throttle = await session.get(LoginThrottle, keys.account)
        if throttle is None or _slowed_until(config, throttle) <= utcnow():
            return False
        known = await session.get(LoginKnownAddress, (keys.account, keys.known))
        return known is None or known.last_success_at < utcnow() - KNOWN_ADDRESS_FOR


def _slowed_until(config: AuthConfig, throttle: LoginThrottle) -> datetime:
    """Growing delays instead of a lock: the first `login_attempts_per_account` failures cost
    nothing; each further one doubles the wait before the account's password is tried again
    (from an address it never signed in from), up to the window."""
    if throttle.last_failure_at < utcnow() - config.login_window:
        return throttle.last_failure_at  # a quiet window: the count starts again
    beyond = throttle.failures - config.login_attempts_per_account
    if beyond < 0:
        return throttle.last_failure_at
    wait = min(config.login_delay * (1 << min(beyond, 30)), config.login_window)
    return throttle.last_failure_at + wait


async def _record_failure(session: AsyncSession, config: AuthConfig, keys: _LoginKeys) -> None:
    await ratelimit.hit(
        session, keys.address, limit=config.login_attempts_per_address, window=config.login_window
    )
    now = utcnow()
    quiet = LoginThrottle.last_failure_at < now - config.login_window
    await session.execute(
        upsert(session, LoginThrottle)
        .values(account_key=keys.account, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.account_key],
            set_={
                "failures": case((quiet, 1), else_=LoginThrottle.failures + 1),
                "last_failure_at": now,
            },
        )
    )


async def _record_success(session: AsyncSession, keys: _LoginKeys) -> None:
    now = utcnow()
    await session.execute(
        upsert(session, LoginKnownAddress)
        .values(account_key=keys.account, address_key=keys.known, last_success_at=now)
        .on_conflict_do_update(
            index_elements=[LoginKnownAddress.account_key, LoginKnownAddress.address_key],
            set_={"last_success_at": now},
        )
    )


def _viewer_of(member: Member) -> Viewer:
    return Viewer(member_id=member.id, role=member.role, organization_id=member.organization_id)


async def _rate_limited(
    sessions: async_sessionmaker[AsyncSession],
    config: AuthConfig,
    action: str,
    *,
    email: str,
    address: str,
) -> bool:
    """Count an attempt per client address and per account (known or not: same answer)."""
    account_key = hashlib.sha256(email.encode()).hexdigest()
    async with sessions.begin() as session:
        by_address = await ratelimit.hit(
            session,
            f"{action}:address:{address}",
            limit=config.login_attempts_per_address,
            window=config.login_window,
        )
        by_account = await ratelimit.hit(
            session,
            f"{action}:account:{account_key}",
            limit=config.login_attempts_per_account,
            window=config.login_window,
        )
    return by_address or by_account


async def logout(
    sessions: async_sessionmaker[AsyncSession], events: EventPublisher, viewer: Viewer
) -> list[Problem]:
    """Revoke the token of this request; sockets opened with it close."""
    if viewer.token_id is None:
        return [NOT_SIGNED_IN]

    async def change(work: UnitOfWork) -> None:
        assert viewer.member_id is not None
        await work.session.execute(
            update(AuthToken).where(AuthToken.id == viewer.token_id).values(revoked_at=utcnow())
        )
        payload = {"member": viewer.member_id, "token": viewer.token_id}
        await work.emit(member_stream(viewer.member_id), SESSIONS_REVOKED, payload)

    return (await mutation(sessions, events, viewer, change)).problems


async def change_password(
    sessions: async_sessionmaker[AsyncSession],
    events: EventPublisher,
    config: AuthConfig,
    viewer: Viewer,
    *,
    current_password: str,
    new_password: str,
) -> SignInResult:
    """Change the viewer's password, end every session, and sign this client in again."""
    problems = ProblemList()
    check_new_password(problems, "newPassword", new_password)

    async def change(work: UnitOfWork) -> SignInResult:
        assert viewer.member_id is not None
        member = await work.session.get_one(Member, viewer.member_id)
        if not await verify_password(member.password_hash, current_password[:MAX_PASSWORD_LENGTH]):
            raise Refused(
                Problem(
                    "currentPassword",
                    "Current password is incorrect.",
                    ErrorCode.INVALID_CREDENTIALS,
                )
            )
        member.password_hash = await hash_password(new_password)
        await revoke_member_tokens(work, member.id)
        token = await issue_token(work.session, config, member.id)
        return SignInResult(token=token, viewer=_viewer_of(member))

    done = await mutation(sessions, events, viewer, change, problems=problems)
    return done.value or SignInResult(problems=done.problems)
