"""Where a compiled trusted document's request spends its CPU, in process: the thread page's
query (`thread_page.QUERY`, pushed as a trusted document, 80 posts seeded) sent by
`documentId` straight to the ASGI app (no server, no socket), N times through the view (the
executor-side compiled plan, app/compiled.py) and N times through the fast path
(app/compiled_front.py); CPU ms per request of each (`time.process_time`), and the view's
cProfile by layer (cumulative time of Starlette, the middleware, authentication, the document
lookup, the response cache's plan, `compiled.answer`, SQLAlchemy, JSON).

    python bench/compiled_layers.py [--requests 300] [--viewer anonymous|member]

Creates a throwaway database on the loopback server (ADMIN_URL) and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from discussion import VIEWER_EMAIL, seed_discussion
from floor import global_id
from harness import (
    ADMIN_URL,
    bench_settings,
    create_bench_database,
    database_urls,
    drop_bench_database,
    issue_tokens,
)
from raw_floor import create_app as raw_floor_app
from thread_page import QUERY

from app import migrate
from app.main import create_app
from app.manifests import push_manifest
from app.seed import seed_demo
from resolvers.documents import sha256_of
from schema import schema

ROUNDS = 5


async def call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    sent: list[bytes] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(sent)


async def measure(app: Any, body: bytes, headers: list[Any], n: int) -> tuple[float, bytes]:
    answer = await call(app, body, headers)
    for _ in range(20):
        await call(app, body, headers)
    started = time.process_time()
    for _ in range(n):
        await call(app, body, headers)
    return (time.process_time() - started) * 1000 / n, answer


async def run(url: str, requests: int, viewer: str) -> None:
    settings = bench_settings(url)
    await seed_demo(settings, members=300)
    discussion = await seed_discussion(settings, posts=80, members=100)
    token = (await issue_tokens(settings, [VIEWER_EMAIL]))[0] if viewer == "member" else None
    with tempfile.TemporaryDirectory() as workdir:
        manifest = Path(workdir) / "manifest.json"
        manifest.write_text(json.dumps({sha256_of(QUERY): QUERY}))
        await push_manifest(settings, schema._schema, manifest, print)
    app = create_app(settings.model_copy(update={"response_cache_max_bytes": 0}))
    headers = [(b"content-type", b"application/json"), (b"accept", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    body = json.dumps(
        {
            "documentId": sha256_of(QUERY),
            "variables": {"id": global_id("Thread", discussion.thread_id)},
        }
    ).encode()
    floor = raw_floor_app("thread", settings)
    await floor.open()
    rounds: dict[str, list[float]] = {"view": [], "fast": [], "raw": []}
    async with app.router.lifespan_context(app):
        front = app.state.compiled_front
        await call(app, body, headers)  # the view loads the document
        for _ in range(ROUNDS):  # interleaved: the machine's noise falls on all three alike
            front.enabled = True
            fast_ms, fast_answer = await measure(app, body, headers, requests)
            raw_ms, raw_answer = await measure(floor, body, headers, requests)
            front.enabled = False
            view_ms, view_answer = await measure(app, body, headers, requests)
            assert fast_answer == view_answer == raw_answer, "the answers differ"
            for name, ms in (("view", view_ms), ("fast", fast_ms), ("raw", raw_ms)):
                rounds[name].append(ms)
        await floor.close()
        front.enabled = False
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(requests):
            await call(app, body, headers)
        profile.disable()
        front.enabled = True
        fast_profile = cProfile.Profile(time.process_time)
        fast_profile.enable()
        for _ in range(requests):
            await call(app, body, headers)
        fast_profile.disable()
    print(f"viewer {viewer}, {requests} requests each, {len(view_answer):,} bytes, same bytes")
    labels = {
        "view": "view (executor-side compiled plan)",
        "fast": "fast path (app/compiled_front.py)",
        "raw": "raw floor (bench/raw_floor.py)",
    }
    for name, label in labels.items():
        figures = sorted(rounds[name])
        print(
            f"{label:36s} CPU ms/request: min {figures[0]:.2f}, median "
            f"{figures[len(figures) // 2]:.2f} ({ROUNDS} rounds)"
        )
    ratio = sorted(f / r for f, r in zip(rounds["fast"], rounds["raw"], strict=True))
    print(f"fast path / raw floor, per round: median {ratio[len(ratio) // 2]:.2f}x")
    for label, measured in (("view", profile), ("fast path", fast_profile)):
        print(f"--- {label}: own time (tottime) by module, ms per request")
        by_module: dict[str, float] = {}
        for (filename, _, name), (_, _, tottime, _, _) in pstats.Stats(measured).stats.items():  # type: ignore[attr-defined]
            module = name if filename == "~" else _module(filename)  # C functions by name
            by_module[module] = by_module.get(module, 0.0) + tottime
        for module, seconds in sorted(by_module.items(), key=lambda kv: -kv[1])[:18]:
            print(f"  {module:60s} {1000 * seconds / requests:6.3f}")


def _module(filename: str) -> str:
    for marker in ("site-packages/", "wt-fastc/", "python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--viewer", choices=["anonymous", "member"], default="anonymous")
    args = parser.parse_args()
    name = f"hub_layers_{secrets.token_hex(4)}"
    asyncio.run(create_bench_database(ADMIN_URL, name))
    try:
        url = database_urls(ADMIN_URL, name)[1]
        migrate.upgrade(url)
        asyncio.run(run(url, args.requests, args.viewer))
    finally:
        asyncio.run(drop_bench_database(ADMIN_URL, name))


if __name__ == "__main__":
    main()
