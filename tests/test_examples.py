"""Every operation in examples/ validates against the schema and answers without errors on the
demo data (`hub seed --demo`), walked through as a newcomer's client would (issue 16)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, validate
from starlette.applications import Starlette

from app.seed import DEMO_PASSWORD, seed_demo
from app.settings import Settings
from models.db import Database
from schema import schema
from tests.live import connect

EXAMPLES = Path(__file__).parent.parent / "examples"
OPERATIONS = sorted((EXAMPLES / "operations").glob("*.graphql"))


def operation(name: str) -> str:
    return (EXAMPLES / "operations" / f"{name}.graphql").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_each_example_validates_against_the_committed_schema(path: Path) -> None:
    assert validate(schema._schema, parse(path.read_text(encoding="utf-8"))) == []


class Walk:
    """Runs example operations over HTTP as one member, and remembers which ran."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token: str | None = None
        self.ran: set[str] = set()

    async def run(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.client.post(
            "/graphql",
            json={"query": operation(name), "variables": variables or {}},
            headers=headers,
        )
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        for payload in body["data"].values():
            if isinstance(payload, dict) and "errors" in payload:
                assert payload["errors"] == [], (name, payload)
        self.ran.add(name)
        return dict(body["data"])


async def test_every_example_answers_without_errors_on_the_demo_data(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, db: Database
) -> None:
    # given the demo data
    await seed_demo(settings)
    walk = Walk(client)
    # sign in
    signed_in = await walk.run(
        "sign-in", {"input": {"email": "member1@demo.hub", "password": DEMO_PASSWORD}}
    )
    walk.token = signed_in["login"]["token"]
    # read a thread
    communities = (await walk.run("communities"))["communities"]["nodes"]
    community = next(c for c in communities if c["slug"] == "fair-recruitment")
    threads = await walk.run("community-threads", {"communityId": community["id"]})
    thread_id = threads["threads"]["nodes"][0]["id"]
    thread = (await walk.run("thread", {"id": thread_id}))["thread"]
    assert thread["posts"]["nodes"]
    # join its community, follow it live from its cursor, and post with an idempotency key (twice: one post)
    joined = await walk.run("join-community", {"communityId": community["id"]})
    assert joined["joinCommunity"]["joined"] is True
    async with connect(app, walk.token) as socket:
        follow = {"threadId": thread_id, "after": thread["eventCursor"]}
        await socket.subscribe(operation("follow-thread"), follow)
        reply = {"threadId": thread_id, "body": "Thank you!", "idempotencyKey": str(uuid.uuid4())}
        first = await walk.run("post-reply", {"input": reply})
        again = await walk.run("post-reply", {"input": reply})
        assert first["createPost"]["post"]["id"] == again["createPost"]["post"]["id"]
        [event] = await socket.next_payloads(1)
    walk.ran.add("follow-thread")
    assert event["threadEvents"]["post"]["id"] == first["createPost"]["post"]["id"]
    # search with facets, then narrow by one
    found = (await walk.run("search", {"query": "recruitment"}))["search"]
    assert found["totalCount"] > 0
    objective = found["facets"]["objectives"][0]
    narrowed = await walk.run(
        "search", {"query": "recruitment", "filter": {"objectives": [objective["number"]]}}
    )
    assert narrowed["search"]["totalCount"] == objective["count"]
    # submit a resource for review
    variables = json.loads((EXAMPLES / "variables" / "create-resource.json").read_text())
    created = await walk.run("create-resource", variables)
    resource_id = created["createResource"]["resource"]["id"]
    submitted = await walk.run("submit-for-review", {"itemId": resource_id})
    assert submitted["submitForReview"]["item"]["state"] == "SUBMITTED"
    # register for a webinar
    webinars = (await walk.run("webinars"))["webinars"]["nodes"]
    scheduled = next(w for w in webinars if w["status"] == "SCHEDULED")
    registered = await walk.run("register-for-webinar", {"webinarId": scheduled["id"]})
    assert registered["registerForWebinar"]["status"] in ("REGISTERED", "WAITLISTED")
    # and not one example was left out
    assert walk.ran == {p.stem for p in OPERATIONS}
