"""Seed for the discussion benchmarks: a public community with many members and one long
thread, its posts written by varied members, with several reactions on every post.

Used by `thread_page.py` and `fanout.py` after `app.seed.seed_demo` has created the members.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select

from app.settings import Settings
from models.community import Community, CommunityMember, CommunityRole, CommunityVisibility
from models.db import create_database
from models.member import Member, Role
from models.thread import Post, Reaction, ReactionKind, Thread

VIEWER_EMAIL = "member1@demo.hub"  # the signed-in viewer, and the poster in fanout.py
# The thread gets an ID far above the demo's: broker channels (`thread:<id>`) are not
# namespaced per database, so another hub sharing this Redis cannot collide with ours.
THREAD_ID_RANGE = (1_000_000, 2_000_000_000)
REPLIES = (
    "In our experience the **employer pays** principle needs enforcement at both ends.",
    "We published guidance on this last year; happy to share the lessons learned.",
    "Could someone share the template agreement mentioned above?",
    "Our ministry piloted this with three origin countries. Results were mixed.",
    "See objective 6 of the GCM: *safeguard conditions that ensure decent work*.",
    "Data from the last labour force survey suggests the fees fell by a third.",
)


@dataclass(frozen=True)
class Discussion:
    community_id: int
    thread_id: int
    member_emails: list[str]  # the community's members, the viewer first


async def _community_members(settings: Settings, count: int) -> list[tuple[int, str]]:
    """(id, e-mail) of the viewer and of `count - 1` other plain members (one permission scope
    for all of them: same global role, same community role)."""
    db = create_database(settings.database_url)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Member.id, Member.email)
                .where(Member.role == Role.MEMBER)
                .order_by(Member.email != VIEWER_EMAIL, Member.id)
                .limit(count)
            )
            members = [(int(i), str(e)) for i, e in rows]
    finally:
        await db.dispose()
    if len(members) < count or members[0][1] != VIEWER_EMAIL:
        raise ValueError(f"seed at least {count} plain members, {VIEWER_EMAIL} among them")
    return members


async def seed_discussion(
    settings: Settings, *, posts: int, members: int, seed: int = 2018
) -> Discussion:
    """A public community of `members` members and one thread of `posts` posts; every post has
    2 to 6 reactions (random members, random kinds), and the viewer reacts to every third."""
    rng = random.Random(seed)
    people = await _community_members(settings, members)
    ids = [i for i, _ in people]
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            community = Community(
                slug="bench-discussion",
                name="Benchmark discussion",
                visibility=CommunityVisibility.PUBLIC,
                description="A public community for the benchmarks.",
                created_by_id=ids[0],
            )
            session.add(community)
            await session.flush()
            session.add_all(
                CommunityMember(community_id=community.id, member_id=m, role=CommunityRole.MEMBER)
                for m in ids
            )
            thread = Thread(
                id=rng.randint(*THREAD_ID_RANGE),
                community_id=community.id,
                author_id=ids[0],
                title="Recruitment fees: who pays, and how do we end them?",
                body="What has worked in your context?",
                reply_count=posts,
            )
            session.add(thread)
            await session.flush()
            rows = [
                Post(thread_id=thread.id, author_id=rng.choice(ids), body=rng.choice(REPLIES))
                for _ in range(posts)
            ]
            session.add_all(rows)
            await session.flush()
            session.add_all(_reactions(rng, [p.id for p in rows], ids))
            return Discussion(community.id, thread.id, [e for _, e in people])
    finally:
        await db.dispose()


def _reactions(rng: random.Random, post_ids: list[int], member_ids: list[int]) -> list[Reaction]:
    kinds = list(ReactionKind)
    reactions: list[Reaction] = []
    for index, post_id in enumerate(post_ids):
        reactors = rng.sample(member_ids[1:], rng.randint(2, 6))
        if index % 3 == 0:
            reactors.append(member_ids[0])
        reactions.extend(
            Reaction(post_id=post_id, member_id=m, kind=rng.choice(kinds)) for m in reactors
        )
    return reactions
