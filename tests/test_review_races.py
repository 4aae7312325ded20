"""Simultaneous requests on one reviewed item or relation, through the API on PostgreSQL: the
loser answers a typed error (CONFLICT, or INVALID_TRANSITION for a decision already taken),
never an internal error, and the database keeps one copy; two edits of one published item at
once open one revision, not two.

Each race is made certain: a blocking transaction holds what the requests need (the item's
row lock, or an uncommitted copy of the row they insert) until every request waits on it,
then lets go. SQLite has no row locks to wait on: these tests run on PostgreSQL only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.db import Database
from models.initiative import Initiative
from models.resource import RelationKind, RelationStatus, Resource, ResourceRelation
from models.review import Review, ReviewItemKind
from schema.relay import decode_int_id, encode_id
from tests.knowledge import (
    REVIEW,
    UPDATE_RESOURCE,
    assign,
    call,
    cast,
    published,
    resource_input,
    review_input,
    submitted,
)
from tests.test_initiatives import approved_initiative, initiative_input
from tests.test_resource_relations import DECIDE_RELATION, relate

WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock'"
)


@pytest.fixture(autouse=True)
def _postgresql_only(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("row locks and lock waits are PostgreSQL's")


async def all_at_once(
    db: Database,
    hold: Callable[[AsyncConnection], Awaitable[Any]],
    requests: list[Callable[[], Awaitable[dict[str, Any]]]],
) -> list[dict[str, Any]]:
    """Run `requests` together while `hold` keeps them waiting; release once all wait."""
    async with db.engine.connect() as blocker:
        held = await blocker.begin()
        await hold(blocker)
        tasks = [asyncio.create_task(request()) for request in requests]
        for _ in range(500):  # polled: the database tells nobody that a request now waits
            await blocker.execute(text("SELECT pg_stat_clear_snapshot()"))
            if await blocker.scalar(WAITING) == len(requests):
                break
            await asyncio.sleep(0.02)
        else:
            for task in tasks:
                task.cancel()
            pytest.fail("the requests never waited on the held lock")
        await held.rollback()
    return list(await asyncio.gather(*tasks))


def lock_resource(resource_id: str) -> Callable[[AsyncConnection], Awaitable[Any]]:
    key = decode_int_id(resource_id, "Resource")

    async def hold(blocker: AsyncConnection) -> None:
        await blocker.execute(select(Resource.id).where(Resource.id == key).with_for_update())

    return hold


async def reviews_of(db: Database, resource_id: str) -> int:
    async with db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    Review.item_kind == ReviewItemKind.RESOURCE,
                    Review.item_id == decode_int_id(resource_id, "Resource"),
                )
            )
            or 0
        )


def sorted_codes(payloads: list[dict[str, Any]]) -> list[list[str]]:
    return sorted([e["code"] for e in p["errors"]] for p in payloads)


@pytest.mark.parametrize("closing", [False, True], ids=["first-review", "closing-review"])
async def test_a_double_review_submission_answers_conflict_once(client, factory, db, closing):
    # given a resource in review; with `closing`, the double-submitting reviewer's approval
    # is the second one, which publishes it (the copy that loses finds it APPROVED)
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.un_reviewer_2)
    if closing:
        await call(client, REVIEW, {"input": review_input(resource_id)}, people.un_reviewer)
    variables = {"input": review_input(resource_id)}

    async def submit() -> dict[str, Any]:
        return await call(client, REVIEW, variables, people.un_reviewer_2)

    # when the same reviewer submits the same review twice at the same time
    payloads = await all_at_once(db, lock_resource(resource_id), [submit, submit])
    # then one is taken, the other answers CONFLICT, and one review is stored
    assert sorted_codes(payloads) == [[], ["CONFLICT"]]
    assert await reviews_of(db, resource_id) == (2 if closing else 1)
    taken = next(p for p in payloads if not p["errors"])
    assert taken["item"]["state"] == ("APPROVED" if closing else "IN_REVIEW")


async def test_the_same_relation_proposed_twice_at_once_answers_conflict(client, factory, db):
    # given two published resources
    people = await cast(factory)
    old = await published(client, people, title="Old edition")
    new = await published(client, people, title="New edition")
    from_key, to_key = decode_int_id(new, "Resource"), decode_int_id(old, "Resource")

    async def hold(blocker: AsyncConnection) -> None:
        # an uncommitted copy of the relation: both requests find none and wait at their insert
        await blocker.execute(
            insert(ResourceRelation).values(
                from_id=from_key, to_id=to_key, kind=RelationKind.SUPERSEDES, note=""
            )
        )

    async def propose() -> dict[str, Any]:
        return await relate(client, people.member, new, old, "SUPERSEDES", "Second edition.")

    # when the same relation is proposed twice at the same time
    payloads = await all_at_once(db, hold, [propose, propose])
    # then one proposal is kept, the other answers CONFLICT
    assert sorted_codes(payloads) == [[], ["CONFLICT"]]
    async with db.sessions() as session:
        kept = await session.scalar(select(func.count()).select_from(ResourceRelation))
    assert kept == 1


async def test_one_relation_decided_twice_at_once_is_decided_once(client, factory, db):
    # given a proposed supersession
    people = await cast(factory)
    old = await published(client, people, title="Old edition")
    new = await published(client, people, title="New edition")
    proposed = await relate(client, people.member, new, old, "SUPERSEDES", "Second edition.")
    relation_id = proposed["relation"]["id"]
    relation_key = decode_int_id(relation_id, "ResourceRelation")

    async def hold(blocker: AsyncConnection) -> None:
        await blocker.execute(
            select(ResourceRelation.id).where(ResourceRelation.id == relation_key).with_for_update()
        )

    def decide(member: Any, confirm: bool) -> Callable[[], Awaitable[dict[str, Any]]]:
        async def run() -> dict[str, Any]:
            variables = {"id": relation_id, "confirm": confirm}
            return await call(client, DECIDE_RELATION, variables, member)

        return run

    # when two reviewers decide it at the same time, one confirming, one rejecting
    payloads = await all_at_once(
        db, hold, [decide(people.un_reviewer, True), decide(people.un_reviewer_2, False)]
    )
    # then one decision is taken, the other finds it decided
    assert sorted_codes(payloads) == [[], ["INVALID_TRANSITION"]]
    taken = next(p for p in payloads if not p["errors"])
    async with db.sessions() as session:
        status = await session.scalar(
            select(ResourceRelation.status).where(ResourceRelation.id == relation_key)
        )
    assert status is RelationStatus[taken["relation"]["status"]]


@pytest.mark.parametrize("kind", ["Resource", "Initiative"])
async def test_two_edits_of_a_published_item_at_once_open_one_revision(client, factory, db, kind):
    # given a published resource or initiative
    people = await cast(factory)
    model: Any
    if kind == "Resource":
        item = await published(client, people)
        query, model = UPDATE_RESOURCE, Resource

        def variables(title: str) -> dict[str, Any]:
            return {"input": {"resourceId": item, "resource": resource_input(title)}}
    else:
        item = await approved_initiative(client, people)
        query, model = UPDATE_INITIATIVE, Initiative

        def variables(title: str) -> dict[str, Any]:
            return {"input": {"initiativeId": item, "initiative": initiative_input(title)}}

    key = decode_int_id(item, kind)

    async def hold(blocker: AsyncConnection) -> None:
        await blocker.execute(select(model.id).where(model.id == key).with_for_update())

    def edit(title: str) -> Callable[[], Awaitable[dict[str, Any]]]:
        async def run() -> dict[str, Any]:
            return await call(client, query, variables(title), people.author)

        return run

    # when its author saves two edits at the same time
    payloads = await all_at_once(db, hold, [edit("First wording"), edit("Second wording")])
    # then both land in one revision (the later edit wins), never two open revisions
    assert sorted_codes(payloads) == [[], []]
    async with db.sessions() as session:
        revisions = await session.scalar(select(func.count()).where(model.revision_of_id == key))
    assert revisions == 1


UPDATE_INITIATIVE = """
mutation($input: UpdateInitiativeInput!) {
  updateInitiative(input: $input) { initiative { id } errors { field code message } }
}
"""


async def test_opposite_supersessions_confirmed_at_once_never_make_a_cycle(client, factory, db):
    # given "A supersedes B" proposed, then "B supersedes A" (refused as a cycle only once the
    # first is confirmed, so this one is proposed first and the other inserted as proposed)
    people = await cast(factory)
    first = await published(client, people, title="A")
    second = await published(client, people, title="B")
    a_over_b = await relate(client, people.member, first, second, "SUPERSEDES")
    keys = sorted(decode_int_id(i, "Resource") for i in (first, second))
    async with db.sessions.begin() as session:
        session.add(
            ResourceRelation(
                from_id=decode_int_id(second, "Resource"),
                to_id=decode_int_id(first, "Resource"),
                kind=RelationKind.SUPERSEDES,
                note="",
            )
        )
        await session.flush()
        b_over_a_key = await session.scalar(
            select(ResourceRelation.id).where(
                ResourceRelation.from_id == decode_int_id(second, "Resource")
            )
        )
    b_over_a = encode_id("ResourceRelation", b_over_a_key)

    async def hold(blocker: AsyncConnection) -> None:
        await blocker.execute(select(Resource.id).where(Resource.id == keys[0]).with_for_update())

    def confirm(relation_id: str, member: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
        async def run() -> dict[str, Any]:
            variables = {"id": relation_id, "confirm": True}
            return await call(client, DECIDE_RELATION, variables, member)

        return run

    # when two reviewers confirm the opposite supersessions at the same time
    payloads = await all_at_once(
        db,
        hold,
        [
            confirm(a_over_b["relation"]["id"], people.un_reviewer),
            confirm(b_over_a, people.un_reviewer_2),
        ],
    )
    # then one is confirmed, the other refused as a cycle
    assert sorted_codes(payloads) == [[], ["SUPERSESSION_CYCLE"]]
    async with db.sessions() as session:
        confirmed = await session.scalar(
            select(func.count()).where(ResourceRelation.status == RelationStatus.CONFIRMED)
        )
    assert confirmed == 1
