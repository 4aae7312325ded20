"""Threads and posts in GraphQL: types, reading, writing, reactions, read marks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import strawberry
from graphql.pyutils import AwaitableOrValue

from models.db import AnyRow
from models.thread import ReactionKind as ReactionKindModel
from resolvers import post_writes, thread_writes, threads
from resolvers.markdown import render
from resolvers.policy import may_read_deleted_text
from resolvers.thread_writes import MENTION
from schema.communities import Community, WatchLevel, load_community
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.prefetch import MISSING, Missing, load_at_hand, node_fields
from schema.reference import GcmObjective, objectives_of
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_event_cursor,
    encode_id,
    page_request,
)
from subscriptions.events import thread_stream

ReactionKind = described_enum(
    ReactionKindModel,
    "The reactions a member can give a post (one of each kind).",
    {
        "LIKE": "Like.",
        "INSIGHTFUL": "Insightful.",
        "AGREE": "Agree.",
        "QUESTION": "Has a question about it.",
        "THANKS": "Thanks.",
    },
)


def render_with_mentions(markdown: str) -> str:
    """Mentions read as `@Name` in the HTML (their IDs are data, not links)."""
    return render(MENTION.sub(lambda m: f"**@{m.group(1)}**", markdown))


@strawberry.type(description="A discussion thread in a community.")
class Thread(Node):
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="Opening text in Markdown, as written.")
    pinned: bool = strawberry.field(description="Pinned to the top of its community.")
    locked: bool = strawberry.field(description="Locked: only moderators post in it.")
    reply_count: int = strawberry.field(description="Number of live replies.")
    created_at: datetime = strawberry.field(description="When it was opened (UTC).")
    last_activity_at: datetime = strawberry.field(description="Last reply or opening (UTC).")
    db_id: strawberry.Private[int]
    community_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> Thread:
        return cls(
            id=encode_id("Thread", row.id),
            db_id=row.id,
            community_id=row.community_id,
            author_id=row.author_id,
            title=row.title,
            body=row.body,
            pinned=row.pinned,
            locked=row.locked,
            reply_count=row.reply_count,
            created_at=row.created_at,
            last_activity_at=row.last_activity_at,
        )

    @strawberry.field(description="The opening text rendered to sanitized HTML.")
    def body_html(self) -> str:
        return render_with_mentions(self.body)

    @strawberry.field(description="Who opened it; null if the account is gone or hidden.")
    async def author(self, info: Info) -> Member | None:
        return await load_member(info, self.author_id) if self.author_id else None

    @strawberry.field(description="The community it belongs to.")
    async def community(self, info: Info) -> Community | None:
        return await load_community(info, self.community_id)

    @strawberry.field(description="Tags, lower-case.")
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.tags_by_thread.load(self.db_id)

    @strawberry.field(description="GCM objectives it is about.")
    async def objectives(self, info: Info) -> list[GcmObjective]:
        return await objectives_of(
            info, await info.context.loaders.objectives_by_thread.load(self.db_id)
        )

    @strawberry.field(description="Members who posted in it, first contribution first (≤100).")
    async def participants(self, info: Info) -> list[Member]:
        ids = (await info.context.loaders.participants_by_thread.load(self.db_id))[:100]
        members = [await load_member(info, i) for i in ids]
        return [m for m in members if m is not None]

    @strawberry.field(description="Replies you have not read (0 when not signed in).")
    async def unread_count(self, info: Info) -> int:
        return await info.context.loaders.unread_by_thread.load(self.db_id)

    @strawberry.field(description="How you follow it; null when you never chose.")
    async def viewer_watch_level(self, info: Info) -> WatchLevel | None:  # type: ignore[valid-type]
        return await info.context.loaders.follow_level_by_thread.load(self.db_id)

    @strawberry.field(
        description="Cursor of the thread's latest event: read the thread, then subscribe to "
        "`threadEvents(after: eventCursor)` to receive every change made since the read."
    )
    async def event_cursor(self, info: Info) -> str:
        stream = thread_stream(self.db_id)
        return encode_event_cursor(
            stream, await info.context.loaders.position_by_stream.load(stream)
        )

    @strawberry.field(description="Replies, oldest first.")
    async def posts(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Post]:
        page = await threads.posts_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        posts = connection(page, Post.from_row)
        await prefetch_posts(info, posts.nodes, node_fields(info))
        return posts


@strawberry.type(description="How many members gave a post one kind of reaction.")
class ReactionCount:
    kind: ReactionKind = strawberry.field(description="The reaction.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="How many gave it.")
    reacted_by_viewer: bool = strawberry.field(description="You gave it.")


@strawberry.type(description="What a post said before an edit.")
class PostRevision:
    version: int = strawberry.field(description="The version this text was.")
    body: str = strawberry.field(description="The text of that version (Markdown).")
    replaced_at: datetime = strawberry.field(description="When an edit replaced it (UTC).")


@strawberry.type(description="A reply in a thread. A deleted post stays as a placeholder.")
class Post(Node):
    version: int = strawberry.field(description="Starts at 1; every edit adds one.")
    created_at: datetime = strawberry.field(description="When it was posted (UTC).")
    edited_at: datetime | None = strawberry.field(description="Last edit (UTC), if any.")
    is_deleted: bool = strawberry.field(description="Deleted: its text is gone for non-moderators.")
    db_id: strawberry.Private[int]
    thread_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    reply_to_id: strawberry.Private[int | None]
    text: strawberry.Private[str]
    # Filled by the page that loaded the post (prefetch_posts), else loaded by the resolver.
    author_at_hand: strawberry.Private[Member | Missing | None] = MISSING
    reactions_at_hand: strawberry.Private[list[ReactionCount] | Missing] = MISSING

    @classmethod
    def from_row(cls, row: AnyRow) -> Post:
        return cls(
            id=encode_id("Post", row.id),
            db_id=row.id,
            thread_id=row.thread_id,
            author_id=row.author_id,
            reply_to_id=row.reply_to_id,
            text=row.body,
            version=row.version,
            created_at=row.created_at,
            edited_at=row.edited_at,
            is_deleted=row.deleted_at is not None,
        )

    async def _readable_text(self, info: Info) -> str | None:
        if not self.is_deleted:
            return self.text
        thread = await info.context.loaders.thread_by_id.load(self.thread_id)
        if thread is None:
            return None
        role = await info.context.loaders.viewer_role_by_community.load(thread.community_id)
        return self.text if may_read_deleted_text(info.context.viewer, role) else None

    @strawberry.field(
        description="Text in Markdown; null when deleted (except for moderators).",
        graphql_type=str | None,
    )
    def body(self, info: Info) -> AwaitableOrValue[str | None]:
        return self.text if not self.is_deleted else self._readable_text(info)

    @strawberry.field(description="Text as sanitized HTML; null when deleted (except moderators).")
    async def body_html(self, info: Info) -> str | None:
        text = await self._readable_text(info)
        return render_with_mentions(text) if text is not None else None

    @strawberry.field(
        description="Who posted it; null if deleted, gone or hidden.", graphql_type=Member | None
    )
    def author(self, info: Info) -> AwaitableOrValue[Member | None]:
        if not isinstance(self.author_at_hand, Missing):
            return self.author_at_hand
        return load_member(info, self.author_id) if self.author_id else None

    @strawberry.field(description="The thread it is in.")
    async def thread(self, info: Info) -> Thread | None:
        return await load_thread(info, self.thread_id)

    @strawberry.field(description="The post it answers, if any.")
    async def reply_to(self, info: Info) -> Post | None:
        return await load_post(info, self.reply_to_id) if self.reply_to_id else None

    @strawberry.field(
        description="Reactions by kind, with whether you gave each.",
        graphql_type=list[ReactionCount],
    )
    def reactions(self, info: Info) -> AwaitableOrValue[list[ReactionCount]]:
        if not isinstance(self.reactions_at_hand, Missing):
            return self.reactions_at_hand
        return self._load_reactions(info)

    async def _load_reactions(self, info: Info) -> list[ReactionCount]:
        return reaction_counts(await info.context.loaders.reactions_by_post.load(self.db_id))

    @strawberry.field(description="Earlier versions, oldest first (empty for deleted posts).")
    async def revisions(self, info: Info) -> list[PostRevision]:
        if await self._readable_text(info) is None:
            return []
        rows = await info.context.loaders.revisions_by_post.load(self.db_id)
        return [
            PostRevision(version=r.version, body=r.body, replaced_at=r.replaced_at) for r in rows
        ]


def reaction_counts(summaries: list[threads.ReactionSummary]) -> list[ReactionCount]:
    return [
        ReactionCount(kind=s.kind, count=s.count, reacted_by_viewer=s.by_viewer) for s in summaries
    ]


async def prefetch_posts(info: Info, posts: list[Post], wanted: frozenset[str]) -> None:
    """Authors and reactions of a page of posts, each in one batch (the two at once), when the
    page asks for them: the posts' resolvers then answer without awaiting (schema/prefetch.py)."""
    loaders = info.context.loaders
    authors, reactions = await asyncio.gather(
        load_at_hand(loaders.member_by_id, (p.author_id for p in posts if "author" in wanted)),
        load_at_hand(loaders.reactions_by_post, (p.db_id for p in posts if "reactions" in wanted)),
    )
    for post in posts:
        if "author" in wanted:
            row = authors.get(post.author_id) if post.author_id is not None else None
            post.author_at_hand = Member.from_row(row) if row is not None else None
        if "reactions" in wanted:
            post.reactions_at_hand = reaction_counts(reactions[post.db_id])


async def load_thread(info: Info, thread_id: int) -> Thread | None:
    row = await info.context.loaders.thread_by_id.load(thread_id)
    return Thread.from_row(row) if row is not None else None


async def load_post(info: Info, post_id: int) -> Post | None:
    row = await info.context.loaders.post_by_id.load(post_id)
    return Post.from_row(row) if row is not None else None


async def resolve_thread(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")]
) -> Thread | None:
    key = decode_int_id(id, "Thread")
    return await load_thread(info, key) if key is not None else None


@strawberry.input(description="Narrow a community's threads.")
class ThreadFilterInput:
    tag: str | None = strawberry.field(default=None, description="Only threads with this tag.")
    objectives: list[int] | None = strawberry.field(
        default=None, description="Only threads on any of these GCM objectives."
    )


async def resolve_community_threads(
    info: Info,
    community_id: Annotated[strawberry.ID, strawberry.argument(description="The community.")],
    filter: Annotated[
        ThreadFilterInput | None, strawberry.argument(description="Narrow the list.")
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Thread]:
    request = page_request(first, after, last, before)
    key = decode_int_id(community_id, "Community") or 0
    criteria = threads.ThreadFilter(
        tag=filter.tag if filter else None, objectives=(filter.objectives or []) if filter else ()
    )
    page = await threads.threads_page(
        info.context.db.reads, info.context.viewer, key, criteria, request
    )
    return connection(page, Thread.from_row)


# --- mutations --------------------------------------------------------------------------------


@strawberry.input(description="Open a thread in a community you belong to.")
class CreateThreadInput:
    community_id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    title: str = strawberry.field(description="Title (at most 300 characters).")
    body: str = strawberry.field(description="Opening text, Markdown (at most 50,000).")
    tags: list[str] = strawberry.field(default_factory=list, description="Up to 10 tags.")
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers."
    )


@strawberry.type(description="Result of a change to a thread.")
class ThreadPayload:
    thread: Thread | None = strawberry.field(description="The thread after the change.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def create_thread(info: Info, input: Annotated[CreateThreadInput, INPUT]) -> ThreadPayload:
    key = decode_int_id(input.community_id, "Community")
    if key is None:
        return ThreadPayload(thread=None, errors=not_found("communityId", "No such community."))
    result = await thread_writes.create_thread(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        thread_writes.NewThread(
            community_id=key,
            title=input.title,
            body=input.body,
            tags=input.tags,
            objectives=input.objectives,
        ),
    )
    thread = Thread.from_row(result.thread) if result.thread is not None else None
    return ThreadPayload(thread=thread, errors=user_errors(result.problems))


@strawberry.input(description="Reply in a thread.")
class CreatePostInput:
    thread_id: strawberry.ID = strawberry.field(description="Global ID of the thread.")
    body: str = strawberry.field(
        description="Markdown (at most 50,000). Mention members as @[Name](<member ID>)."
    )
    reply_to_id: strawberry.ID | None = strawberry.field(
        default=None, description="The post this answers, in the same thread."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Any unique string of yours: retrying with it returns the first post; "
        "sent again with another thread, reply or body it answers IDEMPOTENCY_KEY_REUSED "
        "and writes nothing.",
    )


@strawberry.type(description="Result of a change to a post.")
class PostPayload:
    post: Post | None = strawberry.field(description="The post after the change.")
    current_version: int | None = strawberry.field(
        description="On EDIT_CONFLICT: the version the post is at now."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _post_payload(result: post_writes.PostResult) -> PostPayload:
    return PostPayload(
        post=Post.from_row(result.post) if result.post is not None else None,
        current_version=result.current_version,
        errors=user_errors(result.problems),
    )


async def create_post(info: Info, input: Annotated[CreatePostInput, INPUT]) -> PostPayload:
    thread_key = decode_int_id(input.thread_id, "Thread")
    reply_key = decode_int_id(input.reply_to_id, "Post") if input.reply_to_id else None
    errors = [] if thread_key is not None else not_found("threadId", "No such thread.")
    if input.reply_to_id is not None and reply_key is None:
        errors += not_found("replyToId", "No such post.")
    if errors or thread_key is None:
        return PostPayload(post=None, current_version=None, errors=errors)
    result = await post_writes.create_post(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        post_writes.NewPost(
            thread_id=thread_key,
            body=input.body,
            reply_to_id=reply_key,
            idempotency_key=input.idempotency_key,
        ),
        decode_member_id=lambda global_id: decode_int_id(global_id, "Member"),
    )
    return _post_payload(result)


@strawberry.input(description="Edit your post; applies only if it is still at `expectedVersion`.")
class EditPostInput:
    post_id: strawberry.ID = strawberry.field(description="Global ID of the post.")
    body: str = strawberry.field(description="The new text (Markdown).")
    expected_version: int = strawberry.field(description="The version you edited.")


async def edit_post(info: Info, input: Annotated[EditPostInput, INPUT]) -> PostPayload:
    key = decode_int_id(input.post_id, "Post")
    if key is None:
        return PostPayload(
            post=None, current_version=None, errors=not_found("postId", "No such post.")
        )
    result = await post_writes.edit_post(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        input.body,
        input.expected_version,
    )
    return _post_payload(result)


@strawberry.input(description="Give or take back a reaction on a post.")
class ReactToPostInput:
    post_id: strawberry.ID = strawberry.field(description="Global ID of the post.")
    kind: ReactionKind = strawberry.field(description="Which reaction.")  # type: ignore[valid-type]
    on: bool = strawberry.field(default=True, description="True gives it, false takes it back.")


async def react_to_post(info: Info, input: Annotated[ReactToPostInput, INPUT]) -> PostPayload:
    key = decode_int_id(input.post_id, "Post")
    if key is None:
        return PostPayload(
            post=None, current_version=None, errors=not_found("postId", "No such post.")
        )
    result = await post_writes.set_reaction(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        input.kind,
        input.on,
    )
    return _post_payload(result)


@strawberry.input(description="Mark every reply of a thread read, up to now.")
class MarkThreadReadInput:
    thread_id: strawberry.ID = strawberry.field(description="Global ID of the thread.")


async def mark_thread_read(
    info: Info, input: Annotated[MarkThreadReadInput, INPUT]
) -> ThreadPayload:
    key = decode_int_id(input.thread_id, "Thread")
    if key is None:
        return ThreadPayload(thread=None, errors=not_found("threadId", "No such thread."))
    result = await thread_writes.mark_thread_read(
        info.context.db.sessions, info.context.viewer, key
    )
    thread = Thread.from_row(result.thread) if result.thread is not None else None
    return ThreadPayload(thread=thread, errors=user_errors(result.problems))
