"""The floor of the thread page: `thread_page.QUERY` answered without GraphQL.

A hand-written Starlette app (built by `floor.floor_app`: the hub's engine settings, middleware
and uvicorn options) that answers `POST /graphql` with exactly the JSON the hub returns for
the thread page, running the same SQL as the hub's resolvers and DataLoaders: the thread
through the visibility policy, the keyset page of posts (`ORDER BY post.id LIMIT 51`), then,
concurrently as the two DataLoader batches are, one `member.id IN (...)` query for the authors
and one grouped query for the reactions. In signed-in runs it first runs the token lookup.

Run by `thread_page.py` as `python bench/thread_floor.py --port N`, served like `hub serve`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from floor import MEDIA_TYPE, cursor_for, floor_app, global_id, serve, token_statement
from sqlalchemy import case, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.settings import Settings
from models.db import AnyRow, AnySelect, Database
from models.member import Member
from models.thread import Post, Reaction, ReactionKind, Thread
from resolvers import policy
from resolvers.members import MEMBER_COLUMNS
from resolvers.threads import POST_COLUMNS, THREAD_COLUMNS

PAGE_SIZE = 50
KIND_ORDER = {kind: index for index, kind in enumerate(ReactionKind)}
Reactions = dict[int, list[dict[str, Any]]]

# What the hub reports for the thread page query (schema/cost.py): 1 + title, replyCount 2
# + posts (1 + 50 x edges 13 + pageInfo 3).
THREAD_PAGE_COST = {"cost": {"requested": 657, "maximum": 10_000}}


def thread_key(global_thread_id: object) -> int | None:
    """The integer key of a `Thread` global ID, or None."""
    if not isinstance(global_thread_id, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(global_thread_id.encode("ascii")).decode()
    except (ValueError, UnicodeError, binascii.Error):
        return None
    type_name, _, key = raw.partition(":")
    return int(key) if type_name == "Thread" and key.isascii() and key.isdigit() else None


# --- the SQL: the statements the hub's resolvers and loaders send ---------------------------


def thread_statement(viewer: policy.Viewer, thread_id: int) -> AnySelect:
    """`resolvers.threads.threads_by_ids` for the one key of the `thread_by_id` loader."""
    visible = select(*THREAD_COLUMNS).where(policy.visible_threads(viewer))
    return visible.where(Thread.id.in_([thread_id]))


def posts_statement(viewer: policy.Viewer, thread_id: int) -> AnySelect:
    """`resolvers.threads.posts_page` through `fetch_page`: keyset on post.id, one extra row."""
    visible = select(*POST_COLUMNS).where(policy.visible_posts(viewer))
    paged = visible.where(Post.thread_id == thread_id).order_by(Post.id.asc())
    return paged.limit(PAGE_SIZE + 1)


def authors_statement(viewer: policy.Viewer, ids: list[int]) -> AnySelect:
    """`resolvers.members.members_by_ids`: only the members this viewer may see."""
    visible = select(*MEMBER_COLUMNS).where(policy.visible_members(viewer))
    return visible.where(Member.id.in_(ids))


def reactions_statement(viewer: policy.Viewer, post_ids: list[int]) -> AnySelect:
    """`resolvers.threads.reactions_by_post`: counts per post and kind, and the viewer's own."""
    mine = func.max(case((Reaction.member_id == (viewer.member_id or 0), 1), else_=0))
    return (
        select(Reaction.post_id, Reaction.kind, func.count(), mine)
        .where(Reaction.post_id.in_(post_ids))
        .group_by(Reaction.post_id, Reaction.kind)
    )


# --- the JSON ------------------------------------------------------------------------------


def reactions_json(rows: Sequence[AnyRow]) -> Reactions:
    by_post: dict[int, list[tuple[ReactionKind, int, bool]]] = defaultdict(list)
    for post_id, kind, count, mine in rows:
        by_post[post_id].append((kind, int(count), bool(mine)))
    return {
        post_id: [
            {"kind": kind.name, "count": count, "reactedByViewer": mine}
            for kind, count, mine in sorted(summaries, key=lambda s: KIND_ORDER[s[0]])
        ]
        for post_id, summaries in by_post.items()
    }


def edge_json(row: AnyRow, authors: dict[int, AnyRow], reactions: Reactions) -> dict[str, Any]:
    author = authors.get(row.author_id) if row.author_id is not None else None
    node = {
        "id": global_id("Post", row.id),
        # A deleted post's text is for moderators only; the benchmark's viewers are not.
        "body": row.body if row.deleted_at is None else None,
        "createdAt": row.created_at.isoformat(),
        "author": {"id": global_id("Member", author.id), "name": author.name} if author else None,
        "reactions": reactions.get(row.id, []),
    }
    return {"cursor": cursor_for("posts", row.id), "node": node}


def page_json(
    thread: AnyRow, posts: Sequence[AnyRow], authors: dict[int, AnyRow], reactions: Reactions
) -> dict[str, Any]:
    edges = [edge_json(row, authors, reactions) for row in posts[:PAGE_SIZE]]
    page_info = {
        "hasNextPage": len(posts) > PAGE_SIZE,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    return {
        "title": thread.title,
        "replyCount": thread.reply_count,
        "posts": {"edges": edges, "pageInfo": page_info},
    }


# --- the endpoint --------------------------------------------------------------------------


class ThreadFloor:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.secret_key = settings.secret_key.get_secret_value().encode()
        self.db = db

    async def all(self, statement: AnySelect) -> Sequence[AnyRow]:
        async with self.db.engine.connect() as connection:
            return (await connection.execute(statement)).all()

    async def viewer(self, request: Request) -> policy.Viewer:
        header = request.headers.get("authorization")
        if header is None:
            return policy.ANONYMOUS
        token = header.partition(" ")[2].strip()
        rows = await self.all(token_statement(self.secret_key, token))
        if not rows:
            raise PermissionError("invalid token")
        token_id, member_id, role, organization_id = rows[0]
        return policy.Viewer(member_id, role, organization_id, token_id)

    async def thread_page(self, viewer: policy.Viewer, thread_id: int) -> dict[str, Any] | None:
        threads = await self.all(thread_statement(viewer, thread_id))
        if not threads:
            return None
        posts = await self.all(posts_statement(viewer, thread_id))
        page = posts[:PAGE_SIZE]
        author_ids = list(dict.fromkeys(r.author_id for r in page if r.author_id is not None))
        author_rows, reaction_rows = await asyncio.gather(
            self.all(authors_statement(viewer, author_ids)) if author_ids else _nothing(),
            self.all(reactions_statement(viewer, [r.id for r in page])) if page else _nothing(),
        )
        authors = {row.id: row for row in author_rows}
        return page_json(threads[0], posts, authors, reactions_json(reaction_rows))

    async def endpoint(self, request: Request) -> Response:
        body = json.loads(await request.body())
        variables = body.get("variables") if isinstance(body, dict) else None
        if not isinstance(variables, dict):
            return JSONResponse({"errors": [{"message": "bad request"}]}, status_code=400)
        try:
            viewer = await self.viewer(request)
        except PermissionError:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
        key = thread_key(variables.get("id"))
        thread = await self.thread_page(viewer, key) if key is not None else None
        payload = json.dumps(
            {"data": {"thread": thread}, "extensions": THREAD_PAGE_COST}, separators=(",", ":")
        ).encode()
        return Response(payload, media_type=MEDIA_TYPE)


async def _nothing() -> Sequence[AnyRow]:
    return ()


def create_app() -> Starlette:
    return floor_app(lambda settings, db: ThreadFloor(settings, db).endpoint)


if __name__ == "__main__":
    serve("thread_floor:create_app", __doc__.splitlines()[0] if __doc__ else None)
