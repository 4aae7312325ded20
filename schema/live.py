"""Live delivery by groups: one follower per stream, not one per subscriber.

A subscription first replays the log after its cursor on its own (schema/events.py); once it
has caught up it joins its stream's group and waits. The group follows the stream once (with
gap repair, subscriptions/streams.py), asks the policy for each member only when the member's
answer may have changed, executes each event once per distinct (operation, variables,
permission scope[, viewer]) and writes the same encoded payload to every member's socket. Per
subscriber and event that leaves a queue append and one WebSocket frame; the GraphQL pipeline
runs once per distinct audience.

Nothing is lost and nothing is sent twice: the group records the seq of an event *before* it
delivers it to the members it has at that moment (no await between), so a subscription that
joins later has that event in the log and replays it itself; each member skips events at or
below its own seq. A member that falls too far behind (its socket is not read) leaves the group
and replays from the log at its own pace, like any late joiner."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from broadcaster import Broadcast
from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationDefinitionNode, execute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext

from models.event import StoredEvent
from resolvers.watch import ACCESS_EVENTS, Watch
from schema.context import Context
from schema.extensions import public_error
from schema.fanout import SHARED_RESULTS
from subscriptions.streams import ResyncRequired, follow
from subscriptions.tasks import stop_task

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 1000  # frames a member may have pending before it must replay on its own

Mapper = Callable[[StoredEvent, Hashable], object | None]
Watcher = Callable[[], Awaitable[Watch | None]]


@dataclass(frozen=True, slots=True)
class LiveSink:
    """Set by the WebSocket handler for each operation it runs: lets a subscription join a
    group that writes `next` messages for it straight to the socket."""

    operation_id: str
    variables: dict[str, Any] | None
    send_text: Callable[[str], Awaitable[None]]
    groups: LiveGroups


LIVE_SINK: ContextVar[LiveSink | None] = ContextVar("live_sink", default=None)


class Ending(enum.Enum):
    """Why a member's live phase ended."""

    COMPLETE = "COMPLETE"  # the policy says no, or the stream ended: the subscription completes
    RESYNC = "RESYNC"  # the log no longer reaches back far enough
    BEHIND = "BEHIND"  # too many frames pending: replay from the log, then join again


class LiveMember:
    """One subscription in a group: what it runs, for whom, and what it has been sent."""

    __slots__ = (
        "_pending",
        "_waiter",
        "context",
        "document",
        "ending",
        "execution_key",
        "failure",
        "operation_name",
        "prefix",
        "schema",
        "send_text",
        "sent_seq",
        "seq",
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
        watcher: Watcher,
        watch: Watch,
        to_message: Mapper,
        seq: int,
    ) -> None:
        self.schema = schema
        self.context = context
        self.document = DocumentNode(definitions=(operation, *fragments.values()))
        self.operation_name = operation.name.value if operation.name else None
        self.variables = sink.variables
        self.send_text = sink.send_text
        self.prefix = '{"id":' + json.dumps(sink.operation_id) + ',"type":"next","payload":'
        variables = json.dumps(sink.variables, sort_keys=True, default=str)
        viewer: object = None
        if SHARED_RESULTS.is_viewer_specific(operation, fragments):
            viewer = ("viewer", context.viewer.member_id)
        # The operation object is shared by every subscriber with the same text (parser cache).
        self.execution_key: Hashable = (id(operation), variables, viewer)
        self.watcher = watcher
        self.watch = watch
        self.to_message = to_message
        self.seq = seq  # the last event handled for this member
        self.sent_seq = seq  # the last event whose frame (if any) reached the socket
        self._pending: deque[tuple[int, str]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.ending: Ending | None = None
        self.failure: BaseException | None = None

    def push(self, seq: int, payload: str | None) -> None:
        self.seq = seq
        if self.ending is not None:
            return
        if payload is None:
            if not self._pending:
                self.sent_seq = seq
            return
        if len(self._pending) >= OUTBOX_LIMIT:
            self.end(Ending.BEHIND)
            return
        self._pending.append((seq, payload))
        self._wake()

    def end(self, ending: Ending, failure: BaseException | None = None) -> None:
        if self.ending is None:
            self.ending = ending
            self.failure = failure
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def serve(self) -> Ending:
        """Write this member's frames until its live phase ends (run by the member's task)."""
        while True:
            if self.ending is Ending.BEHIND:
                self._pending.clear()
                return Ending.BEHIND
            while self._pending:
                seq, payload = self._pending.popleft()
                await self.send_text(self.prefix + payload + "}")
                self.sent_seq = seq
            if self.ending is not None:
                if self.failure is not None:
                    raise self.failure
                return self.ending
            if not self._pending:
                self.sent_seq = max(self.sent_seq, self.seq)
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None

    async def execute(self, message: object) -> str:
        """This member's operation on one event, encoded: the payload of a `next` message."""
        SHARED_RESULTS.executions += 1  # every real execution of an event is counted there
        context = self.context
        context.reset_loaders()
        schema = self.schema
        try:
            outcome = execute(
                schema._schema,
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
            schema.process_errors(errors)
            payload["errors"] = [
                public_error(e, expose_internal=context.development).formatted for e in errors
            ]
        return json.dumps(payload)


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
        try:
            async for item in follow(sessions, broadcast, self.stream, self.last_seq):
                if isinstance(item, ResyncRequired):
                    self._end_all(Ending.RESYNC)
                    return
                # Recorded before delivering, with no await between: a later joiner replays it.
                self.last_seq = item.seq
                await self._deliver(item, list(self.members.values()))
            self._end_all(Ending.COMPLETE)  # the broadcast was disconnected: shutting down
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.exception("live group of %s failed", self.stream)
            self._end_all(Ending.RESYNC, error)
        finally:
            self.groups.discard(self)

    async def _deliver(self, event: StoredEvent, members: list[LiveMember]) -> None:
        payloads: dict[Hashable, str | None] = {}
        for member in members:
            if member.ending is not None or event.seq <= member.seq:
                continue
            if not member.watch.stable or event.kind in ACCESS_EVENTS:
                watch = await member.watcher()
                if watch is None:
                    member.seq = event.seq
                    member.end(Ending.COMPLETE)
                    continue
                member.watch = watch
            audience = (member.execution_key, member.watch.scope)
            if audience in payloads:
                member.push(event.seq, payloads[audience])
                continue
            share_key = (event.stream, event.seq, event.created_at, member.watch.scope)
            message = member.to_message(event, share_key)
            payload = None if message is None else await member.execute(message)
            payloads[audience] = payload
            member.push(event.seq, payload)

    def _end_all(self, ending: Ending, failure: BaseException | None = None) -> None:
        for member in self.members.values():
            member.end(ending, failure)


class LiveGroups:
    """The groups of one application (one database, one broadcast), by stream."""

    def __init__(self) -> None:
        self._groups: dict[str, LiveGroup] = {}

    def position(self, stream: str) -> int | None:
        """The last seq the stream's group has taken in, if the stream has a group."""
        group = self._groups.get(stream)
        return group.last_seq if group is not None else None

    def try_join(
        self,
        stream: str,
        member: LiveMember,
        sessions: async_sessionmaker[AsyncSession],
        broadcast: Broadcast,
    ) -> LiveGroup | None:
        """Join the stream's group if the member has caught up with it (starting the group if
        there is none); None when the member must first replay up to the group's position."""
        group = self._groups.get(stream)
        if group is None:
            group = LiveGroup(self, stream, member.seq, sessions, broadcast)
            self._groups[stream] = group
        elif member.seq < group.last_seq:
            return None
        group.members[id(member)] = member
        return group

    async def leave(self, group: LiveGroup, member: LiveMember) -> None:
        group.members.pop(id(member), None)
        if not group.members and self._groups.get(group.stream) is group:
            del self._groups[group.stream]
            await stop_task(group.task)

    def discard(self, group: LiveGroup) -> None:
        if self._groups.get(group.stream) is group:
            del self._groups[group.stream]

    async def close(self) -> None:
        for group in list(self._groups.values()):
            await stop_task(group.task)
        self._groups.clear()


async def live_phase(
    groups: LiveGroups,
    member: LiveMember,
    stream: str,
    sessions: async_sessionmaker[AsyncSession],
    broadcast: Broadcast,
) -> Ending | None:
    """Join the stream's group and serve the member until its live phase ends; None, at once,
    when the member has not caught up with the group (the caller replays, then tries again)."""
    group = groups.try_join(stream, member, sessions, broadcast)
    if group is None:
        return None
    try:
        return await member.serve()
    finally:
        await groups.leave(group, member)
