"""Demo discussions: communities on GCM topics (one private) with members, threads, replies and
reactions, drawn from the demo's shared random generator."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.community import (
    Community,
    CommunityMember,
    CommunityObjective,
    CommunityRole,
    CommunityVisibility,
)
from models.member import Member
from models.thread import Post, Reaction, ReactionKind, Thread


@dataclass(frozen=True)
class DemoCommunity:
    slug: str
    name: str
    visibility: CommunityVisibility
    objectives: tuple[int, ...]
    threads: tuple[str, ...]  # on its topic: three of them are opened, drawn at random
    replies: tuple[str, ...]


DEMO_COMMUNITIES = (
    DemoCommunity(
        "fair-recruitment",
        "Fair recruitment and decent work",
        CommunityVisibility.PUBLIC,
        (6, 22),
        (
            "Recruitment fees: who pays, and how do we end them?",
            "Bilateral labour agreements that worked",
            "Ethical recruitment in the care sector",
            "Portability of social security benefits",
        ),
        (
            "In our experience the **employer pays** principle needs enforcement at both ends.",
            "See objective 6 of the GCM: *safeguard conditions that ensure decent work*.",
            "Could someone share the template agreement mentioned above?",
        ),
    ),
    DemoCommunity(
        "migration-data",
        "Migration data and evidence",
        CommunityVisibility.PUBLIC,
        (1, 3),
        (
            "Disaggregating migration data by sex and age",
            "Sharing administrative data across ministries",
            "Measuring recruitment costs for SDG indicator 10.7.1",
            "Counting irregular migration without putting people at risk",
        ),
        (
            "Our statistics office links census and border data; the metadata was the hard part.",
            "See objective 1 of the GCM: *collect and utilize accurate and disaggregated data*.",
            "Could someone share the data-sharing agreement mentioned above?",
        ),
    ),
    DemoCommunity(
        "return-reintegration",
        "Return and reintegration (closed group)",
        CommunityVisibility.PRIVATE,
        (21,),
        (
            "Reintegration support that lasts beyond the first months",
            "Recognising skills gained abroad on return",
            "Referral pathways for returnees in vulnerable situations",
            "Community-based reintegration: what worked?",
        ),
        (
            "Our ministry piloted this with three origin countries. Results were mixed.",
            "See objective 21 of the GCM: *dignified return and sustainable reintegration*.",
            "We published guidance on this last year; happy to share the lessons learned.",
        ),
    ),
)


async def demo_discussions(session: AsyncSession, rng: random.Random) -> None:
    """Communities with members, threads and replies (with reactions), for GraphiQL."""
    member_ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
    for demo in DEMO_COMMUNITIES:
        community = Community(
            slug=demo.slug,
            name=demo.name,
            visibility=demo.visibility,
            description=f"# {demo.name}\n\nA demo community.",
            created_by_id=member_ids[1],
        )
        session.add(community)
        await session.flush()
        session.add_all(
            CommunityObjective(community_id=community.id, objective_number=n)
            for n in demo.objectives
        )
        members = [member_ids[1], *rng.sample(member_ids[2:], 25)]
        session.add_all(
            CommunityMember(
                community_id=community.id,
                member_id=m,
                role=CommunityRole.MODERATOR if m == member_ids[1] else CommunityRole.MEMBER,
            )
            for m in members
        )
        for title in rng.sample(demo.threads, 3):
            thread = Thread(
                community_id=community.id,
                author_id=rng.choice(members),
                title=title,
                body="What has worked in your context?",
            )
            session.add(thread)
            await session.flush()
            replies = rng.randint(2, 12)
            for _ in range(replies):
                post = Post(
                    thread_id=thread.id,
                    author_id=rng.choice(members),
                    body=rng.choice(demo.replies),
                )
                session.add(post)
                await session.flush()
                for reactor in rng.sample(members, rng.randint(0, 4)):
                    session.add(
                        Reaction(
                            post_id=post.id, member_id=reactor, kind=rng.choice(list(ReactionKind))
                        )
                    )
            thread.reply_count = replies
