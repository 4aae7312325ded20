"""How sockets end, in the metrics (issue 16): each ending by its close code's meaning, and a
graceful shutdown (uvicorn's close 1012 to every socket) with the time it took to drain."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette

from tests.conftest import Factory
from tests.live import connect
from tests.services import hub_serve, hub_serve_environment
from tests.test_metrics import samples, scrape, settles, value
from tests.test_websocket import socket

CLOSES = "hub_websocket_closes_total"
SOCKETS = 3


async def test_a_socket_the_client_closes_is_counted_as_normal(
    app: Starlette, factory: Factory
) -> None:
    member = await factory.member()
    before = value(await scrape(app), CLOSES, reason="normal")
    async with connect(app, member.token):
        pass
    assert await settles(app, CLOSES, before + 1, reason="normal")


async def test_a_refused_handshake_is_counted_as_rejected(app: Starlette) -> None:
    before = value(await scrape(app), CLOSES, reason="rejected")
    with pytest.RaisesGroup(WebSocketDisconnect, flatten_subgroups=True):
        async with socket(app, headers={"Origin": "https://evil.example"}):
            pass
    assert await settles(app, CLOSES, before + 1, reason="rejected")


async def test_a_socket_refused_for_its_token_is_counted_by_its_code(app: Starlette) -> None:
    before = value(await scrape(app), CLOSES, reason="forbidden")
    with pytest.RaisesGroup(WebSocketDisconnect, flatten_subgroups=True):
        async with socket(app) as ws:
            init = {"type": "connection_init", "payload": {"token": "not-a-token"}}
            await ws.send_text(json.dumps(init))
            await ws.receive_text()
    assert await settles(app, CLOSES, before + 1, reason="forbidden")


async def test_a_graceful_shutdown_is_counted_with_its_drain_time(
    database_url: str, db: object, tmp_path: Path
) -> None:
    """A real `hub serve` holding open sockets gets SIGTERM: every socket is closed with 1012,
    and the process's metrics (multiprocess mode: they outlive it) say so."""
    multiprocess_dir = tmp_path / "metrics"
    multiprocess_dir.mkdir()
    env = hub_serve_environment(database_url, PROMETHEUS_MULTIPROC_DIR=str(multiprocess_dir))
    async with hub_serve(env, tmp_path / "serve.log") as (process, base):
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            codes = await _closed_by_sigterm(client, process)
        async with asyncio.timeout(30):
            await process.wait()
    assert codes == [1012] * SOCKETS, (tmp_path / "serve.log").read_text()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    found = samples(generate_latest(registry).decode())
    assert value(found, CLOSES, reason="service_restart") == SOCKETS
    assert value(found, "hub_shutdown_drain_seconds_count") == 1
    log_text = (tmp_path / "serve.log").read_text()
    assert f"shutdown: {SOCKETS} socket(s) closed with 1012 (Service Restart)" in log_text


async def _closed_by_sigterm(
    client: httpx.AsyncClient, process: asyncio.subprocess.Process
) -> list[int]:
    """Open SOCKETS signed-out sockets, send SIGTERM, and return the code each was closed with."""
    codes: list[int] = []
    ready = asyncio.Event()
    opened = 0

    async def hold() -> None:
        nonlocal opened
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_text(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.receive_text())["type"] == "connection_ack"
            opened += 1
            if opened == SOCKETS:
                ready.set()
            try:
                await ws.receive_text()
            except WebSocketDisconnect as closed:
                codes.append(closed.code)

    async with asyncio.timeout(30), asyncio.TaskGroup() as sockets:
        for _ in range(SOCKETS):
            sockets.create_task(hold())
        await ready.wait()
        process.send_signal(signal.SIGTERM)
    return codes
