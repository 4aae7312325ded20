"""Demo curated knowledge: resources (some superseding or contradicting others, some in review
with reviewers assigned), initiatives and an open call for practices. Also used by the
benchmarks, in bulk."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.initiative import (
    CallForPractices,
    CallObjective,
    Initiative,
    InitiativeCountry,
    InitiativeObjective,
    InitiativeStatus,
)
from models.member import Member, Role
from models.resource import (
    RelationKind,
    RelationStatus,
    Resource,
    ResourceCountry,
    ResourceKind,
    ResourceObjective,
    ResourceRelation,
    SourceType,
)
from models.review import ReviewAssignment, ReviewItemKind, ReviewState

RESOURCE_TOPICS = (
    "fair recruitment",
    "remittance costs",
    "labour migration data",
    "return and reintegration",
    "skills recognition",
    "consular protection",
    "climate mobility",
    "migrant health",
)
PUBLISHERS = ("IOM", "ILO", "UNHCR", "World Bank", "OECD", "National statistics office")
KNOWLEDGE_COUNTRIES = ("KE", "MX", "PH", "DE", "MA", "SN", "CO", "BD", "NP", "JO")
SEEDED_STATES = [ReviewState.APPROVED] * 17 + [
    ReviewState.SUBMITTED,
    ReviewState.IN_REVIEW,
    ReviewState.DRAFT,
]
BATCH = 1_000


async def seed_knowledge(
    session: AsyncSession, rng: random.Random, resources: int, initiatives: int
) -> None:
    """Resources by existing members for their organisations (mostly published; every 20th
    one superseded by the next, every 10th contradicted), initiatives and an open call.
    Bulk inserts, so the benchmark's 10,000 resources take seconds."""
    authors = (await session.execute(select(Member.id, Member.organization_id))).all()
    ids, states = await _insert_resources(session, rng, authors, resources)
    await _place_resources(session, rng, ids)
    await _relate_resources(session, ids, states)
    await _assign_demo_reviewers(session, ids, states)
    await _seed_initiatives(session, rng, authors, initiatives)


async def _insert_resources(
    session: AsyncSession, rng: random.Random, authors: Sequence[Any], resources: int
) -> tuple[list[int], list[ReviewState]]:
    """The resources, in batches: their ids and review states, in order."""
    kinds = list(ResourceKind)
    now = utcnow()
    ids: list[int] = []
    states: list[ReviewState] = []
    for start in range(0, resources, BATCH):
        rows = [
            _resource_row(rng, index, authors[index % len(authors)], kinds, now)
            for index in range(start, min(start + BATCH, resources))
        ]
        inserted = await session.execute(insert(Resource).returning(Resource.id), rows)
        ids.extend(inserted.scalars())
        states.extend(ReviewState(row["state"]) for row in rows)
    return ids, states


def _resource_row(
    rng: random.Random, index: int, author: Any, kinds: Sequence[ResourceKind], now: datetime
) -> dict[str, Any]:
    state = rng.choice(SEEDED_STATES)
    approved = (
        now - timedelta(days=rng.randrange(30, 900)) if state is ReviewState.APPROVED else None
    )
    return {
        "title": f"{rng.choice(RESOURCE_TOPICS).capitalize()}: {kinds[index % len(kinds)].value.lower()} {index:05}",
        "summary": "A demo resource.",
        "body": "A **demo** resource of the knowledge platform.",
        "kind": kinds[index % len(kinds)],
        "link": f"https://example.org/resources/{index}",
        "publisher": rng.choice(PUBLISHERS),
        "published_on": date(2015 + index % 11, 1 + index % 12, 1),
        "language": "en",
        "source_type": rng.choice(list(SourceType)),
        "state": state,
        "author_id": author.id,
        "organization_id": author.organization_id,
        "submitted_at": now - timedelta(days=rng.randrange(1, 60)),
        "approved_at": approved,
        "reviewed_at": approved or now,
        "review_by": approved + timedelta(days=730) if approved else None,
        "created_at": (approved or now) - timedelta(days=rng.randrange(1, 90)),
    }


async def _place_resources(session: AsyncSession, rng: random.Random, ids: Sequence[int]) -> None:
    """Each resource's objectives and countries."""
    about: list[dict[str, object]] = []
    places: list[dict[str, object]] = []
    for resource_id in ids:
        numbers = rng.sample(range(1, 24), rng.randint(1, 3))
        about.extend({"resource_id": resource_id, "objective_number": n} for n in numbers)
        codes = rng.sample(KNOWLEDGE_COUNTRIES, rng.randint(1, 2))
        places.extend({"resource_id": resource_id, "code": c} for c in codes)
    for table, values in ((ResourceObjective, about), (ResourceCountry, places)):
        for start in range(0, len(values), BATCH):
            await session.execute(insert(table), values[start : start + BATCH])


async def _relate_resources(
    session: AsyncSession, ids: Sequence[int], states: Sequence[ReviewState]
) -> None:
    """Every 20th resource superseded by the next, every 10th contradicted by the one after
    next (confirmed)."""
    relations = [
        {
            "from_id": ids[i + 1],
            "to_id": ids[i],
            "kind": RelationKind.SUPERSEDES,
            "note": "New edition.",
        }
        for i in range(0, len(ids) - 1, 20)
    ] + [
        {
            "from_id": ids[i + 2],
            "to_id": ids[i],
            "kind": RelationKind.CONTRADICTS,
            "note": "Other estimates.",
        }
        for i in range(0, len(ids) - 2, 10)
    ]
    for relation in relations:
        relation["status"] = RelationStatus.CONFIRMED
    for start in range(0, len(relations), BATCH):
        await session.execute(insert(ResourceRelation), relations[start : start + BATCH])
    # Only a published successor demotes what it supersedes.
    superseded = [
        ids[i] for i in range(0, len(ids) - 1, 20) if states[i + 1] is ReviewState.APPROVED
    ]
    for start in range(0, len(superseded), BATCH):
        await session.execute(
            update(Resource)
            .where(Resource.id.in_(superseded[start : start + BATCH]))
            .values(supersession_depth=1, currency=-1)
        )


async def _assign_demo_reviewers(
    session: AsyncSession, ids: Sequence[int], states: Sequence[ReviewState]
) -> None:
    """Resources IN_REVIEW go to the demo's reviewers, never to one of the author's
    organisation (the conflict-of-interest rule), so `reviewQueue` has something to show."""
    reviewers = (
        await session.execute(
            select(Member.id, Member.organization_id).where(Member.role == Role.REVIEWER)
        )
    ).all()
    in_review = [i for i, state in zip(ids, states, strict=True) if state is ReviewState.IN_REVIEW]
    if not reviewers or not in_review:
        return
    items = (
        await session.execute(
            select(Resource.id, Resource.author_id, Resource.organization_id).where(
                Resource.id.in_(in_review)
            )
        )
    ).all()
    session.add_all(
        ReviewAssignment(item_kind=ReviewItemKind.RESOURCE, item_id=item.id, reviewer_id=r.id)
        for item in items
        for r in reviewers[:2]
        if r.id != item.author_id
        and (r.organization_id is None or r.organization_id != item.organization_id)
    )


async def _seed_initiatives(
    session: AsyncSession, rng: random.Random, authors: Sequence[Any], count: int
) -> None:
    call = CallForPractices(
        theme="Skills mobility partnerships",
        description="Share practices that recognise migrants' skills.",
        deadline=utcnow() + timedelta(days=90),
    )
    session.add(call)
    await session.flush()
    session.add(CallObjective(call_id=call.id, objective_number=18))
    for index in range(count):
        author = authors[index % len(authors)]
        approved = index % 5 != 4
        initiative = Initiative(
            title=f"{rng.choice(RESOURCE_TOPICS).capitalize()} initiative {index:03}",
            summary="A demo initiative.",
            status=rng.choice(list(InitiativeStatus)),
            starts_on=date(2018 + index % 7, 1 + index % 12, 1),
            results="Demo results.",
            replicability="A documented model others can adapt.",
            lead_organization_id=author.organization_id,
            state=ReviewState.APPROVED if approved else ReviewState.SUBMITTED,
            approved_at=utcnow() if approved else None,
            review_by=utcnow() + timedelta(days=730) if approved else None,
            featured=index < 3,
            call_id=call.id if index % 4 == 0 else None,
            author_id=author.id,
            organization_id=author.organization_id,
            submitted_at=utcnow(),
        )
        session.add(initiative)
        await session.flush()
        session.add_all(
            InitiativeObjective(initiative_id=initiative.id, objective_number=n)
            for n in rng.sample(range(1, 24), 2)
        )
        session.add(
            InitiativeCountry(initiative_id=initiative.id, code=rng.choice(KNOWLEDGE_COUNTRIES))
        )
