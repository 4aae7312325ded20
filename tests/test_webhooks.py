"""Webhooks (issue 14): signed per Standard Webhooks and verified by a real local HTTP receiver,
redelivered under the same webhook-id, told only public data or their own organisation's, and
never pointed at private addresses unless the deployment allows it."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.delivery import DeliveryWorker
from app.main import create_app
from app.webhooks import PinnedTarget, pin
from models.member import Role
from models.organization import OrganizationKind
from resolvers.webhooks import AddressRules
from tests.conftest import api_client, gql, make_settings
from tests.discussions import community, ok
from tests.mail import free_port
from tests.support import CHANGE_STATUS, TRIAGE, government, moderator, submit
from tests.webinars import staff, webinar

CREATE = """
mutation($url: String!, $events: [WebhookEvent!]!, $org: ID) {
  createWebhookEndpoint(input: {url: $url, events: $events, organizationId: $org}) {
    endpoint { id url events } secret errors { field code } } }
"""
ENDPOINTS = """
{ webhookEndpoints { nodes { url deliveries { nodes { id key state channel } } } } }
"""
REDELIVER = """
mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) {
  delivery { key state } errors { field code } } }
"""


@dataclass
class Receiver:
    """Calls received: (headers, body)."""

    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every call's body, once its signature is verified with `secret`."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.calls]


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 that answers 204 to every POST and keeps it."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            receiver.calls.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{port}/hooks/hub"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
async def trusting_client(database_url, db, broadcast) -> AsyncIterator[Any]:
    """The API of a deployment that lets webhooks reach its own network (the receiver here)."""
    settings = make_settings(database_url, webhook_allow_private_addresses=True)
    async with api_client(create_app(settings, db, broadcast)) as client:
        yield client


def worker(database_url: str, db: Any, *, allow_private: bool = True) -> DeliveryWorker:
    settings = make_settings(database_url, webhook_allow_private_addresses=allow_private)
    return DeliveryWorker.from_settings(db, settings)


async def test_a_public_webinar_is_announced_signed_and_redelivered(
    database_url, db, trusting_client, factory
):
    client = trusting_client
    admin = await factory.member(role=Role.ADMIN)
    organiser = await staff(factory)
    with http_receiver() as receiver:
        # given: an endpoint for webinars
        events = ["WEBINAR_SCHEDULED", "WEBINAR_CHANGED"]
        created = await ok(client, CREATE, {"url": receiver.url, "events": events}, admin)
        secret = created["secret"]
        assert secret.startswith("whsec_")
        # when: a public webinar is scheduled, and a community-only one too
        webinar_id = await webinar(client, organiser)
        community_id, _ = await community(client, factory, private=True)
        await webinar(client, organiser, communityId=community_id, visibility="COMMUNITY")
        assert await worker(database_url, db).run_round() == 2
        # then: one call, for the public one (the other was dropped at send time)
        [body] = receiver.verified(secret)
        assert body["type"] == "webinar.scheduled"
        assert body["data"]["id"] == webinar_id
        assert body["data"]["title"] == "Fair recruitment in practice"
        assert body["data"]["url"] == f"http://localhost:3000/webinar/{webinar_id}"
        assert "joinUrl" not in json.dumps(body)
        assert "meet.example.org" not in json.dumps(body)
        [(headers, _)] = receiver.calls
        log = (await gql(client, ENDPOINTS, member=admin))["data"]["webhookEndpoints"]["nodes"]
        dropped, entry = log[0]["deliveries"]["nodes"]  # newest first
        assert (entry["state"], entry["channel"]) == ("SENT", "WEBHOOK")
        assert dropped["state"] == "DROPPED"
        assert headers["webhook-id"] == entry["key"]

        # when: an admin redelivers it
        again = await ok(client, REDELIVER, {"id": entry["id"]}, admin)
        assert again["delivery"] == {"key": entry["key"], "state": "PENDING"}
        pending = (await gql(client, REDELIVER, {"id": entry["id"]}, member=admin))["data"]
        assert pending["redeliverWebhook"]["errors"] == [
            {"field": "deliveryId", "code": "INVALID_TRANSITION"}
        ]
        assert await worker(database_url, db).run_round() == 1
    # then: the same call again, under the same webhook-id, still verifiable
    assert len(receiver.verified(secret)) == 2
    assert [h["webhook-id"] for h, _ in receiver.calls] == [entry["key"], entry["key"]]


async def test_a_support_request_is_told_to_its_own_organisations_endpoint_only(
    database_url, db, trusting_client, factory
):
    client = trusting_client
    admin = await factory.member(role=Role.ADMIN)
    gov = await government(factory)
    other = await factory.organization(OrganizationKind.GOVERNMENT, "Ministry elsewhere", "PE")
    focal = await moderator(factory)
    from schema.relay import encode_id

    with http_receiver() as own, http_receiver() as foreign, http_receiver() as public:
        event = ["SUPPORT_REQUEST_UPDATED"]
        mine = await ok(
            client,
            CREATE,
            {
                "url": own.url,
                "events": event,
                "org": encode_id("Organization", gov.organization_id),
            },
            admin,
        )
        await ok(
            client,
            CREATE,
            {"url": foreign.url, "events": event, "org": encode_id("Organization", other)},
            admin,
        )
        await ok(client, CREATE, {"url": public.url, "events": event}, admin)
        # when: the government's request is submitted, triaged and declined
        request_id = await submit(client, gov.requester)
        await ok(client, TRIAGE, {"id": request_id}, focal)
        declined = {"id": request_id, "status": "DECLINED", "reason": "Out of scope"}
        await ok(client, CHANGE_STATUS, declined, focal)
        while await worker(database_url, db).run_round():
            pass
    # then: only the organisation's own endpoint heard of it, each change once (in any order:
    # a worker sends a round's deliveries side by side)
    bodies = own.verified(mine["secret"])
    assert sorted((b["type"], b["data"]["change"]) for b in bodies) == [
        ("support_request.updated", "DECLINED"),
        ("support_request.updated", "SUBMITTED"),
        ("support_request.updated", "TRIAGED"),
    ]
    assert foreign.calls == []
    assert public.calls == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9000/hook", "NOT_ALLOWED"),
        ("http://[::1]/hook", "NOT_ALLOWED"),
        ("http://10.1.2.3/hook", "NOT_ALLOWED"),
        ("http://192.168.0.10/hook", "NOT_ALLOWED"),
        ("http://169.254.169.254/latest/meta-data", "NOT_ALLOWED"),
        ("http://[::ffff:127.0.0.1]/hook", "NOT_ALLOWED"),
        ("http://localhost:8080/hook", "NOT_ALLOWED"),
        ("ftp://hooks.example.org/", "INVALID"),
        ("hooks.example.org/no-scheme", "INVALID"),
    ],
)
async def test_webhooks_never_point_at_private_addresses(client, factory, url, code):
    admin = await factory.member(role=Role.ADMIN)
    body = await gql(client, CREATE, {"url": url, "events": ["WEBINAR_SCHEDULED"]}, member=admin)
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["endpoint"] is None
    assert payload["errors"] == [{"field": "url", "code": code}]


async def test_production_takes_https_endpoints_only(database_url, db, broadcast, factory):
    admin = await factory.member(role=Role.ADMIN)
    settings = make_settings(database_url, env="production")
    async with api_client(create_app(settings, db, broadcast)) as client:
        variables = {"url": "http://hooks.example.org/hub", "events": ["WEBINAR_SCHEDULED"]}
        refused = (await gql(client, CREATE, variables, member=admin))["data"]
        https = {**variables, "url": "https://hooks.example.org/hub"}
        accepted = (await gql(client, CREATE, https, member=admin))["data"]
    assert refused["createWebhookEndpoint"]["errors"] == [{"field": "url", "code": "INVALID"}]
    assert accepted["createWebhookEndpoint"]["errors"] == []


async def test_the_sender_checks_the_resolved_address_again(
    database_url, db, trusting_client, factory
):
    # given: an endpoint named `localhost`, registered while private addresses were allowed
    admin = await factory.member(role=Role.ADMIN)
    organiser = await staff(factory)
    with http_receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        await ok(trusting_client, CREATE, {"url": url, "events": ["WEBINAR_SCHEDULED"]}, admin)
        await webinar(trusting_client, organiser)
        # when: a worker of a deployment that does not allow them sends it
        assert await worker(database_url, db, allow_private=False).run_round() == 1
    # then: nothing was called, and the log says why
    assert receiver.calls == []
    log = (await gql(trusting_client, ENDPOINTS, member=admin))["data"]["webhookEndpoints"]
    assert [d["state"] for d in log["nodes"][0]["deliveries"]["nodes"]] == ["DROPPED"]


async def test_the_call_goes_to_the_address_that_was_checked(
    database_url, db, trusting_client, factory
):
    """The endpoint's name is resolved once: the call connects to the checked address, with
    the name in `Host` (a name that resolved elsewhere a moment later, DNS rebinding, could
    not send the call there)."""
    admin = await factory.member(role=Role.ADMIN)
    organiser = await staff(factory)
    with http_receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        port = url.split(":")[2].split("/")[0]
        await ok(trusting_client, CREATE, {"url": url, "events": ["WEBINAR_SCHEDULED"]}, admin)
        await webinar(trusting_client, organiser)
        target = await pin(url, AddressRules(allow_http=True, allow_private=True))
        assert await worker(database_url, db).run_round() == 1
    assert target is not None
    assert target.url == f"http://127.0.0.1:{port}/hooks/hub"  # the receiver listens there only
    [(headers, _)] = receiver.calls
    assert {k.lower(): v for k, v in headers.items()}["host"] == f"localhost:{port}"


async def test_pinning_refuses_any_private_address_and_keeps_the_name_for_tls() -> None:
    strict = AddressRules()
    assert await pin("https://127.0.0.1/hook", strict) is None
    assert await pin("https://localhost/hook", strict) is None
    assert await pin("https://[::1]:8443/hook", strict) is None
    allowed = await pin("https://[::1]:8443/hook?x=1", AddressRules(allow_private=True))
    assert allowed == PinnedTarget("https://[::1]:8443/hook?x=1", "[::1]:8443", "::1")
    named = await pin("https://user@localhost/h", AddressRules(allow_private=True))
    assert named == PinnedTarget("https://127.0.0.1/h", "localhost", "localhost")
    assert named.post_arguments()["extensions"] == {"sni_hostname": "localhost"}


async def test_only_admins_manage_webhooks(database_url, db, trusting_client, factory):
    client = trusting_client
    admin = await factory.member(role=Role.ADMIN)
    organiser = await staff(factory)
    member = await factory.member()
    with http_receiver() as receiver:
        await ok(client, CREATE, {"url": receiver.url, "events": ["WEBINAR_SCHEDULED"]}, admin)
        await webinar(client, organiser)
        assert await worker(database_url, db).run_round() == 1
    [endpoint] = (await gql(client, ENDPOINTS, member=admin))["data"]["webhookEndpoints"]["nodes"]
    [entry] = endpoint["deliveries"]["nodes"]
    for someone in (member, organiser, None):
        assert (await gql(client, ENDPOINTS, member=someone))["data"]["webhookEndpoints"] is None
        variables = {"url": "https://hooks.example.org/x", "events": ["WEBINAR_SCHEDULED"]}
        created = (await gql(client, CREATE, variables, member=someone))["data"]
        assert created["createWebhookEndpoint"]["errors"][0]["code"] in (
            "NOT_ALLOWED",
            "UNAUTHENTICATED",
        )
        redone = (await gql(client, REDELIVER, {"id": entry["id"]}, member=someone))["data"]
        assert redone["redeliverWebhook"]["errors"][0]["code"] in ("NOT_FOUND", "UNAUTHENTICATED")


async def test_a_published_resource_is_announced_once_and_a_draft_never(
    database_url, db, trusting_client, factory
):
    from tests.knowledge import cast, draft, published

    client = trusting_client
    admin = await factory.member(role=Role.ADMIN)
    people = await cast(factory)
    with http_receiver() as receiver:
        created = await ok(
            client, CREATE, {"url": receiver.url, "events": ["RESOURCE_PUBLISHED"]}, admin
        )
        await draft(client, people.author, title="Still a draft")
        resource_id = await published(client, people)
        while await worker(database_url, db).run_round():
            pass
    bodies = receiver.verified(created["secret"])
    assert [(b["type"], b["data"]["id"], b["data"]["title"]) for b in bodies] == [
        ("resource.published", resource_id, "Fair recruitment toolkit")
    ]


async def test_a_batch_of_8_calls_is_read_in_as_many_statements_as_a_batch_of_2(
    database_url, db, trusting_client, factory, statements
):
    from sqlalchemy import delete

    from models.webhook import WebhookEndpoint
    from schema.relay import decode_int_id
    from tests.test_delivery_batches import a_round

    client = trusting_client
    admin = await factory.member(role=Role.ADMIN)
    organiser = await staff(factory)
    sender = worker(database_url, db)
    assert await sender.run_round() == 0  # its first round writes the digests due, if any
    with http_receiver() as receiver:
        secrets: list[str] = []
        ids: list[str] = []

        async def endpoints(count: int) -> None:
            for _ in range(count):
                created = await ok(
                    client, CREATE, {"url": receiver.url, "events": ["WEBINAR_SCHEDULED"]}, admin
                )
                secrets.append(created["secret"])
                ids.append(created["endpoint"]["id"])

        # given: 2 endpoints told of a webinar, then 6 more (8) of another, one of them removed
        await endpoints(2)
        await webinar(client, organiser)
        small = await a_round(sender, statements)
        await endpoints(6)
        await webinar(client, organiser)
        async with db.sessions.begin() as session:
            gone = decode_int_id(ids[-1], "WebhookEndpoint")
            await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == gone))
        # when: a worker sends each batch
        large = await a_round(sender, statements)
    # then: the same statements read each batch (the claim, the endpoints, whether each may be
    # told, the oldest undelivered age), whatever its size
    assert (small[0], large[0]) == (2, 8)
    assert small[1] == large[1] == 4, statements.statements
    # every endpoint but the removed one heard of its webinars, signed with its own secret
    assert len(receiver.calls) == 2 + 7
    verified = 0
    for headers, body in receiver.calls:
        verified += sum(1 for secret in secrets if _signed_by(secret, headers, body))
    assert verified == 9


def _signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True
