"""The objects a compiled `thread(id)` answers from: the rows of resolvers/compiled/threads.py
grouped into a thread, its page of posts, their authors and reactions, with the values the
executor's types (schema/threads.py, schema/members.py, schema/relay.py) give each field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from models.db import AnyRow
from models.thread import ReactionKind
from resolvers.compiled.threads import ThreadReads
from resolvers.pagination import PageRequest, encode_cursor
from resolvers.policy import Viewer, may_read_deleted_text
from resolvers.threads import POST_ORDER
from schema.compiled_fields import Getter, RootField
from schema.relay import encode_id

KIND_ORDER = {kind: i for i, kind in enumerate(ReactionKind)}


@dataclass
class MemberValue:
    key: int
    name: str


@dataclass
class ReactionValue:
    kind: ReactionKind
    count: int
    by_viewer: bool


@dataclass
class PostValue:
    key: int
    author_id: int | None
    body: str | None  # as the viewer may read it
    version: int
    created_at: datetime
    edited_at: datetime | None
    is_deleted: bool
    author: MemberValue | None = None
    reactions: list[ReactionValue] = field(default_factory=list)

    @property
    def cursor(self) -> str:
        return encode_cursor(POST_ORDER.listing, (self.key,))


@dataclass
class PageValue:
    posts: list[PostValue]
    has_next_page: bool
    has_previous_page: bool


@dataclass
class ThreadValue:
    key: int
    title: str
    reply_count: int
    posts: PageValue | None


def _post(row: AnyRow, readable_deleted: bool) -> PostValue:
    deleted = row.deleted_at is not None
    return PostValue(
        key=row.post_id,
        author_id=row.author_id,
        body=row.body if not deleted or readable_deleted else None,
        version=row.version,
        created_at=row.created_at,
        edited_at=row.edited_at,
        is_deleted=deleted,
    )


def _posts(rows: Sequence[AnyRow], viewer: Viewer, reads: ThreadReads) -> list[PostValue]:
    """One post per post id, in the rows' order, with its author and sorted reactions."""
    readable_deleted = may_read_deleted_text(viewer, rows[0].viewer_role)
    posts: list[PostValue] = []
    for row in rows:
        if row.post_id is None:
            continue
        if not posts or posts[-1].key != row.post_id:
            post = _post(row, readable_deleted)
            if reads.authors and row.author_key is not None:
                post.author = MemberValue(row.author_key, row.author_name)
            posts.append(post)
        if reads.reactions and row.kind is not None:
            posts[-1].reactions.append(ReactionValue(row.kind, int(row.n), bool(row.mine)))
    for post in posts:
        post.reactions.sort(key=lambda r: KIND_ORDER[r.kind])
    return posts


def thread_value(rows: Sequence[AnyRow], viewer: Viewer, reads: ThreadReads) -> ThreadValue | None:
    """The thread of the rows, None when there are none (missing or not visible)."""
    if not rows:
        return None
    first = rows[0]
    page: PageValue | None = None
    if reads.posts is not None:
        page = _page(_posts(rows, viewer, reads), reads.posts)
    return ThreadValue(first.id, first.title, first.reply_count, page)


def _page(posts: list[PostValue], request: PageRequest) -> PageValue:
    """`resolvers.pagination.fetch_page`, forwards: one row more than asked says there is more."""
    return PageValue(
        posts=posts[: request.size],
        has_next_page=len(posts) > request.size,
        has_previous_page=request.after is not None,
    )


# What each field of each type answers, as the executor's resolvers do.
GETTERS: dict[str, dict[str, Getter]] = {
    "Thread": {
        "id": lambda t: encode_id("Thread", t.key),
        "title": lambda t: t.title,
        "replyCount": lambda t: t.reply_count,
        "posts": lambda t: t.posts,
    },
    "PostConnection": {"edges": lambda p: p.posts, "pageInfo": lambda p: p},
    "PageInfo": {
        "hasNextPage": lambda p: p.has_next_page,
        "hasPreviousPage": lambda p: p.has_previous_page,
        "startCursor": lambda p: p.posts[0].cursor if p.posts else None,
        "endCursor": lambda p: p.posts[-1].cursor if p.posts else None,
    },
    "PostEdge": {"cursor": lambda p: p.cursor, "node": lambda p: p},
    "Post": {
        "id": lambda p: encode_id("Post", p.key),
        "body": lambda p: p.body,
        "version": lambda p: p.version,
        "createdAt": lambda p: p.created_at,
        "editedAt": lambda p: p.edited_at,
        "isDeleted": lambda p: p.is_deleted,
        "author": lambda p: p.author,
        "reactions": lambda p: p.reactions,
    },
    "Member": {"id": lambda m: encode_id("Member", m.key), "name": lambda m: m.name},
    "ReactionCount": {
        "kind": lambda r: r.kind,
        "count": lambda r: r.count,
        "reactedByViewer": lambda r: r.by_viewer,
    },
}

THREAD_FIELD = RootField(
    "thread",
    frozenset({"id"}),
    GETTERS,
    arguments_of={"Thread": {"posts": frozenset({"first", "after"})}},
)
