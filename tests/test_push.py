"""Web Push (issue 14): a notification's push message is written to the outbox with it, sent
by a worker to a real local push service that verifies the VAPID signature, and decrypted
there with the subscription's private key; decided again at send time; a subscription the
push service says is gone is removed; endpoints are checked like webhooks' (no SSRF)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import http_ece
import pytest
from py_vapid import Vapid
from sqlalchemy import delete, select
from typer.testing import CliRunner

from app.cli import cli
from app.delivery import DeliveryWorker
from app.main import create_app
from app.push import VapidKeys
from app.settings import Settings
from models.community import CommunityMember
from models.member import Role
from models.outbox import Delivery, DeliveryChannel, DeliveryState
from resolvers.webhooks import AddressRules
from schema.relay import decode_int_id, encode_id
from tests.conftest import api_client, gql, make_settings
from tests.discussions import community, join, ok, post, thread
from tests.push import Browser, push_service, verified_vapid

KEYS = VapidKeys.generate()
SUBJECT = "mailto:ops@hub.example.org"

REGISTER = """
mutation($endpoint: String!, $keys: PushSubscriptionKeysInput!) {
  registerPushSubscription(input: {endpoint: $endpoint, keys: $keys}) {
    subscription { id endpoint } errors { field code message } } }
"""
UNREGISTER = """
mutation($endpoint: String!) { unregisterPushSubscription(input: {endpoint: $endpoint}) {
  removed errors { code } } }
"""
SUBSCRIPTIONS = "{ viewer { pushSubscriptions { nodes { endpoint } } } }"
UPDATE_PREFERENCES = """
mutation($p: [NotificationPreferenceInput!]) {
  updateNotificationPreferences(input: {preferences: $p}) {
    preferences { kind email push } errors { field code } } }
"""


def push_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "vapid_private_key": KEYS.private_key,
        "vapid_subject": SUBJECT,
        "push_allow_local_endpoints": True,
    }
    return make_settings(database_url, **{**values, **overrides})


@pytest.fixture
async def push_client(database_url, db, broadcast) -> AsyncIterator[Any]:
    """The API of a deployment with push on, that accepts a push service on 127.0.0.1."""
    settings = push_settings(database_url)
    async with api_client(create_app(settings, db, broadcast)) as client:
        yield client


def worker(database_url: str, db: Any) -> DeliveryWorker:
    return DeliveryWorker.from_settings(db, push_settings(database_url))


async def register(client: Any, member: Any, browser: Browser) -> dict[str, Any]:
    variables = {"endpoint": browser.endpoint, "keys": browser.keys}
    body = await gql(client, REGISTER, variables, member=member)
    payload: dict[str, Any] = body["data"]["registerPushSubscription"]
    return payload


async def pushes(db: Any) -> list[Delivery]:
    async with db.sessions() as session:
        statement = select(Delivery).where(Delivery.channel == DeliveryChannel.PUSH)
        return list(await session.scalars(statement.order_by(Delivery.id)))


async def a_thread(client: Any, factory: Any, *, private: bool = False) -> tuple[str, Any, Any]:
    """A thread by its author in a community; returns (thread id, author, moderator)."""
    community_id, moderator = await community(client, factory, private=private)
    author = await factory.member(name="Thread Author")
    if private:
        async with factory.db.sessions.begin() as session:
            key = decode_int_id(community_id, "Community")
            session.add(CommunityMember(community_id=key, member_id=author.id))
    else:
        await join(client, community_id, author)
    return await thread(client, community_id, author), author, moderator


async def test_a_reply_is_pushed_signed_encrypted_and_small(database_url, db, push_client, factory):
    client = push_client
    with push_service() as service:
        # given: the thread's author subscribed in their browser
        thread_id, author, moderator = await a_thread(client, factory)
        browser = service.browser("author-laptop")
        registered = await register(client, author, browser)
        assert registered["errors"] == []
        assert registered["subscription"]["endpoint"] == browser.endpoint
        # when: someone replies, and a worker sends what was written
        await post(client, thread_id, moderator, "**Fees** are *never* the worker's to pay")
        [delivery] = await pushes(db)
        assert await worker(database_url, db).run_round() == 2  # the email and the push
        # then: one message, signed with the hub's VAPID key for this push service
        [received] = service.received
        assert received.path == "/push/author-laptop"
        assert received.signer == KEYS.public_key
        assert received.claims["aud"] == service.base_url
        assert received.claims["sub"] == SUBJECT
        assert time.time() < received.claims["exp"] <= time.time() + 24 * 3600
        assert received.headers["content-encoding"] == "aes128gcm"
        assert received.headers["ttl"] == str(24 * 3600)
        assert received.headers["urgency"] == "high"
        # and: only the subscription's private key reads it: what happened, in plain text
        message = browser.decrypt(received.body)
        assert message["id"] == delivery.key
        assert message["kind"] == "REPLY"
        assert message["title"] == "Mod Erator replied in “Fair recruitment fees”"
        assert message["body"] == "Fees are never the worker's to pay"
        assert message["url"] == f"http://localhost:3000/thread/{thread_id}"
        assert len(received.body) < 4096
        with pytest.raises(http_ece.ECEException):
            service.browser("another").decrypt(received.body)
    [sent] = await pushes(db)
    assert sent.state is DeliveryState.SENT


async def test_a_subscription_the_push_service_says_is_gone_is_removed(
    database_url, db, push_client, factory
):
    client = push_client
    with push_service() as service:
        thread_id, author, moderator = await a_thread(client, factory)
        browser = service.browser("expired")
        await register(client, author, browser)
        service.answers["/push/expired"] = 410
        await post(client, thread_id, moderator, "A reply")
        await worker(database_url, db).run_round()
        assert len(service.received) == 1
    [dropped] = await pushes(db)
    assert dropped.state is DeliveryState.DROPPED
    assert "gone" in (dropped.last_error or "")
    body = await gql(client, SUBSCRIPTIONS, member=author)
    assert body["data"]["viewer"]["pushSubscriptions"]["nodes"] == []


async def test_a_member_who_lost_access_before_the_send_is_pushed_nothing(
    database_url, db, push_client, factory
):
    client = push_client
    with push_service() as service:
        # given: a reply in a private community, its push written for the thread's author
        thread_id, author, moderator = await a_thread(client, factory, private=True)
        await register(client, author, service.browser("author"))
        await post(client, thread_id, moderator, "Only members may read this")
        assert len(await pushes(db)) == 1
        # when: the author leaves the community before the worker sends it
        async with db.sessions.begin() as session:
            await session.execute(
                delete(CommunityMember).where(CommunityMember.member_id == author.id)
            )
        await worker(database_url, db).run_round()
        # then: nothing reaches the push service
        assert service.received == []
    [dropped] = await pushes(db)
    assert dropped.state is DeliveryState.DROPPED


async def test_a_subscription_registered_again_by_another_member_moves_to_them(
    database_url, db, push_client, factory
):
    client = push_client
    with push_service() as service:
        thread_id, author, moderator = await a_thread(client, factory)
        shared = service.browser("shared-computer")
        await register(client, author, shared)
        await post(client, thread_id, moderator, "For the author")
        # when: someone else signs in on that computer and subscribes it
        other = await factory.member(name="Next User")
        await register(client, other, shared)
        await worker(database_url, db).run_round()
        # then: the author's message is not pushed to the other member's browser
        assert service.received == []
    assert (await gql(client, SUBSCRIPTIONS, member=author))["data"]["viewer"]["pushSubscriptions"][
        "nodes"
    ] == []
    mine = (await gql(client, SUBSCRIPTIONS, member=other))["data"]["viewer"]["pushSubscriptions"]
    assert mine["nodes"] == [{"endpoint": shared.endpoint}]


async def test_push_follows_the_members_choice_per_kind(database_url, db, push_client, factory):
    client = push_client
    with push_service() as service:
        thread_id, author, moderator = await a_thread(client, factory)
        await register(client, author, service.browser("author"))
        # when: the author turns push off for replies (email stays as it was)
        payload = await ok(
            client, UPDATE_PREFERENCES, {"p": [{"kind": "REPLY", "push": False}]}, author
        )
        reply = next(p for p in payload["preferences"] if p["kind"] == "REPLY")
        assert reply == {"kind": "REPLY", "email": "IMMEDIATE", "push": False}
        reaction = next(p for p in payload["preferences"] if p["kind"] == "REACTION")
        assert reaction["push"] is False  # community activity is not pushed by default
        await post(client, thread_id, moderator, "A reply")
        # then: the email is written, no push
        assert await pushes(db) == []
        assert await worker(database_url, db).run_round() == 1


async def test_a_members_subscriptions_are_theirs_alone(database_url, db, push_client, factory):
    client = push_client
    author = await factory.member()
    admin = await factory.member(role=Role.ADMIN)
    await register(client, author, Browser("http://127.0.0.1:9/push/mine"))
    query = "query($id: ID!) { node(id: $id) { ... on Member { pushSubscriptions { nodes { endpoint } } } } }"
    variables = {"id": encode_id("Member", author.id)}
    own = await gql(client, query, variables, member=author)
    assert own["data"]["node"]["pushSubscriptions"]["nodes"] == [
        {"endpoint": "http://127.0.0.1:9/push/mine"}
    ]
    for reader in (admin, await factory.member(), None):
        seen = await gql(client, query, variables, member=reader)
        assert seen["data"]["node"] in (None, {"pushSubscriptions": None}), seen


async def test_only_the_owner_removes_a_subscription(database_url, db, push_client, factory):
    client = push_client
    author = await factory.member()
    stranger = await factory.member()
    browser = Browser("http://127.0.0.1:9/push/mine")
    await register(client, author, browser)
    theirs = await ok(client, UNREGISTER, {"endpoint": browser.endpoint}, stranger)
    assert theirs == {"removed": False, "errors": []}
    mine = await ok(client, UNREGISTER, {"endpoint": browser.endpoint}, author)
    assert mine == {"removed": True, "errors": []}
    assert (await gql(client, SUBSCRIPTIONS, member=author))["data"]["viewer"]["pushSubscriptions"][
        "nodes"
    ] == []


@pytest.mark.parametrize(
    ("endpoint", "field", "code"),
    [
        ("http://push.example.org/x", "endpoint", "INVALID"),
        ("https://127.0.0.1/x", "endpoint", "NOT_ALLOWED"),
        ("https://10.1.2.3/x", "endpoint", "NOT_ALLOWED"),
        ("https://[::1]/x", "endpoint", "NOT_ALLOWED"),
        ("https://169.254.169.254/latest", "endpoint", "NOT_ALLOWED"),
        ("https://push.localhost/x", "endpoint", "NOT_ALLOWED"),
    ],
)
async def test_endpoints_are_https_and_never_internal_addresses(
    database_url, db, broadcast, factory, endpoint, field, code
):
    # given: a deployment with push on, and no exception for local endpoints
    settings = push_settings(database_url, push_allow_local_endpoints=False)
    member = await factory.member()
    async with api_client(create_app(settings, db, broadcast)) as client:
        payload = await register(client, member, Browser(endpoint))
    assert payload["subscription"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]


async def test_bad_keys_and_push_off_are_refused(database_url, db, client, push_client, factory):
    member = await factory.member()
    browser = Browser("https://push.example.org/x")
    # push off (no VAPID key): refused, and no key is offered
    assert (await gql(client, "{ pushPublicKey }"))["data"]["pushPublicKey"] is None
    off = await register(client, member, browser)
    assert [e["code"] for e in off["errors"]] == ["NOT_ALLOWED"]
    # push on: the key is the VAPID public key; malformed keys are refused field by field
    assert (await gql(push_client, "{ pushPublicKey }"))["data"]["pushPublicKey"] == KEYS.public_key
    variables = {"endpoint": browser.endpoint, "keys": {"p256dh": "not-a-key", "auth": "AAAA"}}
    bad = (await gql(push_client, REGISTER, variables, member=member))["data"][
        "registerPushSubscription"
    ]
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [
        ("p256dh", "INVALID"),
        ("auth", "INVALID"),
    ]
    anonymous = (await gql(push_client, REGISTER, {**variables, "keys": browser.keys}))["data"]
    assert [e["code"] for e in anonymous["registerPushSubscription"]["errors"]] == [
        "UNAUTHENTICATED"
    ]


def test_keygen_makes_a_pair_the_hub_signs_with(tmp_path):
    # when: a deployment makes its keys, and writes them to its .env as well
    env_file = tmp_path / ".env"
    result = CliRunner().invoke(cli, ["push", "keygen", "--output", str(env_file)])
    assert result.exit_code == 0, result.output
    # then: the private key is a setting, the public key is the one derived from it
    private = next(line for line in result.output.splitlines() if "VAPID_PRIVATE" in line)
    public = next(line for line in result.output.splitlines() if "public key" in line)
    keys = VapidKeys.from_private_key(private.split("=", 1)[1])
    assert public.endswith(keys.public_key)
    assert private in env_file.read_text()
    assert env_file.stat().st_mode & 0o077 == 0
    # and: a token signed with it verifies with the public key clients get
    claims = {"aud": "https://push.example.org", "sub": SUBJECT, "exp": int(time.time()) + 60}
    header = Vapid.from_string(keys.private_key).sign(claims)["Authorization"]
    assert verified_vapid(header) == (claims, keys.public_key)


def test_production_refuses_local_push_endpoints(database_url):
    with pytest.raises(ValueError, match="HUB_PUSH_ALLOW_LOCAL_ENDPOINTS"):
        make_settings(database_url, env="production", push_allow_local_endpoints=True)
    production = make_settings(database_url, env="production", vapid_private_key=KEYS.private_key)
    assert production.push_rules() == AddressRules(allow_http=False, allow_private=False)
