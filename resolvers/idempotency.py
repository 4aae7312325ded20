"""Idempotency keys of `createPost`: a retry of a request answers what the first one wrote;
the same key sent with other input is refused (`IDEMPOTENCY_KEY_REUSED`), as payment APIs do,
so that a client's mistake never reads as a success that wrote nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.thread import Post, PostRevision
from resolvers.errors import ErrorCode, Problem
from resolvers.unit_of_work import Refused

KEY_REUSED = Problem(
    "idempotencyKey",
    "This key was sent before with other input (another thread, reply or text): "
    "new content takes a new key.",
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
)


@dataclass(frozen=True)
class PostRequest:
    """What a `createPost` asked for, as written (the body once cleaned)."""

    thread_id: int
    reply_to_id: int | None
    body: str


# The body a post was created with: its first revision's once it has been edited.
_FIRST_BODY = func.coalesce(
    select(PostRevision.body)
    .where(PostRevision.post_id == Post.id, PostRevision.version == 1)
    .scalar_subquery(),
    Post.body,
)


async def first_post(
    session: AsyncSession, author_id: int, key: str, request: PostRequest
) -> int | None:
    """The post `author_id` wrote with `key`, None if there is none; refused (KEY_REUSED)
    when that post was asked for with other input than `request`."""
    first = (
        await session.execute(
            select(Post.id, Post.thread_id, Post.reply_to_id, _FIRST_BODY).where(
                Post.author_id == author_id, Post.idempotency_key == key
            )
        )
    ).first()
    if first is None:
        return None
    post_id, *asked = first
    if PostRequest(*asked) != request:
        raise Refused(KEY_REUSED)
    return int(post_id)
