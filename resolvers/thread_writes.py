"""Writing threads: the rules every writer of a thread follows (posting rights, locks, the
thread's stream locked first, mentions, the reply count), creating threads, read marks.
Posts are written in `post_writes.py`; threads and posts are read in `threads.py`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.community import Community, CommunityRole
from models.db import AnyRow, upsert
from models.event import lock_stream
from models.member import Member
from models.notification import FollowTarget, NotificationKind, WatchLevel
from models.thread import Post, Thread, ThreadObjective, ThreadRead, ThreadTag
from resolvers import notifications, policy
from resolvers.communities import role_in
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.policy import Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import THREADS
from resolvers.threads import visible_thread_rows
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_keys, clean_objectives, clean_text
from subscriptions.events import EventPublisher, community_stream, thread_stream

Sessions = async_sessionmaker[AsyncSession]

MAX_BODY = 50_000
MAX_MENTIONS = 20
MAX_TAGS = 10
# A mention as clients insert it: @[Display name](<member global ID>)
MENTION = re.compile(r"@\[([^\]\n]{1,200})\]\(([A-Za-z0-9_=-]{1,100})\)")

NO_SUCH_THREAD = Problem("threadId", "No such thread.", ErrorCode.NOT_FOUND)
NO_SUCH_POST = Problem("postId", "No such post.", ErrorCode.NOT_FOUND)


async def resolve_mentions(session: AsyncSession, body: str, decode: Any) -> list[int]:
    """Members mentioned in `body` (at most MAX_MENTIONS); unknown IDs are plain text."""
    keys = []
    for _, global_id in MENTION.findall(body):
        key = decode(global_id)
        if key is not None and key not in keys:
            keys.append(key)
    if len(keys) > MAX_MENTIONS:
        raise Refused(
            Problem(
                "body",
                "At most {max_mentions} members can be mentioned.",
                ErrorCode.TOO_LONG,
                values=message_values(max_mentions=MAX_MENTIONS),
            )
        )
    if not keys:
        return []
    found = await session.execute(select(Member.id).where(Member.id.in_(keys)))
    return sorted(found.scalars())


async def writable_thread(
    work: UnitOfWork, viewer: Viewer, thread_id: int
) -> tuple[Thread, Community, bool]:
    """The thread if the viewer may post in it now, with its community and whether the viewer
    moderates there; otherwise the refusal that says why. The thread's stream is locked
    first (models/event.py, `lock_stream`): a deletion or lock that commits meanwhile is seen."""
    await lock_thread_stream(work.session, thread_id)
    thread = await work.session.scalar(
        select(Thread).where(Thread.id == thread_id, policy.visible_threads(viewer))
    )
    if thread is None:
        raise Refused(NO_SUCH_THREAD)
    community = await work.session.get_one(Community, thread.community_id)
    role = await require_posting_rights(work.session, viewer, community)
    moderator = policy.moderates_community(viewer, role)
    if thread.locked and not moderator:
        raise Refused(Problem("threadId", "This thread is locked.", ErrorCode.LOCKED))
    return thread, community, moderator


async def lock_thread_stream(session: AsyncSession, thread_id: int) -> None:
    """Lock the thread's event stream, the first lock of every writer of the thread (replies,
    moderation), before its row; for a thread that exists, so that no stream row is made for
    an id that names nothing. PostgreSQL only: SQLite has no row locks (one writer at a time),
    and an early write there would only hold its database lock longer."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if await session.scalar(select(Thread.id).where(Thread.id == thread_id)) is not None:
        await lock_stream(session, thread_stream(thread_id))


async def require_posting_rights(
    session: AsyncSession, viewer: Viewer, community: Community
) -> CommunityRole | None:
    """The viewer's role in `community` if they may post there now; else the refusal."""
    role = await role_in(session, viewer.member_id, community.id)
    if not policy.may_post_in(viewer, role):
        raise Refused(Problem(None, "Join this community to post in it.", ErrorCode.NOT_ALLOWED))
    if not policy.is_open(community.ends_at):
        raise Refused(Problem(None, "This consultation has ended.", ErrorCode.CLOSED))
    return role


async def live_post(work: UnitOfWork, viewer: Viewer, post_id: int) -> Post:
    """The post if the viewer sees it and it is not deleted; otherwise NO_SUCH_POST."""
    post = await work.session.scalar(
        select(Post).where(Post.id == post_id, policy.visible_posts(viewer))
    )
    if post is None or post.deleted_at is not None:
        raise Refused(NO_SUCH_POST)
    return post


async def count_replies(
    session: AsyncSession, thread_id: int, added: int, *, activity_at: datetime | None = None
) -> None:
    """Add `added` (or take away) live replies from the thread's count, in SQL
    (`reply_count = reply_count + added`): simultaneous posts and deletions each count, where
    a count read first and written back loses the others'. Called last in the transaction:
    posting and deleting replies, like moderating the thread, lock the thread's event stream
    before the thread's row, one order for all, so they never wait for each other in a cycle."""
    values: dict[str, Any] = {"reply_count": Thread.reply_count + added}
    if activity_at is not None:
        values["last_activity_at"] = activity_at
    await session.execute(
        update(Thread)
        .where(Thread.id == thread_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class NewThread:
    community_id: int
    title: str
    body: str
    tags: Sequence[str] = ()
    objectives: Sequence[int] = ()


@dataclass(frozen=True)
class ThreadResult:
    thread: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _clean_tags(problems: ProblemList, tags: Sequence[str]) -> list[str]:
    clean = clean_keys(problems, "tags", tags)
    if len(clean) > MAX_TAGS:
        problems.add(
            "tags",
            "At most {max_tags} tags.",
            ErrorCode.TOO_LONG,
            values=message_values(max_tags=MAX_TAGS),
        )
    return clean


async def create_thread(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: NewThread
) -> ThreadResult:
    problems = ProblemList()
    clean = NewThread(
        community_id=data.community_id,
        title=clean_text(problems, "title", data.title, max_length=300),
        body=clean_text(problems, "body", data.body, max_length=MAX_BODY, multiline=True),
        tags=_clean_tags(problems, data.tags),
        objectives=clean_objectives(problems, "objectives", data.objectives),
    )

    async def change(work: UnitOfWork) -> AnyRow | None:
        thread_id = await _write_thread(work, viewer, clean)
        return await work.read_back(visible_thread_rows(viewer).where(Thread.id == thread_id))

    done = await mutation(sessions, events, viewer, change, problems=problems)
    return ThreadResult(thread=done.value, problems=done.problems)


async def _write_thread(work: UnitOfWork, viewer: Viewer, data: NewThread) -> int:
    assert viewer.member_id is not None
    # Visible, not readable: an outsider who sees a private community learns to join it
    # (NOT_ALLOWED below), not that it is missing.
    community = await work.session.scalar(
        select(Community).where(
            Community.id == data.community_id, policy.visible_communities(viewer)
        )
    )
    if community is None:
        raise Refused(Problem("communityId", "No such community.", ErrorCode.NOT_FOUND))
    await require_posting_rights(work.session, viewer, community)
    thread = Thread(
        community_id=community.id, author_id=viewer.member_id, title=data.title, body=data.body
    )
    work.session.add(thread)
    await work.session.flush()
    work.session.add_all(ThreadTag(thread_id=thread.id, tag=t) for t in data.tags)
    work.session.add_all(
        ThreadObjective(thread_id=thread.id, objective_number=n) for n in data.objectives
    )
    await reindex(work.session, THREADS, [thread.id])
    await notifications.follow_unless_set(
        work.session, viewer.member_id, FollowTarget.THREAD, thread.id
    )
    payload = {"thread": thread.id, "community": community.id, "author": viewer.member_id}
    await work.emit(community_stream(community.id), "THREAD_CREATED", payload)
    watchers = await notifications.followers(
        work.session, FollowTarget.COMMUNITY, community.id, [WatchLevel.WATCHING]
    )
    await notifications.notify(
        work, watchers, NotificationKind.NEW_THREAD, actor_id=viewer.member_id, subject=payload
    )
    return thread.id


async def mark_thread_read(sessions: Sessions, viewer: Viewer, thread_id: int) -> ThreadResult:
    """Mark the thread read up to its last post; answers the thread as the viewer sees it."""

    async def change(work: UnitOfWork) -> AnyRow | None:
        thread = await work.read_back(visible_thread_rows(viewer).where(Thread.id == thread_id))
        if thread is None:
            raise Refused(NO_SUCH_THREAD)
        last = await work.session.scalar(
            select(func.max(Post.id)).where(Post.thread_id == thread_id)
        )
        # One statement writes the mark or moves it on, never back: the member's devices may
        # mark the thread read at the same moment.
        await work.session.execute(
            upsert(work.session, ThreadRead)
            .values(thread_id=thread_id, member_id=viewer.member_id, last_read_post_id=last or 0)
            .on_conflict_do_update(
                index_elements=[ThreadRead.thread_id, ThreadRead.member_id],
                set_={
                    "last_read_post_id": case(
                        (ThreadRead.last_read_post_id < (last or 0), last or 0),
                        else_=ThreadRead.last_read_post_id,
                    )
                },
            )
        )
        return thread

    done = await mutation(sessions, None, viewer, change)
    return ThreadResult(thread=done.value, problems=done.problems)
