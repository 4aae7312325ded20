"""Live delivery by groups: one follower per stream, not one per subscriber.

A subscription first replays the log after its cursor on its own (schema/events.py, through
strawberry like any operation). Once it has caught up it is handed off: it joins its stream's
group, and its strawberry operation ends without completing, leaving only a small
`LiveMember`. The group follows the stream once (with gap repair, subscriptions/streams.py),
asks the policy for each member only when the member's answer may have changed, executes each
event once per distinct audience (operation, variables, permission scope[, viewer]) and hands
the same encoded payload to every member's socket (`LiveSocket`, app/websocket.py), which
writes the frames in order and ends members as the group says.

Nothing is lost and nothing is sent twice: the group records the seq of an event *before* it
delivers it to the members it has at that moment (no await between), so a subscription that
joins later finds that event in the log and replays it itself; each member skips events at or
below its own seq. A member whose socket falls too far behind is ended `BEHIND`: its socket
restarts the operation from the last event it really sent, to replay from the log at the
reader's pace and join again.

A delivery to many members goes in slices of `DELIVERY_SLICE`, yielding to the event loop
between them, so that requests waiting behind a burst to thousands of sockets are served
meanwhile; the next event waits until every slice of this one is handed out (order per
subscription)."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, Protocol, cast

from broadcaster import Broadcast
from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationDefinitionNode, execute
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext

from models.base import utcnow
from models.event import StoredEvent
from resolvers.watch import ACCESS_EVENTS, Watch
from schema.context import Context
from schema.encoding import json_text
from schema.extensions import public_error
from schema.fanout import SHARED_RESULTS
from subscriptions import metrics
from subscriptions.streams import ResyncRequired, follow
from subscriptions.tracing import delivery_span

logger = logging.getLogger(__name__)

POLICY_CONCURRENCY = 8  # policy checks of one event in flight at once (each takes a connection)
# Members handed an event between two yields to the event loop: a delivery to 15,000 sockets
# must not hold the loop for its whole length, or the mutations and reads queued behind it
# time out (bench/README.md, fanout).
DELIVERY_SLICE = 256

_MISSING = object()  # no payload computed yet for an audience

Mapper = Callable[[StoredEvent, Hashable], object | None]
Watcher = Callable[[], Awaitable[Watch | None]]


class Ending(enum.Enum):
    """Why a member leaves its group."""

    COMPLETE = "COMPLETE"  # the policy says no, or the stream ended: the subscription completes
    RESYNC = "RESYNC"  # the log no longer reaches back far enough: ResyncRequired, then complete
    BEHIND = "BEHIND"  # its socket fell too far behind: replay from the log, then join again
    FAILED = "FAILED"  # the group failed: an error for the subscription
    CLOSED = "CLOSED"  # the client completed it, or the socket closed: nothing more is sent


FRAME_CACHE = 64  # distinct subscription ids whose whole frames one payload keeps


class Payload:
    """One event's `next` payload for one audience, encoded once and shared by every socket
    of the audience: the text for frames sent through ASGI, its bytes for frames written
    straight to the transport (app/ws_frames.py), and those whole frames, built once per
    subscription id (its prefix) and written as the same bytes to every socket that has it."""

    __slots__ = ("data", "frames", "text")

    def __init__(self, text: str) -> None:
        SHARED_RESULTS.encoded += 1
        self.text = text
        self.data = text.encode()
        self.frames: dict[bytes, bytes] = {}

    @classmethod
    def of(cls, text: str) -> Payload:
        return cls(text)

    def frame(self, prefix: bytes, build: Callable[[bytes, bytes], bytes]) -> bytes:
        """The whole frame of this payload for the subscription whose prefix is `prefix`:
        `build(prefix, data)` the first time (kept for the first FRAME_CACHE prefixes)."""
        frame = self.frames.get(prefix)
        if frame is None:
            frame = build(prefix, self.data)
            if len(self.frames) < FRAME_CACHE:
                self.frames[prefix] = frame
        return frame


class LiveSocket(Protocol):
    """What a group needs from the socket of its members (app/websocket.py)."""

    def deliver(self, member: LiveMember, seq: int, payload: Payload | None) -> None:
        """Send or queue `payload` (a `next` payload, already encoded) for `member`; None: the
        event concerns the member but has nothing to show it."""

    def end(self, member: LiveMember, ending: Ending) -> None:
        """The member leaves its group: the socket finishes its subscription accordingly."""


@dataclass(frozen=True, slots=True)
class LiveSink:
    """Set by the WebSocket handler for each operation it runs: lets a subscription hand its
    live phase to a group whose frames the socket writes."""

    operation_id: str
    variables: dict[str, Any] | None
    socket: LiveSocket
    groups: LiveGroups
    hand_off: Callable[[LiveMember], None]
    resume_seq: int | None = None  # restarting after BEHIND: replay after this seq


LIVE_SINK: ContextVar[LiveSink | None] = ContextVar("live_sink", default=None)


class SharedParts:
    """Equal parts of many members held once: thousands of subscriptions of one page run the
    same document with the same variables and id, and a member lives as long as its socket
    (bench/README.md, fanout: memory per subscription). Each table forgets everything past
    PARTS_LIMIT entries; members keep what they were given."""

    def __init__(self) -> None:
        self._documents: dict[int, tuple[OperationDefinitionNode, DocumentNode]] = {}
        self._prefixes: dict[str, tuple[str, bytes]] = {}
        self._keys: dict[Hashable, Hashable] = {}

    def document(
        self, operation: OperationDefinitionNode, fragments: dict[str, Any]
    ) -> DocumentNode:
        """The document to execute: the operation and its fragments."""
        cached = self._documents.get(id(operation))
        if cached is not None and cached[0] is operation:
            known = cached[1].definitions[1:]
            if len(known) == len(fragments) and all(
                a is b for a, b in zip(known, fragments.values(), strict=True)
            ):
                return cached[1]
        document = DocumentNode(definitions=(operation, *fragments.values()))
        _remember(self._documents, id(operation), (operation, document))
        return document

    def prefix(self, operation_id: str) -> tuple[str, bytes]:
        """The start of the subscription's `next` messages, as text and as bytes."""
        cached = self._prefixes.get(operation_id)
        if cached is None:
            text = '{"id":' + json_text(operation_id) + ',"type":"next","payload":'
            cached = (text, text.encode())
            _remember(self._prefixes, operation_id, cached)
        return cached

    def key(self, key: Hashable) -> Hashable:
        """An equal execution key already held, or `key`."""
        held = self._keys.get(key)
        if held is None:
            _remember(self._keys, key, key)
            return key
        return held


PARTS_LIMIT = 10_000


def _remember(table: dict[Any, Any], key: Any, value: Any) -> None:
    if len(table) >= PARTS_LIMIT:
        table.clear()
    table[key] = value


SHARED_PARTS = SharedParts()


class LiveMember:
    """One subscription in a group: what it runs, for whom, and how far it has got."""

    __slots__ = (
        "context",
        "document",
        "ending",
        "execution_key",
        "group",
        "operation_id",
        "operation_name",
        "pending",
        "prefix",
        "prefix_data",
        "resync",
        "schema",
        "sent_seq",
        "seq",
        "socket",
        "stream",
        "to_message",
        "variables",
        "watch",
        "watcher",
    )

    def __init__(
        self,
        sink: LiveSink,
        schema: Schema,
        context: Context,
        operation: OperationDefinitionNode,
        fragments: dict[str, Any],
        stream: str,
        watch: Watch,
        watcher: Watcher,
        to_message: Mapper,
        resync: Callable[[], object],
        seq: int,
    ) -> None:
        self.schema = schema
        self.context = context
        self.document = SHARED_PARTS.document(operation, fragments)
        self.operation_name = operation.name.value if operation.name else None
        self.operation_id = sink.operation_id
        self.variables = sink.variables
        self.socket = sink.socket
        self.prefix, self.prefix_data = SHARED_PARTS.prefix(sink.operation_id)
        variables = json.dumps(sink.variables, sort_keys=True, default=str)
        viewer: object = None
        if SHARED_RESULTS.is_viewer_specific(operation, fragments):
            viewer = ("viewer", context.viewer.member_id)
        # The operation object is shared by every subscriber with the same text (parser cache).
        languages = context.language_key  # decided when the socket signed in
        self.execution_key = SHARED_PARTS.key((id(operation), variables, viewer, languages))
        self.stream = stream
        self.watch = watch
        self.watcher = watcher
        self.to_message = to_message
        self.resync = resync
        self.seq = seq  # the last event handled for this member
        self.sent_seq = seq  # the last event whose frame (if any) was written to the socket
        self.pending = 0  # frames queued at the socket, not yet written
        self.ending: Ending | None = None
        self.group: LiveGroup | None = None

    async def execute(self, message: object) -> str:
        """This member's operation on one message, encoded: the payload of a `next` frame."""
        SHARED_RESULTS.executions += 1  # every real execution of an event is counted there
        context = self.context
        context.reset_loaders()
        try:
            outcome = execute(
                self.schema._schema,
                self.document,
                root_value=message,
                context_value=context,
                variable_values=self.variables,
                operation_name=self.operation_name,
                executor_class=StrawberryGraphQLCoreExecutionContext,
            )
            result: ExecutionResult = await outcome if isawaitable(outcome) else outcome
            data, errors = result.data, list(result.errors or ())
        except Exception as error:  # the pipeline itself failed: an internal error, masked
            data, errors = None, [GraphQLError(str(error), original_error=error)]
        payload: dict[str, Any] = {"data": data}
        if errors:
            self.schema.process_errors(errors)
            payload["errors"] = [
                public_error(e, expose_internal=context.development).formatted for e in errors
            ]
        context.reset_loaders()  # nothing cached is kept between events
        return json_text(payload)


class LiveGroup:
    """The members following one stream, and the task that delivers its events to them."""

    def __init__(
        self,
        groups: LiveGroups,
        stream: str,
        seq: int,
        sessions: async_sessionmaker[AsyncSession],
        broadcast: Broadcast,
    ) -> None:
        self.groups = groups
        self.stream = stream
        self.last_seq = seq
        self.members: dict[int, LiveMember] = {}
        self.task = asyncio.create_task(
            self._run(sessions, broadcast), name=f"live group of {stream}"
        )

    async def _run(self, sessions: async_sessionmaker[AsyncSession], broadcast: Broadcast) -> None:
        ending = Ending.COMPLETE  # the broadcast was disconnected: the server is stopping
        try:
            async for item in follow(sessions, broadcast, self.stream, self.last_seq):
                if isinstance(item, ResyncRequired):
                    metrics.RESYNCS.inc()
                    ending = Ending.RESYNC
                    break
                # Recorded before delivering, with no await between: a later joiner replays it.
                self.last_seq = item.seq
                with delivery_span(self.groups.tracer, item, stream_kind(self.stream)):
                    await self._deliver(item, list(self.members.values()))
                lag = (utcnow() - item.created_at).total_seconds()
                metrics.LIVE_LAG_SECONDS.observe(max(lag, 0.0))
        except Exception:
            logger.exception("live group of %s failed", self.stream)
            ending = Ending.FAILED
        self.groups.discard(self)
        for member in list(self.members.values()):
            self.groups.end(member, ending)

    async def _deliver(self, event: StoredEvent, members: list[LiveMember]) -> None:
        members = [m for m in members if m.ending is None and event.seq > m.seq]
        await self._ask_policy(event, members)
        payloads: dict[Hashable, Payload | None] = {}
        seq = event.seq
        for start in range(0, len(members), DELIVERY_SLICE):
            if start:
                # Let what waits (mutations, reads, other groups) run between slices. Members
                # that join meanwhile replayed this event themselves; those that end are skipped.
                await asyncio.sleep(0)
                self.groups.slices += 1
            for member in members[start : start + DELIVERY_SLICE]:
                # The common case without an await: the audience's payload is at hand and the
                # policy has nothing to say about the event itself.
                watch = member.watch
                if member.ending is None and watch.admits is None:
                    payload = payloads.get((member.execution_key, watch.scope), _MISSING)
                    if payload is not _MISSING:
                        member.socket.deliver(member, seq, cast(Payload | None, payload))
                        continue
                await self._deliver_to(event, member, payloads)

    async def _deliver_to(
        self, event: StoredEvent, member: LiveMember, payloads: dict[Hashable, Payload | None]
    ) -> None:
        if member.ending is not None:
            return
        if await member.watch.refuses(event):
            if member.ending is None:
                member.socket.deliver(member, event.seq, None)
            return
        audience = (member.execution_key, member.watch.scope)
        if audience not in payloads:
            share_key = (event.stream, event.seq, event.created_at, member.watch.scope)
            message = member.to_message(event, share_key)
            payloads[audience] = (
                None if message is None else Payload.of(await member.execute(message))
            )
            if member.ending is not None:
                return
        member.socket.deliver(member, event.seq, payloads[audience])

    async def _ask_policy(self, event: StoredEvent, members: list[LiveMember]) -> None:
        """Ask the policy again for the members whose answer this event may change, a few at a
        time (each asks the database); end those who may no longer watch."""
        asking = [m for m in members if not m.watch.stable or event.kind in ACCESS_EVENTS]
        for start in range(0, len(asking), POLICY_CONCURRENCY):
            batch = asking[start : start + POLICY_CONCURRENCY]
            answers = await asyncio.gather(*(m.watcher() for m in batch), return_exceptions=True)
            for member, watch in zip(batch, answers, strict=True):
                if member.ending is not None:
                    continue
                if isinstance(watch, BaseException):
                    logger.error("policy check of a live member failed", exc_info=watch)
                    self.groups.end(member, Ending.FAILED)
                elif watch is None:
                    member.seq = event.seq
                    self.groups.end(member, Ending.COMPLETE)
                else:
                    member.watch = watch


def stream_kind(stream: str) -> str:
    """`thread:12` → `thread`: a bounded label."""
    return stream.split(":", 1)[0]


class LiveGroups:
    """The groups of one application (one database, one broadcast), by stream."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.tracer = tracer  # delivery spans, when tracing is on
        self._groups: dict[str, LiveGroup] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self.behind = 0  # members switched to replaying because their socket fell behind
        self.slices = 0  # yields to the event loop within deliveries (tests count them)

    def position(self, stream: str) -> int | None:
        """The last seq the stream's group has taken in, if the stream has a group."""
        group = self._groups.get(stream)
        return group.last_seq if group is not None else None

    def join(
        self,
        member: LiveMember,
        sessions: async_sessionmaker[AsyncSession],
        broadcast: Broadcast,
        *,
        may_start: bool,
    ) -> bool:
        """Join the stream's group if the member has caught up with it; False when it must
        first replay up to the group's position. With no group yet, `may_start` (the member
        has just read the log to its end) starts one at the member's position."""
        group = self._groups.get(member.stream)
        if group is None:
            if not may_start:
                return False
            group = LiveGroup(self, member.stream, member.seq, sessions, broadcast)
            self._groups[member.stream] = group
        elif member.seq < group.last_seq:
            return False
        member.ending = None
        member.group = group
        group.members[id(member)] = member
        metrics.LIVE_SUBSCRIPTIONS.labels(stream_kind(member.stream)).inc()
        return True

    def end(self, member: LiveMember, ending: Ending) -> None:
        """Take the member out of its group (stopping the group when it was the last) and tell
        its socket why, once."""
        if member.ending is not None:
            return
        member.ending = ending
        if ending is Ending.BEHIND:
            self.behind += 1
        group, member.group = member.group, None
        if group is not None:
            metrics.LIVE_SUBSCRIPTIONS.labels(stream_kind(member.stream)).dec()
            group.members.pop(id(member), None)
            if not group.members and self._groups.get(group.stream) is group:
                del self._groups[group.stream]
                group.task.cancel()
                self._stopping.add(group.task)
                group.task.add_done_callback(self._stopping.discard)
        if ending is not Ending.CLOSED:
            member.socket.end(member, ending)

    def streams(self) -> list[str]:
        """The streams that have a group now."""
        return list(self._groups)

    def members_of(self, stream: str) -> list[LiveMember]:
        """The members of the stream's group now (none without a group)."""
        group = self._groups.get(stream)
        return list(group.members.values()) if group is not None else []

    def discard(self, group: LiveGroup) -> None:
        if self._groups.get(group.stream) is group:
            del self._groups[group.stream]

    async def close(self) -> None:
        """Stop every group (when the application stops)."""
        tasks = {group.task for group in self._groups.values()} | self._stopping
        self._groups.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
