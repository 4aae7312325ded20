"""Live updates in GraphQL: resumable subscriptions over the event log.

Every subscription asks the policy before it starts and again before each event; when the
viewer may no longer see the stream, it ends. Each event carries a `cursor`: a client that
reconnects with its last cursor misses nothing and sees nothing twice."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Hashable
from datetime import datetime
from typing import Annotated

import strawberry

from models.event import StoredEvent, stream_position
from resolvers import communities, notifications, threads
from resolvers.errors import ClientError
from resolvers.watch import ACCESS_EVENTS, Watch
from schema.communities import Community, load_community
from schema.context import Context, Info
from schema.live import LIVE_SINK, LiveGroups, LiveMember, Mapper, Watcher
from schema.notifications import Notification
from schema.relay import decode_event_cursor, decode_int_id, encode_event_cursor
from schema.threads import Post, Thread, load_post, load_thread
from subscriptions.events import community_stream, member_stream, thread_stream
from subscriptions.streams import ResyncRequired as StreamResync
from subscriptions.streams import follow, replay

AFTER_EVENT = strawberry.argument(
    description="Cursor of the last event you received: replay everything after it, then "
    "go live. Leave out to receive only what happens from now on."
)


@strawberry.type(
    description="Your cursor is older than the event log keeps: fetch the current state again, "
    "then subscribe without `after` (or with the cursor of an event you receive)."
)
class ResyncRequired:
    message: str = strawberry.field(description="What happened, for people.")


@strawberry.enum(description="What happened in a thread.")
class ThreadEventKind(enum.Enum):
    POST_CREATED = strawberry.enum_value("POST_CREATED", description="A reply was posted.")
    POST_EDITED = strawberry.enum_value("POST_EDITED", description="A reply was edited.")
    POST_DELETED = strawberry.enum_value("POST_DELETED", description="A reply was deleted.")
    REACTION_CHANGED = strawberry.enum_value(
        "REACTION_CHANGED", description="A reaction count of a reply changed."
    )
    THREAD_PINNED = strawberry.enum_value("THREAD_PINNED", description="It was pinned.")
    THREAD_UNPINNED = strawberry.enum_value("THREAD_UNPINNED", description="It was unpinned.")
    THREAD_LOCKED = strawberry.enum_value("THREAD_LOCKED", description="It was locked.")
    THREAD_UNLOCKED = strawberry.enum_value("THREAD_UNLOCKED", description="It was unlocked.")
    THREAD_MOVED = strawberry.enum_value("THREAD_MOVED", description="It moved community.")
    THREAD_DELETED = strawberry.enum_value("THREAD_DELETED", description="It was deleted.")


@strawberry.type(description="One event of a thread, in order, with its cursor.")
class ThreadEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this event.")
    kind: ThreadEventKind = strawberry.field(description="What happened.")
    occurred_at: datetime = strawberry.field(description="When it was committed (UTC).")
    reaction_count: int | None = strawberry.field(
        description="For REACTION_CHANGED: the new count of that reaction kind."
    )
    thread_id: strawberry.Private[int]
    post_id: strawberry.Private[int | None]
    share_key: strawberry.Private[Hashable] = None

    @strawberry.field(description="The thread as it is now.")
    async def thread(self, info: Info) -> Thread | None:
        return await load_thread(info, self.thread_id)

    @strawberry.field(description="The post concerned, as it is now (deleted posts as such).")
    async def post(self, info: Info) -> Post | None:
        return await load_post(info, self.post_id) if self.post_id else None


ThreadEventMessage = Annotated[
    ThreadEvent | ResyncRequired,
    strawberry.union("ThreadEventMessage", description="A thread event, or a request to resync."),
]


@strawberry.type(description="One event of a community, in order, with its cursor.")
class CommunityEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this event.")
    kind: str = strawberry.field(
        description="THREAD_CREATED, THREAD_ACTIVITY, MEMBER_JOINED, MEMBER_LEFT, "
        "MEMBER_REMOVED, or a thread moderation event (THREAD_PINNED, ...)."
    )
    occurred_at: datetime = strawberry.field(description="When it was committed (UTC).")
    community_id: strawberry.Private[int]
    thread_id: strawberry.Private[int | None]
    share_key: strawberry.Private[Hashable] = None

    @strawberry.field(description="The community.")
    async def community(self, info: Info) -> Community | None:
        return await load_community(info, self.community_id)

    @strawberry.field(description="The thread concerned, if any, as it is now.")
    async def thread(self, info: Info) -> Thread | None:
        return await load_thread(info, self.thread_id) if self.thread_id else None


CommunityEventMessage = Annotated[
    CommunityEvent | ResyncRequired,
    strawberry.union(
        "CommunityEventMessage", description="A community event, or a request to resync."
    ),
]


@strawberry.type(description="A new notification for you, with its cursor.")
class NotificationEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this event.")
    notification_id: strawberry.Private[int]
    share_key: strawberry.Private[Hashable] = None

    @strawberry.field(description="The notification.")
    async def notification(self, info: Info) -> Notification | None:
        row = await info.context.loaders.notification_by_id.load(self.notification_id)
        return Notification.from_row(row) if row is not None else None


NotificationEventMessage = Annotated[
    NotificationEvent | ResyncRequired,
    strawberry.union(
        "NotificationEventMessage", description="A notification, or a request to resync."
    ),
]


async def watch_stream(
    info: Info, stream: str, after: str | None, watcher: Watcher, to_message: Mapper
) -> AsyncGenerator[object, None]:
    """Follow `stream` after the cursor. The policy (`watcher`) is asked before starting and
    again before every event, unless its answer is stable and the event cannot change it.

    Over a WebSocket (the handler sets `LIVE_SINK`) the subscription replays what it missed on
    its own, then joins its stream's live group (schema/live.py), which executes each event
    once per audience and writes the frames itself; elsewhere it follows the stream alone."""
    context = info.context
    watch = await watcher()
    if watch is None:
        raise ClientError("No such object, or you may not watch it.", code="NOT_FOUND")
    sink = LIVE_SINK.get()
    if sink is not None and sink.resume_seq is not None:
        seq = sink.resume_seq  # restarted after falling behind: from the last event sent
    else:
        seq = await _start_seq(context, stream, after, sink.groups if sink else None)
    if sink is None:
        async for message in _follow_alone(context, stream, seq, watch, watcher, to_message):
            yield message
        return
    raw = info._raw_info
    member = LiveMember(
        sink,
        info.schema,
        context,
        raw.operation,
        raw.fragments,
        stream,
        watch,
        watcher,
        to_message,
        _resync_required,
        seq,
    )
    assert context.broadcast is not None
    read_to_end = False
    while True:
        if sink.groups.join(member, context.db.sessions, context.broadcast, may_start=read_to_end):
            # The group and the socket carry on from here; this operation ends quietly.
            sink.hand_off(member)
            return
        # Behind the group, or no group yet: replay the log on our own, then try again.
        async for item in replay(context.db.sessions, stream, member.seq):
            if isinstance(item, StreamResync):
                yield _resync_required()
                return
            message = await _message(item, member, to_message)
            if message is _ACCESS_LOST:
                return
            if message is not None:
                context.reset_loaders()
                yield message
            member.seq = member.sent_seq = item.seq
        read_to_end = True


def _resync_required() -> ResyncRequired:
    return ResyncRequired(message="The cursor is older than the event log keeps.")


_ACCESS_LOST = object()


async def _message(event: StoredEvent, member: LiveMember, to_message: Mapper) -> object | None:
    """The message of `event` for a member catching up, or _ACCESS_LOST."""
    if not member.watch.stable or event.kind in ACCESS_EVENTS:
        watch = await member.watcher()
        if watch is None:
            return _ACCESS_LOST
        member.watch = watch
    if await member.watch.refuses(event):
        return None
    return to_message(event, _share_key(event, member.watch))


def _share_key(event: StoredEvent, watch: Watch) -> Hashable:
    # created_at too: a database rebuilt from scratch reuses (stream, seq).
    return (event.stream, event.seq, event.created_at, watch.scope)


async def _start_seq(
    context: Context, stream: str, after: str | None, groups: LiveGroups | None
) -> int:
    if after is not None:
        return decode_event_cursor(after, stream)
    position = groups.position(stream) if groups is not None else None
    if position is not None:
        return position  # what the stream's group has taken in: everything after it comes
    async with context.db.sessions() as session:
        return (await stream_position(session, stream))[0]


async def _follow_alone(
    context: Context, stream: str, seq: int, watch: Watch, watcher: Watcher, to_message: Mapper
) -> AsyncGenerator[object, None]:
    """One subscriber following the stream by itself (outside the WebSocket handler)."""
    assert context.broadcast is not None
    async for item in follow(context.db.sessions, context.broadcast, stream, seq):
        if isinstance(item, StreamResync):
            yield _resync_required()
            return
        if not watch.stable or item.kind in ACCESS_EVENTS:
            answer = await watcher()
            if answer is None:
                return
            watch = answer
        if await watch.refuses(item):
            continue
        message = to_message(item, _share_key(item, watch))
        if message is not None:
            context.reset_loaders()
            yield message


def _thread_message(event: StoredEvent, share_key: Hashable) -> ThreadEvent | None:
    if event.kind not in ThreadEventKind.__members__:
        return None
    return ThreadEvent(
        share_key=share_key,
        cursor=encode_event_cursor(event.stream, event.seq),
        kind=ThreadEventKind[event.kind],
        occurred_at=event.created_at,
        reaction_count=event.payload.get("count"),
        thread_id=int(event.payload["thread"]),
        post_id=event.payload.get("post"),
    )


async def thread_events(
    info: Info,
    thread_id: Annotated[
        strawberry.ID, strawberry.argument(description="Global ID of the thread.")
    ],
    after: Annotated[str | None, AFTER_EVENT] = None,
) -> AsyncGenerator[ThreadEventMessage, None]:
    context = info.context
    key = decode_int_id(thread_id, "Thread") or 0

    async def watcher() -> Watch | None:
        return await threads.watch_thread(context.db.sessions, context.viewer, key)

    async for message in watch_stream(info, thread_stream(key), after, watcher, _thread_message):
        yield message  # type: ignore[misc]


def _community_message(event: StoredEvent, share_key: Hashable) -> CommunityEvent:
    return CommunityEvent(
        share_key=share_key,
        cursor=encode_event_cursor(event.stream, event.seq),
        kind=event.kind,
        occurred_at=event.created_at,
        community_id=int(event.stream.removeprefix("community:")),
        thread_id=event.payload.get("thread"),
    )


async def community_activity(
    info: Info,
    community_id: Annotated[
        strawberry.ID, strawberry.argument(description="Global ID of the community.")
    ],
    after: Annotated[str | None, AFTER_EVENT] = None,
) -> AsyncGenerator[CommunityEventMessage, None]:
    context = info.context
    key = decode_int_id(community_id, "Community") or 0

    async def watcher() -> Watch | None:
        return await communities.watch_community(context.db.sessions, context.viewer, key)

    async for message in watch_stream(
        info, community_stream(key), after, watcher, _community_message
    ):
        yield message  # type: ignore[misc]


def _notification_message(event: StoredEvent, share_key: Hashable) -> NotificationEvent | None:
    if event.kind != "NOTIFICATION":
        return None
    return NotificationEvent(
        share_key=share_key,
        cursor=encode_event_cursor(event.stream, event.seq),
        notification_id=int(event.payload["notification"]),
    )


async def notification_received(
    info: Info, after: Annotated[str | None, AFTER_EVENT] = None
) -> AsyncGenerator[NotificationEventMessage, None]:
    context = info.context
    member_id = context.viewer.member_id
    if member_id is None:
        raise ClientError("Sign in to receive notifications.", code="UNAUTHENTICATED")

    async def admits(event: StoredEvent) -> bool:
        """Each notification is asked about again as it is sent: one about something the
        member may no longer see is gone, live as in the list."""
        if event.kind != "NOTIFICATION":
            return True
        notification_id = int(event.payload["notification"])
        return await notifications.is_visible(context.db.sessions, context.viewer, notification_id)

    async def watcher() -> Watch:
        # A member's own stream: theirs for as long as the session lasts.
        return Watch(scope=("member", member_id), stable=True, admits=admits)

    async for message in watch_stream(
        info, member_stream(member_id), after, watcher, _notification_message
    ):
        yield message  # type: ignore[misc]
