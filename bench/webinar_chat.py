"""Benchmark: a live webinar's chat, fanned out to its subscribed participants.

`fanout.py` with a webinar instead of a thread: a fresh PostgreSQL database with demo members,
one PUBLIC webinar, LIVE, with `--subscribers` registered participants (one signed-in plain
member per socket, so all share one permission scope) and `--posters` more who write. For each
setup — one hub process (`memory://`), and two hub processes sharing Redis — every participant
subscribes to `webinarEvents(webinarId, after: <eventCursor>)` (`webinar_chat_client.py`) and
the posters send `--posts` chat messages `--interval` seconds apart through HTTP (round-robin
over the posters: the chat's per-member rate limit stays out of the way). Reported: latency of
each delivery (from the send, from the event's `occurredAt`, from the mutation's response),
deliveries lost, memory per subscription, CPU, event executions. The defaults are the issue's
scenario: 1,000 participants, 5 messages a second for 30 s (5,000 deliveries a second).

Everything else — servers, subscriber processes, analysis, report, clean-up, watchdog — is
`fanout.py`'s, reused as is; this module replaces only what is about a thread.

    .venv/bin/python bench/webinar_chat.py [--subscribers 1000] [--posts 150] [--interval 0.2]
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import fanout
import httpx
from floor import global_id
from harness import (
    BENCH_DIR,
    BenchError,
    Server,
    bench_settings,
    database_urls,
    issue_tokens,
    print_load,
    raise_open_files_limit,
    request_headers,
    run_with_database,
    save_results,
    vacuum_analyze,
)
from sqlalchemy import select

from app import migrate
from app.seed import seed_demo
from app.settings import Settings
from models.base import utcnow
from models.db import create_database
from models.member import Member, Role
from models.webinar import (
    RegistrationStatus,
    Webinar,
    WebinarHost,
    WebinarHostRole,
    WebinarRegistration,
    WebinarStatus,
    WebinarVisibility,
)

SEND_MUTATION = (
    "mutation($input: SendChatMessageInput!) { sendChatMessage(input: $input) { "
    "message { id } errors { code message } } }"
)
POSTERS = 50
WEBINAR_ID_RANGE = (1_000_000, 2_000_000_000)
TARGET_P99_MS = 500.0
# The issue's scenario, unless told otherwise.
DEFAULTS = ["--viewer", "member", "--posts", "150", "--interval", "0.2"]


@dataclass(frozen=True)
class WebinarSeeded(fanout.Seeded):
    poster_tokens: list[str] | None = None  # the chat's writers, one message each in turn


async def _plain_members(settings: Settings, count: int) -> list[str]:
    db = create_database(settings.database_url)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Member.email).where(Member.role == Role.MEMBER).order_by(Member.id)
            )
            emails = [str(e) for e in rows.scalars()][:count]
    finally:
        await db.dispose()
    if len(emails) < count:
        raise BenchError(f"seed at least {count} plain members (found {len(emails)})")
    return emails


async def _live_webinar(settings: Settings, emails: list[str]) -> int:
    """A PUBLIC webinar, LIVE now, every member of `emails` registered (the first organises)."""
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            ids = list(
                (await session.execute(select(Member.id).where(Member.email.in_(emails)))).scalars()
            )
            now = utcnow()
            webinar = Webinar(
                id=random.Random(2018).randint(*WEBINAR_ID_RANGE),
                title="Benchmark webinar: labour mobility corridors",
                description="A live webinar for the benchmark.",
                starts_at=now,
                ends_at=now.replace(year=now.year + 1),
                visibility=WebinarVisibility.PUBLIC,
                status=WebinarStatus.LIVE,
                capacity=len(ids),
                registered_count=len(ids) - 1,
                created_by_id=ids[0],
            )
            session.add(webinar)
            await session.flush()
            session.add(
                WebinarHost(webinar_id=webinar.id, role=WebinarHostRole.ORGANISER, member_id=ids[0])
            )
            session.add_all(
                WebinarRegistration(
                    webinar_id=webinar.id, member_id=m, status=RegistrationStatus.REGISTERED
                )
                for m in ids[1:]
            )
            return webinar.id
    finally:
        await db.dispose()


def members_needed(options: fanout.Options) -> int:
    """Demo members to seed: about one in nine is a reviewer and the first three are staff."""
    return (options.sockets + POSTERS + 10) * 9 // 8 + 20


async def seed(settings: Settings, dsn: str, options: fanout.Options) -> WebinarSeeded:
    await seed_demo(settings, members=members_needed(options))
    emails = await _plain_members(settings, 1 + POSTERS + options.sockets)
    webinar_id = await _live_webinar(settings, emails)
    await vacuum_analyze(dsn)
    tokens = await issue_tokens(settings, emails[1:])
    return WebinarSeeded(
        settings=settings,
        dsn=dsn,
        thread_id=global_id("Webinar", webinar_id),
        poster_token=tokens[0],
        subscriber_tokens=tokens[POSTERS:],
        poster_tokens=tokens[:POSTERS],
    )


def prepare_database(options: fanout.Options, database: str) -> WebinarSeeded:
    dsn, url = database_urls(options.admin_url, database)
    settings = bench_settings(url)
    print(f"database {database}: migrating and seeding {members_needed(options)} members")
    migrate.upgrade(url)
    return asyncio.run(seed(settings, dsn, options))


# --- what differs from fanout.py: the cursor, the writes, the subscriber script -------------


async def _send_one(
    client: httpx.AsyncClient, seeded: WebinarSeeded, index: int, at: float, run_id: str
) -> fanout.Posted:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    tokens = seeded.poster_tokens or [seeded.poster_token]
    body = f"fanout post {index} of run {run_id}: which corridors?"
    variables = {"input": {"webinarId": seeded.thread_id, "body": body}}
    headers = request_headers(tokens[index % len(tokens)])
    sent = time.time()
    response = await client.post(
        "/graphql",
        json={"query": SEND_MUTATION, "variables": variables},
        headers=headers,
        timeout=30.0,
    )
    answered = time.time()
    result = ((response.json().get("data") or {}).get("sendChatMessage")) or {}
    if response.status_code != 200 or result.get("errors") or not result.get("message"):
        raise BenchError(f"sendChatMessage failed ({response.status_code}): {response.text[:300]}")
    return fanout.Posted(index, sent, answered)


async def send_messages(
    server: Server, seeded: WebinarSeeded, indexes: list[int], interval: float
) -> list[fanout.Posted]:
    """One chat message per index, `interval` seconds apart, on schedule."""
    run_id = f"{time.time():.0f}"
    async with httpx.AsyncClient(base_url=server.url) as client:
        start = time.monotonic()
        return await asyncio.gather(
            *(
                _send_one(client, seeded, index, start + n * interval, run_id)
                for n, index in enumerate(indexes)
            )
        )


_fanout_client_argv = fanout.client_argv


def client_argv(
    urls: list[str], seeded: fanout.Seeded, after: str, load: fanout.Load, options: fanout.Options
) -> list[str]:
    argv = _fanout_client_argv(urls, seeded, after, load, options)
    argv[1] = str(BENCH_DIR / "webinar_chat_client.py")
    return argv


def use_webinar() -> None:
    """Point fanout.py's thread-specific steps at the webinar."""
    fanout.CURSOR_QUERY = "query($id: ID!) { thread: webinar(id: $id) { eventCursor } }"
    fanout.post_events = send_messages  # type: ignore[assignment]
    fanout.client_argv = client_argv
    fanout.TARGET_P99_MS = TARGET_P99_MS


def benchmark(options: fanout.Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    raise_open_files_limit()
    seeded = prepare_database(options, database)
    outcomes = [fanout.run_setup(s, seeded, options, workdir, servers) for s in options.setups]
    document = {
        "options": asdict(options),
        "outcomes": [fanout.outcome_json(o) for o in outcomes],
    }
    print(f"results: {save_results('webinar-chat', document)}")
    return fanout.report(outcomes, options)


def main(argv: list[str] | None = None) -> int:
    options = fanout.parse_args([*DEFAULTS, *(sys.argv[1:] if argv is None else argv)])
    if options.viewer != "member":
        raise SystemExit("webinar participants are signed in: --viewer member only")
    use_webinar()
    return run_with_database(
        options.admin_url, options.budget_seconds(), partial(benchmark, options)
    )


if __name__ == "__main__":
    sys.exit(main())
