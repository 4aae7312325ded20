"""`thread(id)` as one PostgreSQL statement that returns the field's JSON text (the fast path,
resolvers/compiled/fast.py): the same reads as resolvers/compiled/threads.py, each with its
policy predicate (`visible_threads`, `visible_posts`, `visible_members`, the deleted text by
`may_read_deleted_text`), with the JSON of the selection built in the statement: the thread,
its page of posts (LIMIT first+1 says whether there is more), authors by a LEFT JOIN of the
visible members, reaction counts by a LATERAL aggregate in the enum's order.

Parameters: `thread_id`, and with a `posts` page `page_size`, `page_limit` (size + 1) and
`after_id` (after a cursor); `viewer_id` when signed in.
"""

# ruff: noqa: S608 - the text is the policy's SQL (compiled by SQLAlchemy) and constants;
# every request value is a $n parameter

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column, select

from models.community import CommunityMember, CommunityRole
from models.member import Member
from models.thread import Post, Reaction, ReactionKind, Thread
from resolvers import policy
from resolvers.compiled.fast import (
    FastStatement,
    Params,
    Pick,
    ViewerKind,
    global_id,
    int_cursor,
    jbool,
    jconstant,
    jint,
    jstring,
    jtext,
    jtimestamp,
    selection_object,
    sql_text,
    viewer_checked,
)
from resolvers.pagination import PageRequest, decode_cursor
from resolvers.policy import Viewer
from resolvers.threads import POST_ORDER

KINDS = ", ".join(f"'{kind.name}'" for kind in ReactionKind)


class _Builder:
    """The statement of one kind of viewer and one selection of a `thread` root field."""

    def __init__(self, kind: ViewerKind, after: bool) -> None:
        self.params = Params()
        self.kind = kind
        self.after = after
        self.viewer: Viewer = self.params.viewer(kind)
        self.thread_id = self.params.bind("thread_id", "integer")
        self.lists = 0  # reaction lists named so far (r.l0, r.l1, ...)

    def thread(self, root: Pick) -> str:
        role = self._viewer_role()
        thread = select(
            Thread.id, Thread.community_id, Thread.title, Thread.reply_count, role
        ).where(policy.visible_threads(self.viewer), Thread.id == self.thread_id)
        ctes = [f"th AS ({sql_text(thread)})"]
        posts = root.under("posts")
        if posts:
            ctes.append(f"page AS ({self._page()})")
        fields = {
            "id": jstring(global_id("Thread", "th.id")),
            "title": jtext("th.title"),
            "replyCount": jint("th.reply_count"),
            "__typename": jconstant("Thread"),
        }
        value = selection_object(root, fields, {"posts": self._connection})
        return f"WITH {', '.join(ctes)} SELECT coalesce((SELECT {value} FROM th), 'null')"

    def _viewer_role(self) -> Any:
        """The viewer's role in the thread's community (`communities.roles_of`), or NULL."""
        if self.viewer.member_id is None:
            return literal_column("NULL").label("viewer_role")
        return (
            select(CommunityMember.role)
            .where(
                CommunityMember.member_id == self.viewer.member_id,
                CommunityMember.community_id == Thread.community_id,
            )
            .scalar_subquery()
            .label("viewer_role")
        )

    def _page(self) -> str:
        """`threads.posts_page`, forwards (`first`/`after`), one row more than the page."""
        statement = select(
            Post.id, Post.author_id, Post.body, Post.version, Post.created_at, Post.edited_at,
            Post.deleted_at,
        ).where(policy.visible_posts(self.viewer), Post.thread_id == self.thread_id)  # fmt: skip
        if self.after:
            statement = statement.where(Post.id > self.params.bind("after_id", "integer"))
        limit = self.params.bind("page_limit", "integer")
        return sql_text(statement.order_by(Post.id).limit(limit))

    def _connection(self, pick: Pick) -> str:
        size = self.params.bind("page_size", "integer")
        first = f"(SELECT id FROM page ORDER BY id LIMIT {size})"
        start = f"(SELECT {jstring(int_cursor(POST_ORDER.listing, 'f.id'))} FROM {first} f"
        info = {
            "hasNextPage": jbool(f"(SELECT count(*) FROM page) > {size}"),
            "hasPreviousPage": "'true'" if self.after else "'false'",
            "startCursor": f"coalesce({start} ORDER BY f.id LIMIT 1), 'null')",
            "endCursor": f"coalesce({start} ORDER BY f.id DESC LIMIT 1), 'null')",
            "__typename": jconstant("PageInfo"),
        }
        return selection_object(
            pick,
            {"__typename": jconstant("PostConnection")},
            {"edges": self._edges, "pageInfo": lambda p: selection_object(p, info, {})},
        )

    def _edges(self, pick: Pick) -> str:
        size = self.params.bind("page_size", "integer")
        joins: list[str] = []
        nodes = pick.under("node")
        lists: dict[Pick, str] = {}
        if any(n.under("author") for n in nodes):
            authors = select(Member.id, Member.name).where(policy.visible_members(self.viewer))
            joins.append(f"LEFT JOIN ({sql_text(authors)}) a ON a.id = p.author_id")
        reactions = [r for n in nodes for r in n.under("reactions")]
        if reactions:
            joins.append(self._reactions(reactions, lists))
        edge = selection_object(
            pick,
            {"cursor": jstring(int_cursor(POST_ORDER.listing, "p.id")),
             "__typename": jconstant("PostEdge")},
            {"node": lambda n: self._post(n, lists)},
        )  # fmt: skip
        source = f"(SELECT * FROM page ORDER BY id LIMIT {size}) p {' '.join(joins)}"
        rows = f"(SELECT string_agg({edge}, ',' ORDER BY p.id) FROM {source})"
        return f"('[' || coalesce({rows}, '') || ']')"

    def _reactions(self, picks: list[Pick], lists: dict[Pick, str]) -> str:
        """`threads.reactions_by_post` of each post: one aggregated list per selection."""
        columns = []
        for pick in picks:
            name = f"l{self.lists}"
            self.lists += 1
            lists[pick] = f"r.{name}"
            fields = {
                "kind": jstring("k.kind::text"),
                "count": jint("k.n"),
                "reactedByViewer": jbool("k.mine"),
                "__typename": jconstant("ReactionCount"),
            }
            order = f"array_position(ARRAY[{KINDS}]::text[], k.kind::text)"
            columns.append(
                f"string_agg({selection_object(pick, fields, {})}, ',' ORDER BY {order}) AS {name}"
            )
        mine = "false"
        if self.viewer.member_id is not None:
            viewer = self.params.bind("viewer_id", "integer")
            mine = f"coalesce(bool_or(x.member_id = {viewer}), false)"
        table = Reaction.__tablename__
        counts = (
            f"SELECT x.kind, count(*) AS n, {mine} AS mine FROM {table} x "
            "WHERE x.post_id = p.id GROUP BY x.kind"
        )
        return f"LEFT JOIN LATERAL (SELECT {', '.join(columns)} FROM ({counts}) k) r ON true"

    def _post(self, pick: Pick, lists: dict[Pick, str]) -> str:
        fields = {
            "id": jstring(global_id("Post", "p.id")),
            "body": self._body(),
            "version": jint("p.version"),
            "createdAt": jtimestamp("p.created_at"),
            "editedAt": jtimestamp("p.edited_at"),
            "isDeleted": jbool("p.deleted_at IS NOT NULL"),
            "__typename": jconstant("Post"),
        }
        return selection_object(
            pick,
            fields,
            {
                "author": self._author,
                "reactions": lambda r: f"('[' || coalesce({lists[r]}, '') || ']')",
            },
        )

    def _author(self, pick: Pick) -> str:
        fields = {
            "id": jstring(global_id("Member", "a.id")),
            "name": jtext("a.name"),
            "__typename": jconstant("Member"),
        }
        return f"(CASE WHEN a.id IS NULL THEN 'null' ELSE {selection_object(pick, fields, {})} END)"

    def _body(self) -> str:
        """A deleted post's text only for those `policy.may_read_deleted_text` lets read it,
        decided for each role the viewer may have in the thread's community."""
        roles: list[CommunityRole | None] = [None, *CommunityRole]
        readable = [r for r in roles if policy.may_read_deleted_text(self.viewer, r)]
        if len(readable) == len(roles):
            condition = "true"
        else:
            named = [f"'{r.name}'" for r in readable if r is not None]
            tests = [f"th.viewer_role IN ({', '.join(named)})"] if named else []
            if None in readable:
                tests.append("th.viewer_role IS NULL")
            condition = " OR ".join(tests) or "false"
        return f"(CASE WHEN p.deleted_at IS NULL OR {condition} THEN {jtext('p.body')} ELSE 'null' END)"


def thread_statement(kind: ViewerKind, root: Pick, after: bool) -> FastStatement:
    """The statement of a `thread` root field for this kind of viewer and selection."""
    builder = _Builder(kind, after)
    sql = builder.thread(root)
    return viewer_checked(sql, builder.params, kind)


def thread_values(thread_id: int, page: PageRequest | None) -> dict[str, Any]:
    """The request's values of the statement's own parameters (the viewer's are the caller's)."""
    values: dict[str, Any] = {"thread_id": thread_id}
    if page is not None:
        values["page_size"] = page.size
        values["page_limit"] = page.size + 1
        if page.after is not None:
            (after,) = decode_cursor(POST_ORDER.listing, page.after, 1)
            values["after_id"] = after
    return values
