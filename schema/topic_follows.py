"""Following the Compact in GraphQL: follow or unfollow a GCM objective, a guiding principle, a
country or a UN region, and list what you follow (`viewer { follows }`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.notification import TopicKind as TopicKindModel
from models.reference import UnRegion as UnRegionModel
from resolvers import topic_follows
from resolvers.errors import Problem
from resolvers.policy import Viewer
from resolvers.topic_follows import NO_SUCH_OBJECTIVE, Topic
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, user_errors
from schema.reference import (
    Country,
    GcmObjective,
    GuidingPrinciple,
    Region,
    UnRegion,
)
from schema.relay import Connection, connection, decode_int_id, page_request

TopicKind = described_enum(
    TopicKindModel,
    "What of the Compact's vocabulary can be followed.",
    {
        "OBJECTIVE": "One of the 23 GCM objectives.",
        "PRINCIPLE": "One of the 10 guiding principles.",
        "COUNTRY": "A country (and what is tagged with it).",
        "REGION": "A UN M49 region (and what is tagged with it or one of its countries).",
    },
)


@strawberry.type(description="A topic you follow.")
class TopicFollow:
    kind: TopicKind = strawberry.field(description="What kind of topic it is.")  # type: ignore[valid-type]
    key: str = strawberry.field(
        description="The objective's number, the principle's letter, the country's ISO code or "
        "the region's M49 code."
    )
    created_at: datetime = strawberry.field(description="Since when you follow it (UTC).")

    @classmethod
    def from_row(cls, row: AnyRow) -> TopicFollow:
        return cls(kind=row.topic, key=row.key, created_at=row.created_at)

    @strawberry.field(description="The objective, when the topic is one.")
    async def objective(self, info: Info) -> GcmObjective | None:
        if self.kind is not TopicKindModel.OBJECTIVE:
            return None
        row = await info.context.loaders.objective_by_number.load(int(self.key))
        return GcmObjective.from_row(row) if row is not None else None

    @strawberry.field(description="The guiding principle, when the topic is one.")
    async def principle(self, info: Info) -> GuidingPrinciple | None:
        if self.kind is not TopicKindModel.PRINCIPLE:
            return None
        row = await info.context.loaders.principle_by_letter.load(self.key)
        return GuidingPrinciple(letter=row.letter, english_name=row.name) if row else None

    @strawberry.field(description="The country, when the topic is one.")
    def country(self) -> Country | None:
        return Country(code=self.key) if self.kind is TopicKindModel.COUNTRY else None

    @strawberry.field(description="The region, when the topic is one.")
    def region(self) -> Region | None:
        if self.kind is not TopicKindModel.REGION:
            return None
        return Region(region=UnRegionModel(self.key), m49=self.key)


async def resolve_follows(
    info: Info, member_id: int, reader: Viewer, first: int | None, after: str | None
) -> Connection[TopicFollow] | None:
    page = await topic_follows.follows_page(
        info.context.db.sessions, reader, member_id, page_request(first, after, None, None)
    )
    return connection(page, TopicFollow.from_row) if page is not None else None


@strawberry.input(
    description="Exactly one topic: an objective, a principle, a country or a region."
)
class TopicInput:
    objective_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of a GcmObjective."
    )
    principle: str | None = strawberry.field(
        default=None, description="Letter of a guiding principle, a to j."
    )
    country: str | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 code of a country, such as KE."
    )
    region: UnRegion | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="A UN M49 region."
    )


@strawberry.type(description="Result of `followTopic` and `unfollowTopic`.")
class TopicFollowPayload:
    following: bool = strawberry.field(description="Whether you follow the topic now.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


def _topic(input: TopicInput) -> Topic | Problem | None:
    """The input's topic; None when its objective ID names no objective."""
    objective = None
    if input.objective_id is not None:
        objective = decode_int_id(input.objective_id, "GcmObjective")
        if objective is None:
            return None
    return topic_follows.topic_of(objective, input.principle, input.country, input.region)


async def follow_topic(info: Info, input: Annotated[TopicInput, INPUT]) -> TopicFollowPayload:
    topic = _topic(input)
    if topic is None:
        return TopicFollowPayload(following=False, errors=user_errors([NO_SUCH_OBJECTIVE]))
    outcome = await topic_follows.follow_topic(info.context.db.sessions, info.context.viewer, topic)
    return TopicFollowPayload(
        following=outcome.value is not None, errors=user_errors(outcome.problems)
    )


async def unfollow_topic(info: Info, input: Annotated[TopicInput, INPUT]) -> TopicFollowPayload:
    topic = _topic(input)
    if topic is None:
        return TopicFollowPayload(following=False, errors=user_errors([NO_SUCH_OBJECTIVE]))
    outcome = await topic_follows.unfollow_topic(
        info.context.db.sessions, info.context.viewer, topic
    )
    return TopicFollowPayload(following=False, errors=user_errors(outcome.problems))
