"""Following the Compact, not only threads: a member follows a GCM objective, a guiding
principle, a country or a UN region, and is notified (kind FOLLOWED_TOPIC, by the channels
they chose for it: a weekly digest unless they say otherwise) when a resource or an initiative
tagged with it is published, a webinar on it is scheduled, or a call for practices on it is
opened. A region's followers
also hear of what is tagged with a country of that region.

Publishing writes one job to the outbox (resolvers/topic_fanout.py); the workers expand it
into notifications through `notify()` in batches: the policy decides when they are written
and again when each email, digest or push message is sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import insert_ignoring_duplicates
from models.initiative import (
    InitiativeCountry,
    InitiativeObjective,
    InitiativePrinciple,
    InitiativeRegion,
)
from models.notification import NotificationKind, TopicFollow, TopicKind
from models.reference import GcmObjective, GuidingPrinciple, UnRegion, region_of_country
from models.resource import ResourceCountry, ResourceObjective, ResourcePrinciple, ResourceRegion
from models.review import ReviewItemKind
from resolvers import policy
from resolvers.errors import ErrorCode, Problem
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.topic_fanout import FollowerNews, tell_followers_later
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation
from resolvers.validation import country_name

Sessions = async_sessionmaker[AsyncSession]

ONE_TOPIC = Problem(
    None,
    "Name exactly one topic: an objective, a principle, a country or a region.",
    ErrorCode.INVALID,
)
NO_SUCH_OBJECTIVE = Problem("objectiveId", "No such GCM objective.", ErrorCode.NOT_FOUND)
NO_SUCH_PRINCIPLE = Problem("principle", "No such guiding principle.", ErrorCode.NOT_FOUND)
BAD_COUNTRY = Problem(
    "country", "Must be an ISO 3166-1 alpha-2 country code, such as KE or MX.", ErrorCode.INVALID
)
NEWEST_FIRST = Keyset("topic_follows", (TopicFollow.id,), descending=True)
FOLLOW_COLUMNS = (TopicFollow.id, TopicFollow.topic, TopicFollow.key, TopicFollow.created_at)


@dataclass(frozen=True)
class Topic:
    kind: TopicKind
    key: str


def topic_of(
    objective: int | None, principle: str | None, country: str | None, region: UnRegion | None
) -> Topic | Problem:
    """The one topic an input names (keys normalised), or what is wrong with it."""
    given = [v for v in (objective, principle, country, region) if v is not None]
    if len(given) != 1:
        return ONE_TOPIC
    if objective is not None:
        return Topic(TopicKind.OBJECTIVE, str(objective))
    if principle is not None:
        return Topic(TopicKind.PRINCIPLE, principle.strip().lower())
    if country is not None:
        code = country.strip().upper()
        if len(code) != 2 or country_name(code) == code:
            return BAD_COUNTRY
        return Topic(TopicKind.COUNTRY, code)
    assert region is not None
    return Topic(TopicKind.REGION, region.value)


async def _known(session: AsyncSession, topic: Topic) -> bool:
    """Objectives and principles are the seeded reference data (countries and regions are
    checked against ISO 3166 and M49 when the topic is read from the input)."""
    if topic.kind is TopicKind.OBJECTIVE:
        found = await session.get(GcmObjective, int(topic.key))
        return found is not None
    if topic.kind is TopicKind.PRINCIPLE:
        return await session.get(GuidingPrinciple, topic.key) is not None
    return True


async def follow_topic(
    sessions: Sessions, viewer: Viewer, topic: Topic | Problem
) -> Outcome[Topic]:
    """Follow a topic (following it again changes nothing)."""
    problems = [topic] if isinstance(topic, Problem) else []

    async def change(work: UnitOfWork) -> Topic:
        assert isinstance(topic, Topic)
        assert viewer.member_id is not None
        if not await _known(work.session, topic):
            raise Refused(
                NO_SUCH_OBJECTIVE if topic.kind is TopicKind.OBJECTIVE else NO_SUCH_PRINCIPLE
            )
        await insert_ignoring_duplicates(
            work.session, TopicFollow, member_id=viewer.member_id, topic=topic.kind, key=topic.key
        )
        return topic

    return await mutation(sessions, None, viewer, change, problems=problems)


async def unfollow_topic(
    sessions: Sessions, viewer: Viewer, topic: Topic | Problem
) -> Outcome[bool]:
    """Stop following a topic; whether it was followed."""
    problems = [topic] if isinstance(topic, Problem) else []

    async def change(work: UnitOfWork) -> bool:
        assert isinstance(topic, Topic)
        removed = await work.session.execute(
            delete(TopicFollow).where(
                policy.own_topic_follows(viewer),
                TopicFollow.topic == topic.kind,
                TopicFollow.key == topic.key,
            )
        )
        return bool(removed.rowcount)  # type: ignore[attr-defined]

    return await mutation(sessions, None, viewer, change, problems=problems)


async def follows_page(
    sessions: Sessions, viewer: Viewer, member_id: int, request: PageRequest
) -> Page | None:
    """The topics a member follows, newest first: theirs alone to read (None for others)."""
    if not policy.may_read_topic_follows(viewer, member_id):
        return None
    statement = select(*FOLLOW_COLUMNS).where(policy.own_topic_follows(viewer))
    return await fetch_page(sessions, statement, NEWEST_FIRST, request)


# --- who hears of what is published ------------------------------------------------------------


# Where each kind of item keeps its tags: (objectives, principles, countries, regions).
_TAGS: dict[ReviewItemKind, tuple[Any, Any, Any, Any]] = {
    ReviewItemKind.RESOURCE: (
        ResourceObjective.objective_number,
        ResourcePrinciple.principle_letter,
        ResourceCountry.code,
        ResourceRegion.m49,
    ),
    ReviewItemKind.INITIATIVE: (
        InitiativeObjective.objective_number,
        InitiativePrinciple.principle_letter,
        InitiativeCountry.code,
        InitiativeRegion.m49,
    ),
}
_ITEM_ID = {ReviewItemKind.RESOURCE: "resource_id", ReviewItemKind.INITIATIVE: "initiative_id"}


async def item_topics(session: AsyncSession, kind: ReviewItemKind, item_id: int) -> list[Topic]:
    """What a reviewed item is tagged with, a country's region included."""
    topics: list[Topic] = []
    kinds = (TopicKind.OBJECTIVE, TopicKind.PRINCIPLE, TopicKind.COUNTRY, TopicKind.REGION)
    for topic_kind, column in zip(kinds, _TAGS[kind], strict=True):
        owner = getattr(column.class_, _ITEM_ID[kind])
        for value in await session.scalars(select(column).where(owner == item_id)):
            topics.append(Topic(topic_kind, str(value)))
    for topic in list(topics):
        region = region_of_country(topic.key) if topic.kind is TopicKind.COUNTRY else None
        if region is not None:
            topics.append(Topic(TopicKind.REGION, region.value))
    return topics


def _news(
    topics: Iterable[Topic],
    subject: dict[str, Any],
    *,
    actor_id: int | None,
    excluded: int | None = None,
) -> FollowerNews:
    return FollowerNews(
        topics=tuple((t.kind, t.key) for t in topics),
        kind=NotificationKind.FOLLOWED_TOPIC,
        subject=subject,
        actor_id=actor_id,
        excluded=excluded,
    )


async def tell_followers_of_item(
    work: UnitOfWork, kind: ReviewItemKind, item_id: int, author_id: int | None
) -> None:
    """A reviewed item was published: the followers of its topics (the author aside) will be
    notified by a worker, the policy asking then whether they may see it."""
    topics = await item_topics(work.session, kind, item_id)
    subject = {"item_kind": kind.value, "item": item_id, "change": "PUBLISHED"}
    await tell_followers_later(work, _news(topics, subject, actor_id=None, excluded=author_id))


async def tell_followers_of_webinar(
    work: UnitOfWork, webinar_id: int, objectives: Sequence[int], creator_id: int | None
) -> None:
    """A webinar on these objectives was scheduled (it is visible from then on): their
    followers who may see it (a community's webinar: its members, its hosts, staff) will be
    notified. Webinars are tagged with objectives only."""
    subject = {"webinar": webinar_id, "change": "SCHEDULED"}
    await tell_followers_later(work, _news(_objectives(objectives), subject, actor_id=creator_id))


async def tell_followers_of_call(
    work: UnitOfWork, call_id: int, objectives: Sequence[int], actor_id: int | None
) -> None:
    """A call for practices was opened on these objectives: their followers will be notified."""
    subject = {"call": call_id, "change": "OPENED"}
    await tell_followers_later(work, _news(_objectives(objectives), subject, actor_id=actor_id))


def _objectives(numbers: Sequence[int]) -> list[Topic]:
    return [Topic(TopicKind.OBJECTIVE, str(n)) for n in numbers]
