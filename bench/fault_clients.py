"""The clients of the fault scenarios (`faults.py`): subscribers that resume from their last
cursor whenever their socket ends (on the other server), and writers that retry with the
same idempotency key until they get an answer. Both record everything they are told.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fanout_client import ORIGIN, PROTOCOL
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Origin

SUBSCRIPTION = (
    "subscription($threadId: ID!, $after: String) { threadEvents(threadId: $threadId, "
    "after: $after) { __typename ... on ThreadEvent { cursor kind occurredAt } "
    "... on ResyncRequired { message } } }"
)
CREATE_POST = (
    "mutation($input: CreatePostInput!) { createPost(input: $input) { post { id } "
    "errors { code message } } }"
)
RECONNECT_PAUSE = (0.1, 0.4)  # seconds before a subscriber tries again, at random
ATTEMPT_TIMEOUT = 30.0  # seconds one write attempt may take before the client gives up on it


def cursor_of(stream: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"ev:{stream}:{seq}".encode()).decode()


def seq_of(cursor: str) -> int:
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().rpartition(":")[2])


# --- subscribers ---------------------------------------------------------------------------


@dataclass
class Subscriber:
    """One subscription that always comes back: after any end of its socket it subscribes
    again, on the next server, after the last event it received."""

    index: int
    urls: list[str]
    thread_id: str
    stream: str
    read_delay: float = 0.0  # seconds spent on each message: a slow reader
    churn: tuple[float, float] | None = None  # drops its socket every (min, max) seconds
    churning: asyncio.Event = field(default_factory=asyncio.Event)  # ...once this is set
    # (seq, arrival wall-clock time, event's occurredAt as epoch seconds), in arrival order
    received: list[tuple[int, float, float]] = field(default_factory=list)
    closes: Counter[int] = field(default_factory=Counter)  # close codes the servers sent
    problems: list[str] = field(default_factory=list)
    connections: int = 0
    subscribed: bool = False  # has sent `subscribe` once

    @property
    def last_seq(self) -> int:
        return max((seq for seq, _, _ in self.received), default=0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            url = self.urls[(self.index + self.connections) % len(self.urls)]
            self.connections += 1
            try:
                await self._session(url, stop)
            except ConnectionClosed as closed:
                if closed.rcvd is not None:
                    self.closes[closed.rcvd.code] += 1
            except (OSError, TimeoutError, WebSocketException) as error:
                # refused, reset, or a handshake a restarting server did not finish: try again
                self.problems.append(f"{type(error).__name__}")
            if not stop.is_set():
                await asyncio.sleep(random.uniform(*RECONNECT_PAUSE))

    async def _session(self, url: str, stop: asyncio.Event) -> None:
        async with connect(
            url,
            origin=Origin(ORIGIN),
            subprotocols=[PROTOCOL],
            open_timeout=20,
            ping_interval=None,
            close_timeout=2,
            max_queue=1 if self.read_delay else None,
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if ack.get("type") != "connection_ack":
                self.problems.append(f"no ack: {ack}")
                return
            after = cursor_of(self.stream, self.last_seq)
            variables = {"threadId": self.thread_id, "after": after}
            payload = {"query": SUBSCRIPTION, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            self.subscribed = True
            listening = asyncio.create_task(self._listen(ws))
            ending: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
            if self.churn is not None:
                ending.append(asyncio.create_task(self._churn_timer(self.churn)))
            try:
                await asyncio.wait([listening, *ending], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in ending:
                    task.cancel()
                if not listening.done():  # we leave: stopped, or churning
                    listening.cancel()
                    await ws.close()
            if listening.done() and not listening.cancelled():
                listening.result()  # the server's close, if abnormal, goes to `run`
                if ws.close_code is not None:
                    self.closes[ws.close_code] += 1

    async def _churn_timer(self, churn: tuple[float, float]) -> None:
        await self.churning.wait()
        await asyncio.sleep(random.uniform(*churn))

    async def _listen(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            if kind != "next":
                self.problems.append(f"{kind}: {str(message)[:200]}")
                return
            event = message["payload"].get("data", {}) or {}
            event = event.get("threadEvents") or {}
            if event.get("__typename") != "ThreadEvent":
                self.problems.append(f"not an event: {str(message)[:200]}")
                continue
            occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
            self.received.append((seq_of(event["cursor"]), time.time(), occurred))
            if self.read_delay:
                await asyncio.sleep(self.read_delay)


# --- writers -------------------------------------------------------------------------------


@dataclass
class Answer:
    """What one attempt of a write was told (`post_id` on success, `error` on a failure)."""

    key: str
    sent: float  # wall clock when the attempt was sent
    at: float  # wall clock of the answer
    post_id: str | None = None
    error: str | None = None


@dataclass
class Writer:
    """Posts `count` replies in turn, each with its own idempotency key, retrying a write on
    the next server until it is answered with success (or `give_up_after` seconds pass)."""

    name: str
    token: str
    urls: list[str]
    thread_id: str
    interval: float
    answers: list[Answer] = field(default_factory=list)
    unanswered: int = 0  # attempts that got no answer (connection refused, reset, timeout)
    given_up: list[str] = field(default_factory=list)
    write_seconds: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)
    keys: list[str] = field(default_factory=list)

    async def run(self, count: int, give_up_after: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Origin": ORIGIN}
        async with httpx.AsyncClient(headers=headers, timeout=ATTEMPT_TIMEOUT) as client:
            for number in range(count):
                started = time.time()
                key = f"{self.name}-{number}"
                self.keys.append(key)
                await self._write(client, key, number, started + give_up_after)
                self.write_seconds.append((started, time.time() - started))
                await asyncio.sleep(self.interval)

    async def _write(
        self, client: httpx.AsyncClient, key: str, number: int, deadline: float
    ) -> None:
        variables = {
            "input": {
                "threadId": self.thread_id,
                "body": f"Fault suite: {self.name} writes number {number}.",
                "idempotencyKey": key,
            }
        }
        attempt = 0
        while time.time() < deadline:
            url = self.urls[(number + attempt) % len(self.urls)]
            attempt += 1
            sent = time.time()
            try:
                response = await client.post(
                    f"{url}/graphql", json={"query": CREATE_POST, "variables": variables}
                )
            except httpx.TransportError:
                self.unanswered += 1
                await asyncio.sleep(0.2)
                continue
            answer = _answer(key, sent, response)
            self.answers.append(answer)
            if answer.post_id is not None:
                return
            await asyncio.sleep(0.2)
        self.given_up.append(key)


def _answer(key: str, sent: float, response: httpx.Response) -> Answer:
    now = time.time()
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        return Answer(key, sent, now, error=f"HTTP {response.status_code}, not JSON")
    payload = (body.get("data") or {}).get("createPost") or {}
    if response.status_code == 200 and payload.get("post") and not payload.get("errors"):
        return Answer(key, sent, now, post_id=str(payload["post"]["id"]))
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    codes += [e.get("code") for e in payload.get("errors") or []]
    return Answer(key, sent, now, error=f"HTTP {response.status_code} {codes}")
