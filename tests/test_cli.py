"""The `hub` command line, run in-process against the test database."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner, Result

from app import migrate as migrations
from app.cli import cli
from app.seed import DEMO_COMMUNITIES, DEMO_PASSWORD
from models.base import utcnow
from models.community import Community
from models.event import Event, append_event
from models.member import Member, Role
from models.organization import Organization, OrganizationKind
from models.search import SearchDocument
from models.thread import Thread
from schema import schema
from tests.conftest import broadcast_url_for_tests, gql


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_BROADCAST_URL": broadcast_url_for_tests(),
        "HUB_SECRET_KEY": "cli-test-secret-" + "y" * 32,
        **extra,
    }


async def hub(*args: str, env: dict[str, str]) -> Result:
    # The commands call asyncio.run themselves: run them off this test's event loop.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


async def test_seed_demo_adds_every_organisation_kind_and_members_with_expertise(
    database_url, db, client
):
    result = await hub("seed", "--demo", env=env_for(database_url))
    assert result.exit_code == 0, result.output
    async with db.sessions() as session:
        kinds = set((await session.execute(select(Organization.kind))).scalars())
        members = await session.scalar(select(func.count()).select_from(Member))
        roles = set((await session.execute(select(Member.role))).scalars())
    assert kinds == set(OrganizationKind)
    assert members is not None
    assert members >= 50
    assert {Role.ADMIN, Role.MODERATOR, Role.REVIEWER, Role.MEMBER} <= roles
    # the demo accounts sign in with the password the command prints
    assert DEMO_PASSWORD in result.output
    body = await gql(
        client,
        "mutation($i: LoginInput!) { login(input: $i) { token errors { code } } }",
        {"i": {"email": "admin@demo.hub", "password": DEMO_PASSWORD}},
    )
    assert body["data"]["login"]["token"].startswith("hub_")
    # the demo webinars read through the API: one live, with its Q&A for participants
    listing = await gql(client, "{ webinars { nodes { title status registeredCount } } }")
    statuses = [(n["status"], n["registeredCount"]) for n in listing["data"]["webinars"]["nodes"]]
    assert statuses == [("LIVE", 20), ("SCHEDULED", 20)]
    # each demo thread is in the community whose topic it fits
    async with db.sessions() as session:
        placed = (await session.execute(select(Community.slug, Thread.title).join(Thread))).all()
    fits = {(c.slug, title) for c in DEMO_COMMUNITIES for title in c.threads}
    assert placed
    assert set(placed) <= fits
    # and a second run adds nothing
    again = await hub("seed", "--demo", env=env_for(database_url))
    assert "already present" in again.output


async def test_create_member_with_a_role_and_organisation(database_url, db, factory):
    await factory.organization(OrganizationKind.UN_SYSTEM, name="Network Secretariat")
    result = await hub(
        "create-member",
        "--email",
        "Admin@Example.org",
        "--name",
        "First Admin",
        "--role",
        "admin",
        "--organization",
        "Network Secretariat",
        env=env_for(database_url, HUB_NEW_MEMBER_PASSWORD="a long enough password"),
    )
    assert result.exit_code == 0, result.output
    async with db.sessions() as session:
        member = await session.scalar(select(Member).where(Member.email == "admin@example.org"))
    assert member is not None
    assert member.role is Role.ADMIN
    assert member.organization_id is not None


async def test_create_member_refuses_a_weak_password_and_a_duplicate(database_url, db, factory):
    existing = await factory.member()
    weak = await hub(
        "create-member",
        "--email",
        "x@example.org",
        "--name",
        "X",
        "--password",
        "short",
        env=env_for(database_url),
    )
    duplicate = await hub(
        "create-member",
        "--email",
        existing.email,
        "--name",
        "X",
        "--password",
        "a long enough password",
        env=env_for(database_url),
    )
    assert (weak.exit_code, duplicate.exit_code) == (1, 1)
    assert "password" in weak.output
    assert "exists" in duplicate.output


async def test_check_reports_an_unreachable_broker_and_exits_non_zero(database_url, db):
    env = env_for(database_url, HUB_BROADCAST_URL="redis://127.0.0.1:1")
    result = await hub("check", "--timeout", "0", env=env)
    assert result.exit_code == 1
    assert "not ready: broker" in result.output


async def test_check_succeeds_when_database_and_broker_answer(database_url, db):
    result = await hub("check", "--timeout", "5", env=env_for(database_url))
    assert result.exit_code == 0, result.output


async def test_production_without_a_secret_refuses_with_what_to_set(database_url):
    env = env_for(database_url, HUB_ENV="production", HUB_SECRET_KEY="", HUB_ALLOWED_ORIGINS="")
    result = await hub("check", env=env)
    assert result.exit_code == 2
    assert "HUB_SECRET_KEY" in result.output
    assert "HUB_ALLOWED_ORIGINS" in result.output


async def test_demo_data_is_refused_in_production(database_url):
    env = env_for(database_url, HUB_ENV="production", HUB_ALLOWED_ORIGINS="https://hub.example.org")
    result = await hub("seed", "--demo", env={**env, "HUB_ALLOW_PROCESS_LOCAL": "1"})
    assert result.exit_code == 2
    assert "Refusing to add demo data" in result.output


async def test_serve_refuses_several_workers_on_a_process_local_broker(database_url):
    env = {**env_for(database_url), "HUB_BROADCAST_URL": "memory://"}
    result = await hub("serve", "--workers", "2", "--no-migrate", env=env)
    assert result.exit_code == 2
    assert "memory:// reaches one process" in result.output


async def test_export_schema_writes_the_sdl(tmp_path: Path, database_url):
    target = tmp_path / "schema.graphql"
    result = await hub("export-schema", "--output", str(target), env=env_for(database_url))
    assert result.exit_code == 0
    assert target.read_text().strip() == schema.as_str().strip()


async def test_migrate_current_names_the_head_revision(database_url):
    result = await hub("migrate", "current", env=env_for(database_url))
    assert result.exit_code == 0
    assert "(head)" in result.output


async def test_migrate_upgrade_says_what_it_applied_or_that_nothing_was_due(tmp_path: Path):
    # given an empty database
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    # when it is upgraded twice
    first = await hub("migrate", "upgrade", env=env_for(fresh))
    second = await hub("migrate", "upgrade", env=env_for(fresh))
    # then the first run names every migration, the second says nothing was due
    assert first.exit_code == 0, first.output
    applied = [line for line in first.output.splitlines() if line.startswith("applied ")]
    assert len(applied) == len(migration_ids())
    assert applied[0].startswith("applied 0001 (")
    assert applied[-1].startswith(f"applied {migrations.head()} (")
    assert second.output.strip().endswith(
        f"nothing to apply: the database is at {migrations.head()}"
    )


def migration_ids() -> list[str]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrations.alembic_config(""))
    return [s.revision for s in scripts.walk_revisions()]


async def test_prune_events_deletes_old_events_and_keeps_recent_ones(database_url, db):
    async with db.sessions.begin() as session:
        for _ in range(3):
            await append_event(session, "thread:1", "POST_CREATED", {"thread": 1})
        await session.flush()
        await session.execute(
            update(Event).where(Event.seq < 3).values(created_at=utcnow() - timedelta(days=40))
        )
    result = await hub("prune-events", "--older-than-days", "30", env=env_for(database_url))
    assert result.exit_code == 0, result.output
    assert "deleted 2 events" in result.output
    async with db.sessions() as session:
        remaining = list((await session.execute(select(Event.seq))).scalars())
    assert remaining == [3]


# --- hub doctor: each problem it checks, made real -------------------------------------------


def healthy_production_env(database_url: str) -> dict[str, str]:
    return env_for(
        database_url,
        HUB_ENV="production",
        HUB_ALLOWED_ORIGINS="https://hub.example.org",
        HUB_ALLOW_PROCESS_LOCAL="1",
    )


async def test_doctor_finds_nothing_wrong_with_a_sound_set_up(database_url, db):
    result = await hub("doctor", env=healthy_production_env(database_url))
    assert result.exit_code == 0, result.output
    assert "no problem found" in result.output


async def test_doctor_names_weak_settings(database_url, db):
    env = env_for(database_url, HUB_SECRET_KEY="short", HUB_ALLOWED_ORIGINS="*")
    result = await hub("doctor", env=env)
    assert result.exit_code == 1
    assert "HUB_SECRET_KEY is the default or shorter" in result.output
    assert "HUB_ALLOWED_ORIGINS is empty or '*'" in result.output
    assert "HUB_ENV is 'test'" in result.output


async def test_doctor_names_an_unmigrated_database(tmp_path: Path, database_url, db):
    if not database_url.startswith("sqlite"):
        pytest.skip("an empty SQLite file stands for a database nobody migrated")
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = await hub("doctor", env=healthy_production_env(empty))
    assert result.exit_code == 1
    assert "schema at revision none" in result.output
    assert "run `hub migrate upgrade`" in result.output


async def test_doctor_names_an_unreachable_broker(database_url, db):
    env = {**healthy_production_env(database_url), "HUB_BROADCAST_URL": "redis://127.0.0.1:1"}
    result = await hub("doctor", env=env)
    assert result.exit_code == 1
    assert "broker at redis://127.0.0.1:1: no round trip" in result.output


async def test_doctor_names_a_pool_too_big_for_the_processes(database_url, db):
    if not database_url.startswith("postgresql"):
        pytest.skip("max_connections is PostgreSQL's")
    result = await hub("doctor", "--workers", "50", env=healthy_production_env(database_url))
    assert result.exit_code == 1
    assert "50 process(es) may open 900 connections, above max_connections" in result.output


async def test_doctor_names_a_search_index_out_of_step_with_the_data(
    database_url, db, client, factory
):
    from tests.discussions import community, thread

    # given a thread whose document points at an item that does not exist
    community_id, moderator = await community(client, factory)
    await thread(client, community_id, moderator)
    async with db.sessions.begin() as session:
        await session.execute(
            update(SearchDocument).where(SearchDocument.kind == "THREAD").values(item_id=999_999)
        )
    # when the doctor looks
    result = await hub("doctor", env=healthy_production_env(database_url))
    # then the thread is missing from the index, and its document is stale
    assert result.exit_code == 1
    assert (
        "search index: THREAD has 1 item(s) missing from the index and 1 document(s) of items "
        "that are gone: run `hub search-reindex`"
    ) in result.output
    # and once reindexed, all is well
    assert (await hub("search-reindex", env=env_for(database_url))).exit_code == 0
    assert (
        "search index" not in (await hub("doctor", env=healthy_production_env(database_url))).output
    )


async def test_doctor_names_an_event_log_nobody_prunes(database_url, db):
    async with db.sessions.begin() as session:
        await append_event(session, "thread:1", "POST_CREATED", {"thread": 1})
        await session.flush()
        await session.execute(update(Event).values(created_at=utcnow() - timedelta(days=40)))
    result = await hub("doctor", env=healthy_production_env(database_url))
    assert result.exit_code == 1
    assert "event log: its oldest event is 40 days old, beyond HUB_EVENT_RETENTION_DAYS (30)" in (
        result.output
    )


async def test_doctor_names_a_clock_that_is_off_the_database(database_url, db):
    """A real skew: `hub doctor` runs under libfaketime (Debian's faketime, which .ci/run
    installs), 30 s ahead of the database's clock."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite answers the time as text, from this machine's own clock")
    faketime = shutil.which("faketime")
    if faketime is None:
        assert not os.environ.get("CI"), "CI installs faketime: apt-get install -y faketime"
        pytest.skip("faketime is not installed (apt-get install -y faketime)")
    env = {**os.environ, **healthy_production_env(database_url)}
    command = str(Path(sys.executable).with_name("hub"))
    process = await asyncio.create_subprocess_exec(
        faketime,
        "-f",
        "+30s",
        command,
        "doctor",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(120):
        output = (await process.communicate())[0].decode()
    assert process.returncode == 1, output
    found = re.search(r"its clock is (\d+\.\d) s off ours", output)
    assert found is not None, output
    assert 29 <= float(found.group(1)) <= 35
    # and the same doctor on our own clock finds nothing (the sound set-up above)


async def test_doctor_names_a_retention_shorter_than_a_session(database_url, db):
    env = {**healthy_production_env(database_url), "HUB_EVENT_RETENTION_DAYS": "7"}
    result = await hub("doctor", env=env)
    assert result.exit_code == 1
    assert "HUB_EVENT_RETENTION_DAYS (7) is shorter than a session (HUB_TOKEN_TTL_HOURS 336)" in (
        result.output
    )
