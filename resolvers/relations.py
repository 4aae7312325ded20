"""Relations between resources (supersedes, contradicts, ...): proposed by members, confirmed
by reviewers or moderators; confirmed supersession ranks superseded items below their
successors, and cycles of supersession are refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.resource import RelationKind, RelationStatus, Resource, ResourceRelation
from models.review import ReviewState
from resolvers import policy
from resolvers.batching import rows_by_ids
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation, reading_back
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

RELATION_COLUMNS = (
    ResourceRelation.id,
    ResourceRelation.from_id,
    ResourceRelation.to_id,
    ResourceRelation.kind,
    ResourceRelation.status,
    ResourceRelation.note,
    ResourceRelation.proposed_by_id,
    ResourceRelation.created_at,
    ResourceRelation.decided_at,
)
PROPOSALS_ORDER = Keyset("relation-proposals", (ResourceRelation.id,))


@dataclass(frozen=True)
class RelationResult:
    relation: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def _supersedes_transitively(
    session: AsyncSession, start: int, target: int, statuses: Sequence[RelationStatus]
) -> bool:
    """Whether `start` supersedes `target`, directly or through a chain."""
    seen: set[int] = set()
    frontier = {start}
    while frontier:
        if target in frontier:
            return True
        seen |= frontier
        rows = await session.execute(
            select(ResourceRelation.to_id).where(
                ResourceRelation.from_id.in_(frontier),
                ResourceRelation.kind == RelationKind.SUPERSEDES,
                ResourceRelation.status.in_(list(statuses)),
            )
        )
        frontier = set(rows.scalars()) - seen
    return False


ALREADY_PROPOSED = Problem(None, "This relation was already proposed.", ErrorCode.CONFLICT)
CYCLE = Problem(
    "toId",
    "This would make the resources supersede each other in a cycle.",
    ErrorCode.SUPERSESSION_CYCLE,
)


async def _rerank(session: AsyncSession, start: int) -> None:
    """Give `start` and everything it supersedes a depth below their deepest published
    successor (a successor in review, rejected or archived does not demote anything)."""
    queue = [start]
    while queue:
        current = queue.pop()
        deepest = await session.scalar(
            select(func.max(Resource.supersession_depth))
            .join(ResourceRelation, ResourceRelation.from_id == Resource.id)
            .where(
                ResourceRelation.to_id == current,
                ResourceRelation.kind == RelationKind.SUPERSEDES,
                ResourceRelation.status == RelationStatus.CONFIRMED,
                Resource.state == ReviewState.APPROVED,
            )
        )
        depth = 0 if deepest is None else deepest + 1
        resource = await session.get_one(Resource, current)
        if resource.supersession_depth != depth:
            resource.supersession_depth = depth
            resource.currency = -depth
            await session.flush()
            older = await session.execute(
                select(ResourceRelation.to_id).where(
                    ResourceRelation.from_id == current,
                    ResourceRelation.kind == RelationKind.SUPERSEDES,
                    ResourceRelation.status == RelationStatus.CONFIRMED,
                )
            )
            queue.extend(older.scalars())


async def rerank_superseded_by(session: AsyncSession, resource_id: int) -> None:
    """After a resource is published or leaves publication: re-rank what it supersedes."""
    await session.flush()
    superseded = await session.execute(
        select(ResourceRelation.to_id).where(
            ResourceRelation.from_id == resource_id,
            ResourceRelation.kind == RelationKind.SUPERSEDES,
            ResourceRelation.status == RelationStatus.CONFIRMED,
        )
    )
    for older in superseded.scalars().all():
        await _rerank(session, older)


def _relation_row(relation_id: int) -> AnySelect:
    return select(*RELATION_COLUMNS).where(ResourceRelation.id == relation_id)


def _result(done: Outcome[AnyRow | None]) -> RelationResult:
    """The relation a mutation wrote (read in its transaction), or why nothing changed."""
    return RelationResult(relation=done.value, problems=done.problems)


async def propose_relation(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    from_id: int,
    to_id: int,
    kind: RelationKind,
    note: str,
) -> RelationResult:
    """Any member proposes a relation between two resources they can see."""
    problems = ProblemList()
    note = clean_text(problems, "note", note, max_length=2_000, multiline=True, required=False)
    if from_id == to_id:
        problems.add("toId", "A resource does not relate to itself.")

    async def change(work: UnitOfWork) -> int:
        for name, key in (("fromId", from_id), ("toId", to_id)):
            found = await work.session.scalar(
                select(Resource.id).where(
                    Resource.id == key,
                    Resource.revision_of_id.is_(None),
                    policy.visible_resources(viewer),
                )
            )
            if found is None:
                raise Refused(Problem(name, "No such resource.", ErrorCode.NOT_FOUND))
        duplicate = await work.session.scalar(
            select(ResourceRelation.id).where(
                ResourceRelation.from_id == from_id,
                ResourceRelation.to_id == to_id,
                ResourceRelation.kind == kind,
            )
        )
        if duplicate is not None:
            raise Refused(ALREADY_PROPOSED)
        if kind is RelationKind.SUPERSEDES and await _supersedes_transitively(
            work.session, to_id, from_id, [RelationStatus.CONFIRMED, RelationStatus.PROPOSED]
        ):
            raise Refused(CYCLE)
        relation = ResourceRelation(
            from_id=from_id, to_id=to_id, kind=kind, note=note, proposed_by_id=viewer.member_id
        )
        work.session.add(relation)
        await work.session.flush()
        return relation.id

    # The same relation proposed at the same time: the unique constraint keeps one.
    done = await mutation(
        sessions,
        events,
        viewer,
        reading_back(change, _relation_row),
        problems=problems,
        conflict=ALREADY_PROPOSED,
    )
    return _result(done)


async def decide_relation(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, relation_id: int, confirm: bool
) -> RelationResult:
    """Reviewers and moderators confirm or reject a proposed relation."""

    async def change(work: UnitOfWork) -> int:
        relation = await _decidable(work, viewer, relation_id)
        if confirm and relation.kind is RelationKind.SUPERSEDES:
            # Lock the pair's lower id (PostgreSQL): two supersessions of the same pair
            # confirmed at once (A over B, B over A) are checked one after the other, so
            # the second sees the first and is refused as a cycle. One row, not both: an
            # approval holding the successor while it re-ranks what it supersedes cannot
            # wait on us while we wait on it.
            pair = min(relation.from_id, relation.to_id)
            await work.session.execute(
                select(Resource.id).where(Resource.id == pair).with_for_update()
            )
        if (
            confirm
            and relation.kind is RelationKind.SUPERSEDES
            and await _supersedes_transitively(
                work.session, relation.to_id, relation.from_id, [RelationStatus.CONFIRMED]
            )
        ):
            raise Refused(CYCLE)
        relation.status = RelationStatus.CONFIRMED if confirm else RelationStatus.REJECTED
        relation.decided_by_id = viewer.member_id
        relation.decided_at = utcnow()
        await work.session.flush()
        if relation.kind is RelationKind.SUPERSEDES and confirm:
            await _rerank(work.session, relation.to_id)
        return relation.id

    return _result(await mutation(sessions, events, viewer, reading_back(change, _relation_row)))


async def _decidable(work: UnitOfWork, viewer: Viewer, relation_id: int) -> ResourceRelation:
    # Locked (PostgreSQL): two simultaneous decisions are taken one after the other, and the
    # second finds the relation decided (INVALID_TRANSITION) instead of overwriting it.
    relation = await work.session.scalar(
        select(ResourceRelation)
        .where(ResourceRelation.id == relation_id, policy.visible_relations(viewer))
        .with_for_update(of=ResourceRelation)
    )
    if relation is None or not policy.may_decide_relations(viewer):
        raise Refused(Problem("relationId", "No such proposed relation.", ErrorCode.NOT_FOUND))
    if relation.status is not RelationStatus.PROPOSED:
        raise Refused(
            Problem(
                "relationId",
                "This relation is already {status}.",
                ErrorCode.INVALID_TRANSITION,
                values=message_values(status=relation.status.value),
            )
        )
    return relation


async def proposals_page(sessions: Sessions, viewer: Viewer, request: PageRequest) -> Page | None:
    """Relations waiting for a decision, oldest first: for reviewers and moderators."""
    if not policy.may_decide_relations(viewer):
        return None
    statement = select(*RELATION_COLUMNS).where(
        ResourceRelation.status == RelationStatus.PROPOSED, policy.visible_relations(viewer)
    )
    return await fetch_page(sessions, statement, PROPOSALS_ORDER, request)


async def relations_by_resource(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[list[AnyRow]]:
    """Confirmed relations from or to each resource, both ends visible (one query a batch)."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(*RELATION_COLUMNS)
                .where(
                    ResourceRelation.status == RelationStatus.CONFIRMED,
                    policy.visible_relations(viewer),
                    or_(ResourceRelation.from_id.in_(ids), ResourceRelation.to_id.in_(ids)),
                )
                .order_by(ResourceRelation.id)
            )
        ).all()
    by_resource: dict[int, list[AnyRow]] = {i: [] for i in ids}
    for row in rows:
        for end in (row.from_id, row.to_id):
            if end in by_resource:
                by_resource[end].append(row)
    return [by_resource[i] for i in ids]


async def relations_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions,
        select(*RELATION_COLUMNS).where(
            ResourceRelation.id.in_(ids), policy.visible_relations(viewer)
        ),
        ids,
    )
