"""The visibility matrix, generated from the schema (issue 11).

Each private or unpublished object — a private community, its thread and post, a draft
resource, an initiative in review, a community's webinar, a support request, another member's
email — stands in front of seven viewers, through every read path the registry gives the
matrix: `node`, `nodes`, the root lookup, lists and their `totalCount`, search, event cursors.
A viewer who may not see it must get exactly what they get for an object that does not exist:
the same payload, the same errors, the same counts as before it was made. And every
notification kind is created only for recipients who may see its subject."""

from __future__ import annotations

import enum
import importlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
from graphql import build_schema

from models.db import Database
from models.member import Role
from models.notification import NotificationKind
from models.organization import OrganizationKind
from resolvers import notifications
from resolvers.unit_of_work import unit_of_work
from schema.relay import decode_int_id, encode_id
from subscriptions.events import EventPublisher
from tests import knowledge, support
from tests.conftest import Factory, gql
from tests.conftest import TestMember as Person
from tests.discussions import community, join, ok, post, thread
from tests.test_initiatives import create as create_initiative
from tests.visibility_registry import (
    REGISTRY,
    SDL_PATH,
    Covered,
    committed_coordinates,
    coordinates,
)
from tests.webinars import webinar

WORD = "zanzibarian"  # in every private object's title: what search looks for
NOWHERE = 999_999


class Viewer(enum.Enum):
    ANONYMOUS = "anonymous"
    MEMBER = "plain member"
    OTHER_ORG = "member of another organisation"
    AUTHOR = "author"
    REVIEWER = "assigned reviewer"
    COMMUNITY_MODERATOR = "community moderator"
    GLOBAL_MODERATOR = "global moderator"


V = Viewer
EVERYONE_SIGNED_IN = frozenset(Viewer) - {V.ANONYMOUS}
READERS = frozenset({V.AUTHOR, V.COMMUNITY_MODERATOR, V.GLOBAL_MODERATOR})


# --- the registry covers the schema ------------------------------------------------------------


def test_every_path_of_the_schema_has_its_proof() -> None:
    found = committed_coordinates()
    missing = sorted(found - set(REGISTRY))
    stale = sorted(set(REGISTRY) - found)
    assert not missing, f"paths with no entry in tests/visibility_registry.py: {missing}"
    assert not stale, f"entries for paths the schema no longer has: {stale}"


def test_every_named_proof_exists() -> None:
    absent = []
    for coordinate, entry in REGISTRY.items():
        if isinstance(entry, Covered):
            module, name = entry.test.split("::")
            if not callable(getattr(importlib.import_module(f"tests.{module}"), name, None)):
                absent.append(f"{coordinate}: tests/{module}.py::{name}")
    assert not absent, "the registry names tests that do not exist:\n" + "\n".join(absent)


def test_a_new_path_without_an_entry_is_found() -> None:
    """The coverage test itself: each kind of new path shows up as missing."""
    extended = (
        SDL_PATH.read_text()
        + """
extend type Query { secretNotes(first: Int): ThreadConnection! }
extend type Subscription { secretStream: Int! }
type SecretNote implements Node { id: ID! replyCount: Int! eventCursor: String }
extend type Thread { secrets: ThreadConnection! secretCount: Int! }
extend enum NotificationKind { SECRET_NOTE }
"""
    )
    missing = coordinates(build_schema(extended)) - set(REGISTRY)
    assert missing == {
        "Query.secretNotes",
        "Subscription.secretStream",
        "Node:SecretNote",
        "SecretNote.replyCount",
        "SecretNote.eventCursor",
        "Thread.secrets",
        "Thread.secretCount",
        "NotificationKind.SECRET_NOTE",
    }


# --- the world: private objects and seven viewers ----------------------------------------------


@dataclass
class World:
    people: dict[Viewer, Person | None]
    community_id: str
    slug: str
    thread_id: str
    post_id: str
    resource_id: str
    initiative_id: str
    webinar_id: str
    request_id: str

    def person(self, viewer: Viewer) -> Person:
        person = self.people[viewer]
        assert person is not None
        return person


async def people(factory: Factory) -> dict[Viewer, Person | None]:
    government = await factory.organization(OrganizationKind.GOVERNMENT, "Ministry", "MX")
    other = await factory.organization(OrganizationKind.CIVIL_SOCIETY, "Another NGO")
    un = await factory.organization(OrganizationKind.UN_SYSTEM, "UN Agency")
    return {
        V.ANONYMOUS: None,
        V.MEMBER: await factory.member(name="Plain Member"),
        V.OTHER_ORG: await factory.member(name="Other Org", organization_id=other),
        V.AUTHOR: await factory.member(name="Author", organization_id=government),
        V.REVIEWER: await factory.member(name="Reviewer", role=Role.REVIEWER, organization_id=un),
        V.COMMUNITY_MODERATOR: await factory.member(name="Community Moderator"),
        V.GLOBAL_MODERATOR: await factory.member(name="Global Moderator", role=Role.MODERATOR),
    }


INVITE = """
mutation($c: ID!, $m: ID!) { inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } } }
"""
MAKE_MODERATOR = """
mutation($c: ID!, $m: ID!) {
  setCommunityRole(input: {communityId: $c, memberId: $m, role: MODERATOR}) { ok errors { code } }
}
"""


async def private_community(
    client: httpx.AsyncClient, factory: Factory, crowd: dict[Viewer, Person | None]
) -> str:
    community_id, founder = await community(client, factory, private=True, slug="closed-circle")
    for viewer in (V.AUTHOR, V.COMMUNITY_MODERATOR):
        member = crowd[viewer]
        assert member is not None
        await ok(client, INVITE, {"c": community_id, "m": member.global_id}, founder)
        await join(client, community_id, member)
    moderator = crowd[V.COMMUNITY_MODERATOR]
    assert moderator is not None
    await ok(client, MAKE_MODERATOR, {"c": community_id, "m": moderator.global_id}, founder)
    return community_id


async def private_objects(
    client: httpx.AsyncClient, crowd: dict[Viewer, Person | None], community_id: str
) -> dict[str, str]:
    author, moderator = crowd[V.AUTHOR], crowd[V.GLOBAL_MODERATOR]
    reviewer, community_moderator = crowd[V.REVIEWER], crowd[V.COMMUNITY_MODERATOR]
    assert author is not None
    assert moderator is not None
    assert reviewer is not None
    assert community_moderator is not None
    thread_id = await thread(client, community_id, author, f"The {WORD} budget")
    reply = await post(client, thread_id, author, f"The {WORD} figures.")
    resource_id = await knowledge.draft(client, author, f"A {WORD} draft toolkit")
    initiative = await create_initiative(client, author, title=f"The {WORD} partnership")
    initiative_id = str(initiative["initiative"]["id"])
    await knowledge.ok(client, knowledge.SUBMIT, {"id": initiative_id}, author)
    await knowledge.assign(client, moderator, initiative_id, reviewer)
    webinar_id = await webinar(
        client,
        community_moderator,
        title=f"The {WORD} circle meets",
        visibility="COMMUNITY",
        communityId=community_id,
    )
    request_id = await support.submit(client, author, title=f"A {WORD} data system")
    return {
        "thread": thread_id,
        "post": reply["id"],
        "resource": resource_id,
        "initiative": initiative_id,
        "webinar": webinar_id,
        "request": request_id,
    }


# Who may see each object (its existence, through every path below).
SEES: dict[str, frozenset[Viewer]] = {
    # A private community's name is shown to signed-in members (so they can ask to join);
    # what happens in it is for its members.
    "community": EVERYONE_SIGNED_IN,
    "thread": READERS,
    "post": READERS,
    "resource": frozenset({V.AUTHOR, V.GLOBAL_MODERATOR}),
    "initiative": frozenset({V.AUTHOR, V.REVIEWER, V.GLOBAL_MODERATOR}),
    "webinar": READERS,
    "request": frozenset({V.AUTHOR, V.GLOBAL_MODERATOR}),
}
TYPES = {
    "community": "Community",
    "thread": "Thread",
    "post": "Post",
    "resource": "Resource",
    "initiative": "Initiative",
    "webinar": "Webinar",
    "request": "SupportRequest",
}
LOOKUPS = {
    "thread": "thread(id: $id) { id title eventCursor }",
    "resource": "resource(id: $id) { id title state }",
    "initiative": "initiative(id: $id) { id title state }",
    "webinar": "webinar(id: $id) { id title eventCursor }",
    "request": "supportRequest(id: $id) { id title eventCursor }",
}
# Lists whose totalCount must not move for those who may not see what was added.
COUNTS = f"""
query($c: ID!) {{
  threads(communityId: $c) {{ totalCount }}
  resources(filter: {{states: [DRAFT, SUBMITTED, IN_REVIEW, CHANGES_REQUESTED, APPROVED]}}) {{ totalCount }}
  initiatives(filter: {{states: [DRAFT, SUBMITTED, IN_REVIEW, CHANGES_REQUESTED, APPROVED]}}) {{ totalCount }}
  webinars {{ totalCount }}
  supportRequests {{ totalCount }}
  search(query: "{WORD}") {{ totalCount }}
}}
"""


async def answer(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], viewer: Person | None
) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=viewer.headers if viewer else {},
    )
    body = response.json()
    body.pop("extensions", None)
    return {"status": response.status_code, "body": body}


def _as_missing(value: Any, real: str, missing: str) -> Any:
    """The answer with the real object's ID written as the missing one's (echoed inputs)."""
    return json.loads(json.dumps(value).replace(real, missing))


async def paths(
    client: httpx.AsyncClient, key: str, object_id: str, viewer: Person | None
) -> dict[str, Any]:
    """Every matrix path to one object, as this viewer reads it."""
    node = f"{{ id __typename ... on {TYPES[key]} {{ id }} }}"
    read = {
        "node": await answer(
            client, f"query($id: ID!) {{ node(id: $id) {node} }}", {"id": object_id}, viewer
        ),
        "nodes": await answer(
            client, f"query($id: ID!) {{ nodes(ids: [$id]) {node} }}", {"id": object_id}, viewer
        ),
    }
    if key in LOOKUPS:
        read["lookup"] = await answer(
            client, f"query($id: ID!) {{ {LOOKUPS[key]} }}", {"id": object_id}, viewer
        )
    return read


async def test_denied_reads_exactly_like_missing_through_every_path(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    crowd = await people(factory)
    community_id = await private_community(client, factory, crowd)
    counts_before = {
        v: await answer(client, COUNTS, {"c": community_id}, p) for v, p in crowd.items()
    }
    objects = {"community": community_id, **await private_objects(client, crowd, community_id)}

    wrong: list[str] = []
    for key, object_id in objects.items():
        kind, number = TYPES[key], decode_int_id(object_id, TYPES[key])
        assert number is not None
        missing_id = encode_id(kind, NOWHERE)
        for viewer, person in crowd.items():
            seen = await paths(client, key, object_id, person)
            missing = await paths(client, key, missing_id, person)
            if viewer in SEES[key]:
                blank = [p for p, read in seen.items() if _first_value(read["body"]) is None]
                if blank:
                    wrong.append(f"{key} hidden from {viewer.value} (may see it) in {blank}")
            elif _as_missing(seen, object_id, missing_id) != missing:
                wrong.append(f"{key} shown to {viewer.value}: {seen} != {missing}")

    for viewer, person in crowd.items():
        after = await answer(client, COUNTS, {"c": community_id}, person)
        before_data, after_data = counts_before[viewer]["body"]["data"], after["body"]["data"]
        for name, count in after_data.items():
            grew = count["totalCount"] - before_data[name]["totalCount"]
            may = _list_shows_to(name, viewer)
            if (may and grew < 1) or (not may and grew != 0):
                wrong.append(f"{name}.totalCount for {viewer.value} moved by {grew}")
    assert not wrong, f"{len(wrong)} wrong cell(s):\n" + "\n".join(wrong)


def _first_value(body: dict[str, Any]) -> Any:
    data = body.get("data") or {}
    value = next(iter(data.values()), None)
    return value[0] if isinstance(value, list) and value else value or None


# Which viewers see what each list adds (the community's threads, the search word in titles).
LIST_SHOWS = {
    "threads": SEES["thread"],
    "resources": SEES["resource"],
    "initiatives": SEES["initiative"],
    "webinars": SEES["webinar"],
    "supportRequests": SEES["request"],
    "search": SEES["thread"] | SEES["resource"] | SEES["initiative"] | SEES["webinar"],
}


def _list_shows_to(name: str, viewer: Viewer) -> bool:
    return viewer in LIST_SHOWS[name]


async def test_another_members_email_is_theirs_and_the_admins(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    crowd = await people(factory)
    crowd_admin = await factory.member(name="Admin", role=Role.ADMIN)
    author = crowd[V.AUTHOR]
    assert author is not None
    query = "query($id: ID!) { member(id: $id) { name email } node(id: $id) { ... on Member { email } } }"
    for viewer, person in [*crowd.items(), (None, crowd_admin)]:
        body = await gql(client, query, {"id": author.global_id}, member=person)
        shown = {body["data"]["member"] and body["data"]["member"]["email"]} | (
            {body["data"]["node"]["email"]} if body["data"]["node"] else set()
        )
        allowed = viewer is V.AUTHOR or person is crowd_admin
        assert shown == ({author.email} if allowed else {None}), (viewer, shown)


# --- notifications: every kind, only to those who may see its subject -------------------------


def subjects(world_ids: dict[str, int]) -> dict[NotificationKind, dict[str, Any]]:
    """Each kind with a subject as the code that sends it writes one (resolvers/...)."""
    t, p, c = world_ids["thread"], world_ids["post"], world_ids["community"]
    return {
        NotificationKind.MENTION: {"thread": t, "post": p, "community": c},
        NotificationKind.REPLY: {"thread": t, "post": p, "community": c},
        NotificationKind.REACTION: {"thread": t, "post": p, "reaction": "INSIGHTFUL"},
        NotificationKind.MODERATION: {"thread": t, "community": c, "action": "LOCK_THREAD"},
        NotificationKind.NEW_THREAD: {"thread": t, "community": c, "author": 0},
        NotificationKind.REVIEW_DECISION: {
            "item_kind": "INITIATIVE",
            "item": world_ids["initiative"],
            "state": "IN_REVIEW",
        },
        NotificationKind.WEBINAR_REMINDER: {"webinar": world_ids["webinar"], "reminder": "DAY"},
        NotificationKind.WEBINAR_UPDATE: {"webinar": world_ids["webinar"], "change": "CANCELLED"},
        NotificationKind.SUPPORT_REQUEST_UPDATE: {
            "supportRequest": world_ids["request"],
            "change": "TRIAGED",
        },
        # written when an item is published: here, one that is not (the draft reads as gone)
        NotificationKind.FOLLOWED_TOPIC: {
            "item_kind": "RESOURCE",
            "item": world_ids["resource"],
            "change": "PUBLISHED",
        },
    }


KIND_SEES = {
    NotificationKind.MENTION: SEES["thread"],
    NotificationKind.REPLY: SEES["thread"],
    NotificationKind.REACTION: SEES["thread"],
    NotificationKind.MODERATION: SEES["thread"],
    NotificationKind.NEW_THREAD: SEES["thread"],
    NotificationKind.REVIEW_DECISION: SEES["initiative"],
    NotificationKind.WEBINAR_REMINDER: SEES["webinar"],
    NotificationKind.WEBINAR_UPDATE: SEES["webinar"],
    NotificationKind.SUPPORT_REQUEST_UPDATE: SEES["request"],
    NotificationKind.FOLLOWED_TOPIC: SEES["resource"],
}
LISTED = "{ unreadNotificationCount notifications(first: 50) { totalCount nodes { kind } } }"


async def test_notifications_are_only_about_what_the_recipient_may_see(
    client: httpx.AsyncClient, factory: Factory, db: Database, broadcast: Any
) -> None:
    crowd = await people(factory)
    community_id = await private_community(client, factory, crowd)
    objects = {"community": community_id, **await private_objects(client, crowd, community_id)}
    ids = {key: decode_int_id(value, TYPES[key]) or 0 for key, value in objects.items()}
    before = {v: (await gql(client, LISTED, member=p))["data"] for v, p in crowd.items() if p}
    recipients = [p.id for p in crowd.values() if p is not None]
    events = EventPublisher(broadcast)
    for kind, subject in subjects(ids).items():
        async with unit_of_work(db.sessions, events) as work:
            await notifications.notify(work, recipients, kind, actor_id=None, subject=subject)

    wrong = []
    for viewer, person in crowd.items():
        if person is None:
            continue
        now = (await gql(client, LISTED, member=person))["data"]
        new = [n["kind"] for n in now["notifications"]["nodes"]]
        new = new[: len(new) - len(before[viewer]["notifications"]["nodes"])]
        expected = sorted(k.value for k, seers in KIND_SEES.items() if viewer in seers)
        if sorted(new) != expected:
            wrong.append(f"{viewer.value}: got {sorted(new)}, expected {expected}")
        grown = now["unreadNotificationCount"] - before[viewer]["unreadNotificationCount"]
        if grown != len(expected):
            wrong.append(f"{viewer.value}: unread count grew by {grown}")
    assert set(KIND_SEES) == set(NotificationKind)
    assert not wrong, "\n".join(wrong)
