"""PostGraphile v4 as the peer row of the thread page (issue 17): one Node process serving a
GraphQL API reflected from the same seeded database, answering a query the hub answers too.

The package is installed by the benchmark, pinned exactly, into a cache outside the
repository (`~/.cache/hub-bench/postgraphile`, `npm install --no-save --prefix ...`); nothing
of it is committed. The common query is the thread's title and its first 50 posts with their
authors (`COMMON_QUERY` for PostGraphile, `HUB_COMMON_QUERY` for the hub). PostGraphile has no
visibility rules here (no row-level security): it shows every author, where the hub hides
members who are not experts from anonymous viewers; the shapes and the posts are the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from harness import HOST, BenchError, Server, fetch

VERSION = "4.14.1"
CACHE = Path(os.environ.get("HUB_BENCH_CACHE", Path.home() / ".cache" / "hub-bench"))
PREFIX = CACHE / "postgraphile"
CLI = PREFIX / "node_modules" / "postgraphile" / "cli.js"
INSTALL_SECONDS = 300
COMMON_QUERY = (
    "query($id: Int!) { threadById(id: $id) { title postsByThreadId(first: 50, orderBy: ID_ASC) "
    "{ edges { node { id body memberByAuthorId { id name } } } } } }"
)
HUB_COMMON_QUERY = (
    "query($id: ID!) { thread(id: $id) { title posts(first: 50) { edges { node { id body "
    "author { id name } } } } } }"
)


def installed_version() -> str | None:
    with suppress(OSError, ValueError, KeyError):
        package = json.loads((CLI.parent / "package.json").read_text("utf-8"))
        return str(package["version"])
    return None


def install() -> Path:
    """postgraphile@VERSION in the cache (once); the path of its CLI script."""
    if installed_version() == VERSION:
        return CLI
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise BenchError("PostGraphile needs node and npm (apt-get install -y nodejs npm)")
    PREFIX.mkdir(parents=True, exist_ok=True)
    print(f"installing postgraphile@{VERSION} into {PREFIX}", flush=True)
    done = subprocess.run(
        ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(PREFIX),
         f"postgraphile@{VERSION}"],
        capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False,
    )  # fmt: skip
    if done.returncode != 0 or installed_version() != VERSION:
        raise BenchError(f"npm install postgraphile@{VERSION} failed: {done.stderr[-2000:]}")
    return CLI


def node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def argv(dsn: str, port: int) -> list[str]:
    """One Node process, no watch, no query log, its default pool; GraphiQL left off."""
    node = shutil.which("node") or "node"
    return [
        node, str(install()), "--connection", dsn, "--schema", "public", "--host", HOST,
        "--port", str(port), "--disable-query-log", "--disable-graphiql",
    ]  # fmt: skip


def wait_until_answering(server: Server, seconds: float = 60.0) -> None:
    """PostGraphile has no /livez: wait until it answers a query (it reflects the schema
    first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start-up: {server.log_path.read_text()}")
        with suppress(httpx.TransportError):
            answer = httpx.post(f"{server.url}/graphql", json={"query": "{__typename}"})
            if answer.status_code == 200:
                return
        time.sleep(0.3)
    raise BenchError(f"{server.name} did not answer in {seconds:.0f} s")


def check_common_answers(
    hub: Server, hub_body: bytes, peer: Server, peer_body: bytes
) -> dict[str, int]:
    """Both answer the same posts (IDs, bodies) with the same title; sizes of both answers."""
    hub_answer, peer_answer = fetch(hub, hub_body, None), fetch(peer, peer_body, None)
    hub_thread: dict[str, Any] = json.loads(hub_answer)["data"]["thread"]
    peer_thread: dict[str, Any] = json.loads(peer_answer)["data"]["threadById"]
    hub_posts = [e["node"] for e in hub_thread["posts"]["edges"]]
    peer_posts = [e["node"] for e in peer_thread["postsByThreadId"]["edges"]]
    if hub_thread["title"] != peer_thread["title"] or {len(hub_posts), len(peer_posts)} != {50}:
        raise BenchError("PostGraphile and the hub answer different threads or pages")
    if [p["body"] for p in hub_posts] != [p["body"] for p in peer_posts]:
        raise BenchError("PostGraphile and the hub answer different posts")
    if not all(p["memberByAuthorId"] for p in peer_posts):
        raise BenchError("PostGraphile answered posts without authors")
    return {"hub_bytes": len(hub_answer), "postgraphile_bytes": len(peer_answer)}
