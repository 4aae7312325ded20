"""Subscribers for `fanout.py`: many graphql-transport-ws sockets in one asyncio process.

Opens `--sockets` WebSockets (round-robin over `--url`s), `--batch` at a time: each sends
`connection_init` (with a token from `--tokens-file` if given), waits for the ack and subscribes
`--per-socket` times to `threadEvents(threadId, after)`. Prints `READY <json>` on stdout once
every subscription is sent, then timestamps every message as it arrives (wall clock: the poster
runs on the same machine). Prints `DONE <json>` once every subscription has `--expect` events
(or after `--timeout` seconds); keeps the sockets open until a `STOP` line or the end of stdin,
then writes what each subscription received to `--result-file`.

    python bench/fanout_client.py --url ws://127.0.0.1:8000/graphql --thread-id ... --after ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

ORIGIN = "https://hub.example.org"  # harness.ORIGIN: the servers' allow-list
PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = (
    "subscription($threadId: ID!, $after: String) { threadEvents(threadId: $threadId, "
    "after: $after) { __typename ... on ThreadEvent { cursor kind occurredAt post { id body } } "
    "... on ResyncRequired { message } } }"
)
OPEN_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    urls: list[str]
    thread_id: str
    after: str
    sockets: int
    per_socket: int  # subscriptions per socket (graphql-transport-ws multiplexes them)
    batch: int
    pause: float  # seconds between batches
    expect: int
    tokens: list[str] | None
    compression: str | None
    timeout: float
    result_file: Path
    client: str = "websockets"  # or "raw": a minimal WebSocket client (below)


@dataclass
class Socket:
    index: int
    url: str
    token: str | None
    # Per operation id: (wall-clock time of arrival, raw message) of every `next`, parsed later.
    received: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)


class Run:
    """The shared state of all sockets: once every subscription has everything, `done` is set."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.done = asyncio.Event()
        self.complete = 0  # subscriptions that have received `expect` events
        self.sockets = [
            Socket(i, options.urls[i % len(options.urls)], _token(options, i))
            for i in range(options.sockets)
        ]

    def got_all(self) -> None:
        self.complete += 1
        if self.complete == len(self.sockets) * self.options.per_socket:
            self.done.set()


def _token(options: Options, index: int) -> str | None:
    return options.tokens[index] if options.tokens else None


# --- one socket ----------------------------------------------------------------------------


async def _handshake(ws: ClientConnection, socket: Socket, options: Options) -> None:
    params = {"token": socket.token} if socket.token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": params}))
    ack = json.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    variables = {"threadId": options.thread_id, "after": options.after}
    payload = {"query": SUBSCRIPTION, "variables": variables}
    for number in range(1, options.per_socket + 1):
        socket.received[str(number)] = []
        message = {"id": str(number), "type": "subscribe", "payload": payload}
        await ws.send(json.dumps(message))


async def _listen(ws: ClientConnection, socket: Socket, run: Run) -> None:
    async for raw in ws:
        arrived = time.time()
        text = raw.decode() if isinstance(raw, bytes) else raw
        message = json.loads(text)
        kind = message.get("type")
        if kind == "next" and message.get("id") in socket.received:
            received = socket.received[message["id"]]
            received.append((arrived, text))
            if len(received) == run.options.expect:
                run.got_all()
        elif kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif kind != "pong":
            socket.problems.append(f"unexpected message: {text[:300]}")


async def subscribe(socket: Socket, run: Run) -> None:
    """Connect, subscribe, then record everything until the run ends (the socket stays open)."""
    options = run.options
    try:
        async with connect(
            socket.url,
            origin=Origin(ORIGIN),
            subprotocols=[PROTOCOL],
            compression=options.compression,
            open_timeout=OPEN_SECONDS,
            ping_interval=None,  # the server pings; the library answers on its own
            close_timeout=2,
            max_queue=None,
        ) as ws:
            await _handshake(ws, socket, options)
            socket.subscribed.set()
            await _listen(ws, socket, run)
            socket.problems.append("the server closed the socket")
    except asyncio.CancelledError:
        raise
    except Exception as error:
        socket.problems.append(f"{type(error).__name__}: {error}")
    finally:
        socket.subscribed.set()  # a failed socket must not hold up the batches


# --- the raw client: a minimal WebSocket client on an asyncio protocol ------------------------
#
# `websockets` spends tens of µs of CPU per message (its parser, its queue, waking the socket's
# task); with 10,000 sockets on a 2-core machine the subscribers then compete with the server
# for the CPU they measure. This client does what the measurement needs and no more: the
# handshake, masked client frames (RFC 6455), unmasked server frames parsed in
# `data_received`, where each message is timestamped. No compression (it offers none).


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, unfragmented client frame."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def handshake_request(url: str) -> bytes:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Protocol: {PROTOCOL}",
        f"Origin: {ORIGIN}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class RawSocket(asyncio.Protocol):
    """One subscriber socket: handshake, `connection_init`, subscriptions, then messages."""

    def __init__(self, socket: Socket, run: Run) -> None:
        self.socket = socket
        self.run = run
        self.buffer = bytearray()
        self.opened = False
        self.acknowledged = False
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it
        self.transport.write(handshake_request(self.socket.url))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.socket.subscribed.set()

    def send_text(self, data: object) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(0x1, json.dumps(data).encode()))

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        self.buffer += data
        if not self.opened and not self._open():
            return
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self._frame(opcode, payload, arrived)

    def _open(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        if not head.startswith(b"HTTP/1.1 101"):
            self._fail(f"handshake refused: {head[:200]!r}")
            return False
        self.opened = True
        params = {"token": self.socket.token} if self.socket.token else {}
        self.send_text({"type": "connection_init", "payload": params})
        return True

    def _frame(self, opcode: int, payload: bytes, arrived: float) -> None:
        if opcode == 0x9:  # ping: pong with its payload
            assert self.transport is not None
            self.transport.write(client_frame(0xA, payload))
            return
        if opcode == 0x8:
            self._fail("the server closed the socket")
            return
        if opcode != 0x1:
            return
        text = payload.decode()
        message = json.loads(text)
        kind = message.get("type")
        if kind == "next" and message.get("id") in self.socket.received:
            received = self.socket.received[message["id"]]
            received.append((arrived, text))
            if len(received) == self.run.options.expect:
                self.run.got_all()
        elif kind == "connection_ack" and not self.acknowledged:
            self.acknowledged = True
            self._subscribe()
        elif kind == "ping":
            self.send_text({"type": "pong"})
        elif kind != "pong":
            self.socket.problems.append(f"unexpected message: {text[:300]}")

    def _subscribe(self) -> None:
        options = self.run.options
        variables = {"threadId": options.thread_id, "after": options.after}
        payload = {"query": SUBSCRIPTION, "variables": variables}
        for number in range(1, options.per_socket + 1):
            self.socket.received[str(number)] = []
            self.send_text({"id": str(number), "type": "subscribe", "payload": payload})
        self.socket.subscribed.set()

    def _fail(self, problem: str) -> None:
        self.socket.problems.append(problem)
        self.socket.subscribed.set()
        if self.transport is not None:
            self.transport.close()


async def subscribe_raw(socket: Socket, run: Run) -> None:
    """`subscribe` with the raw client: connect, then the protocol does the rest."""
    parts = urlsplit(socket.url)
    loop = asyncio.get_running_loop()
    protocol: RawSocket | None = None
    try:
        async with asyncio.timeout(OPEN_SECONDS):
            _, protocol = await loop.create_connection(
                lambda: RawSocket(socket, run), parts.hostname, parts.port
            )
        await protocol.closed
        socket.problems.append("the server closed the socket")
    except asyncio.CancelledError:
        raise
    except Exception as error:
        socket.problems.append(f"{type(error).__name__}: {error}")
    finally:
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
        socket.subscribed.set()


# --- the run -------------------------------------------------------------------------------


def _batches(items: list[Socket], size: int) -> Iterator[list[Socket]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def open_all(run: Run, tasks: list[asyncio.Task[None]]) -> float:
    """Open the sockets a batch at a time; seconds taken until every subscription was sent."""
    start = time.monotonic()
    for batch in _batches(run.sockets, run.options.batch):
        connect_one = subscribe_raw if run.options.client == "raw" else subscribe
        tasks.extend(asyncio.create_task(connect_one(s, run)) for s in batch)
        await asyncio.gather(*(s.subscribed.wait() for s in batch))
        await asyncio.sleep(run.options.pause)
    return time.monotonic() - start


async def stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def wait_for_stop(stdin: asyncio.StreamReader) -> None:
    """Until a `STOP` line (or end of file) on stdin."""
    while True:
        line = await stdin.readline()
        if not line or line.strip() == b"STOP":
            return


async def wait_until_finished(run: Run, stdin: asyncio.StreamReader) -> str:
    """Why the run ended: everyone got everything, the orchestrator said STOP, or timeout."""
    done = asyncio.create_task(run.done.wait())
    stop = asyncio.create_task(wait_for_stop(stdin))
    finished, pending = await asyncio.wait(
        {done, stop}, timeout=run.options.timeout, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    if stop in finished:
        return "stopped"
    return "complete" if done in finished else "timeout"


def write_results(run: Run, setup_seconds: float, ended: str) -> None:
    document: dict[str, Any] = {
        "setup_seconds": setup_seconds,
        "ended": ended,
        "sockets": [{"index": s.index, "url": s.url, "problems": s.problems} for s in run.sockets],
        "subscriptions": [
            {"socket": s.index, "id": op, "received": received}
            for s in run.sockets
            for op, received in s.received.items()
        ],
    }
    run.options.result_file.write_text(json.dumps(document), encoding="utf-8")


def report(line: str, data: dict[str, Any]) -> None:
    print(f"{line} {json.dumps(data)}", flush=True)


async def main_async(options: Options) -> int:
    """READY after setup; DONE when everyone has everything (or on timeout); then the sockets
    stay open (the orchestrator reads the server's memory) until STOP or end of stdin."""
    run = Run(options)
    tasks: list[asyncio.Task[None]] = []
    stdin = await stdin_lines()
    setup_seconds = 0.0
    ended = "failed"
    try:
        setup_seconds = await open_all(run, tasks)
        failed = sum(1 for s in run.sockets if s.problems)
        report("READY", {"setup_seconds": setup_seconds, "failed": failed})
        ended = await wait_until_finished(run, stdin)
        report("DONE", {"ended": ended, "complete": run.complete})
        if ended != "stopped":
            await asyncio.wait_for(wait_for_stop(stdin), options.timeout)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        write_results(run, setup_seconds, ended)
    return 0


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", action="append", required=True, help="ws:// URL (repeatable)")
    parser.add_argument("--thread-id", required=True, help="global ID of the thread")
    parser.add_argument("--after", required=True, help="the thread's eventCursor")
    parser.add_argument("--sockets", type=int, default=1_000, help="WebSocket connections")
    parser.add_argument("--per-socket", type=int, default=1, help="subscriptions per socket")
    parser.add_argument("--batch", type=int, default=100, help="sockets opened at a time")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    parser.add_argument("--expect", type=int, default=20, help="events each must receive")
    parser.add_argument("--tokens-file", type=Path, help="JSON list of bearer tokens")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds after setup")
    parser.add_argument("--result-file", type=Path, required=True)
    parser.add_argument(
        "--client", choices=["raw", "websockets"], default="websockets", help="WebSocket client"
    )
    args = parser.parse_args(argv)
    tokens = json.loads(args.tokens_file.read_text()) if args.tokens_file else None
    if tokens is not None and len(tokens) < args.sockets:
        parser.error(f"--tokens-file has {len(tokens)} tokens for {args.sockets} sockets")
    return Options(
        urls=args.url,
        thread_id=args.thread_id,
        after=args.after,
        sockets=args.sockets,
        per_socket=args.per_socket,
        batch=args.batch,
        pause=args.pause,
        expect=args.expect,
        tokens=tokens,
        compression=None if args.compression == "none" else args.compression,
        timeout=args.timeout,
        result_file=args.result_file,
        client=args.client,
    )


if __name__ == "__main__":
    sys.exit(uvloop.run(main_async(parse_args())))
