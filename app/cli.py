"""The `hub` command: serve, worker, migrate, seed, create-member, mail, export-schema, check,
console, documents."""

from __future__ import annotations

import asyncio
import getpass
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError

from app import migrate as migrations
from app.readiness import redacted
from app.settings import Settings
from app.ws_frames import uvicorn_ws
from models.member import Role

cli = typer.Typer(help="Migration Network Hub backend.", no_args_is_help=True, add_completion=False)
migrate_cli = typer.Typer(
    help="Apply or inspect database migrations (Alembic).", no_args_is_help=True
)
cli.add_typer(migrate_cli, name="migrate")
mail_cli = typer.Typer(help="Mail the hub wrote (without SMTP: to a local Maildir).")
cli.add_typer(mail_cli, name="mail")
console_cli = typer.Typer(help="The moderators' console (GraphiQL).", no_args_is_help=True)
cli.add_typer(console_cli, name="console")
documents_cli = typer.Typer(
    help="Trusted documents: operations registered from client builds.", no_args_is_help=True
)
cli.add_typer(documents_cli, name="documents")
push_cli = typer.Typer(help="Web Push (VAPID keys).", no_args_is_help=True)
cli.add_typer(push_cli, name="push")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        for error in e.errors():
            typer.secho(f"configuration error: {error['msg']}", fg="red", err=True)
        raise typer.Exit(2) from e


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    migrate: Annotated[
        bool | None,
        typer.Option(help="Apply migrations first (default: yes in development only)."),
    ] = None,
) -> None:
    """Run the API: GraphQL (and GraphiQL in development) at /graphql."""
    import uvicorn

    settings = load_settings()
    local = settings.broker_is_process_local and not settings.allow_process_local
    if workers > 1 and not reload and local:
        typer.echo(
            "memory:// reaches one process: with --workers above 1, live updates written on one "
            "worker would never reach subscribers on another. Set HUB_BROADCAST_URL to "
            "redis://... or postgres://... (or HUB_ALLOW_PROCESS_LOCAL=1 if no one subscribes).",
            err=True,
        )
        raise typer.Exit(2)
    if migrate if migrate is not None else settings.is_development:
        typer.echo(migrations.describe_upgrade(migrations.upgrade(settings.database_url)))
    if workers > 1 and not reload:
        _share_metrics_between_workers()
    typer.echo(f"Migration Network Hub ({settings.env}) on http://{host}:{port}/graphql")
    typer.echo(
        f"  database {redacted(settings.database_url)} (schema revision {migrations.head()}), "
        f"broker {redacted(settings.broadcast_url)}"
    )
    # Imported here, not at the top: app.logs reaches the schema, whose import is most of the
    # hub's start-up, and every worker of `--workers N` imports this module (multiprocessing
    # spawns it) before it can answer its supervisor's health check.
    from app.logs import log_config

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        reload=reload,
        proxy_headers=True,
        log_level="info",
        access_log=False,  # app/logs.py writes one line per request, with more in it
        # Live messages are small JSON sent to many sockets: per-message compression would
        # keep a zlib state per socket and compress every copy again.
        ws_per_message_deflate=settings.ws_per_message_deflate,
        ws=uvicorn_ws(settings.ws_implementation),  # app/ws_frames.py for wsproto
        ws_ping_interval=settings.ws_ping_interval_seconds or None,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        log_config=log_config(production=settings.env == "production"),
    )


def _share_metrics_between_workers() -> None:
    """prometheus-client's multiprocess mode: every worker writes its metrics to files in one
    directory, and /metrics sums them. A directory of this run's own, unless one is given."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-metrics-")


@migrate_cli.command("upgrade")
def migrate_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Upgrade the database to REVISION (default: the latest); say what was applied."""
    typer.echo(
        migrations.describe_upgrade(migrations.upgrade(load_settings().database_url, revision))
    )


@migrate_cli.command("downgrade")
def migrate_downgrade(
    revision: Annotated[str, typer.Argument(help="Target, e.g. -1 or base.")],
) -> None:
    """Downgrade the database to REVISION."""
    migrations.downgrade(load_settings().database_url, revision)


@migrate_cli.command("current")
def migrate_current() -> None:
    """Show the revision the database is at."""
    migrations.current(load_settings().database_url)


@cli.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo data set.")] = False,
) -> None:
    """Seed data beyond the reference data (which the migrations seed)."""
    from app.seed import seed_demo

    if not demo:
        typer.echo("Reference data is seeded by `hub migrate upgrade`; pass --demo for demo data.")
        raise typer.Exit(0)
    settings = load_settings()
    if settings.env == "production":
        typer.echo(
            "Refusing to add demo data (60 members with one known password) in production.",
            err=True,
        )
        raise typer.Exit(2)
    migrations.upgrade(settings.database_url)
    summary = asyncio.run(seed_demo(settings))
    typer.echo(summary)


@cli.command("create-member")
def create_member(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[Role, typer.Option(case_sensitive=False, help="Role.")] = Role.MEMBER,
    organization: Annotated[str | None, typer.Option(help="Existing organisation name.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="HUB_NEW_MEMBER_PASSWORD", help="Else asked for.")
    ] = None,
) -> None:
    """Create a member (for example the first admin)."""
    from app.seed import MemberCreationError, create_member_account

    settings = load_settings()
    password = password or getpass.getpass("Password (10+ characters): ")
    try:
        member_id = asyncio.run(
            create_member_account(
                settings,
                email=email,
                name=name,
                password=password,
                role=role,
                organization=organization,
            )
        )
    except MemberCreationError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"created member {member_id} ({role.value})")


@cli.command("prune-events")
def prune_events(
    older_than_days: Annotated[
        int | None, typer.Option(min=1, help="Default: HUB_EVENT_RETENTION_DAYS (30).")
    ] = None,
) -> None:
    """Delete events older than the retention from the event log (run it daily, e.g. by cron).
    Subscribers resuming from an older cursor get ResyncRequired."""
    from app.maintenance import prune_event_log

    settings = load_settings()
    days = older_than_days or settings.event_retention_days
    deleted = asyncio.run(prune_event_log(settings, days))
    typer.echo(f"deleted {deleted} events older than {days} days")


@cli.command("search-reindex")
def search_reindex() -> None:
    """Rebuild the search index from the data (after restoring a backup, or once after
    upgrading a database that has content from before search existed)."""
    from app.maintenance import rebuild_search_index

    indexed = asyncio.run(rebuild_search_index(load_settings()))
    typer.echo(f"indexed {indexed} items")


@cli.command("export-schema")
def export_schema(
    output: Annotated[Path, typer.Option(help="Where to write the SDL.")] = Path("schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) to a file."""
    from schema import schema

    output.write_text(schema.as_str() + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")


@cli.command("messages-update")
def messages_update() -> None:
    """Merge the code's error messages and the email templates' texts into the gettext
    catalogues (schema/locale/*.po)."""
    from app.catalogues import update_catalogues

    for path in update_catalogues():
        typer.echo(f"wrote {path}")


@cli.command()
def check(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for both to answer.")] = 30.0,
) -> None:
    """Wait until the database and the broker answer; exit 1 if they do not in time."""
    from app.readiness import wait_until_ready

    settings = load_settings()
    problems = asyncio.run(wait_until_ready(settings, seconds=timeout, started=time.monotonic()))
    if problems:
        for problem in problems:
            typer.secho(f"not ready: {problem}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("database and broker are reachable")


@cli.command()
def doctor(
    workers: Annotated[
        int, typer.Option(min=1, help="Processes that will serve (pool sizing).")
    ] = 1,
) -> None:
    """Check the settings, the database and the broker; one line per problem, exit 1 if any."""
    from app.doctor import examine

    problems = asyncio.run(examine(load_settings(), workers))
    for problem in problems:
        typer.secho(problem, fg="red", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("no problem found")


@cli.command()
def worker(
    rounds: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rounds (default: never).")
    ] = None,
) -> None:
    """Deliver the outbox (email; the same worker runs inside every `hub serve` process).
    Any number may run on PostgreSQL; on SQLite run one."""
    from app.delivery import run_worker

    settings = load_settings()
    handled = asyncio.run(run_worker(settings, rounds))
    typer.echo(f"handled {handled} deliveries")


@mail_cli.command("list")
def mail_list() -> None:
    """The messages in the Maildir (HUB_MAILDIR_PATH), oldest first: date, to, subject."""
    from app.mail import list_maildir

    settings = load_settings()
    messages = list_maildir(Path(settings.maildir_path))
    for date, to, subject in messages:
        typer.echo(f"{date}\t{to}\t{subject}")
    typer.echo(f"{len(messages)} messages in {settings.maildir_path}")


@push_cli.command("keygen")
def push_keygen(
    output: Annotated[
        Path | None,
        typer.Option(help="Also append the settings to this file (an .env), readable by you only."),
    ] = None,
) -> None:
    """Make a VAPID key pair: prints HUB_VAPID_PRIVATE_KEY (a secret: put it in the settings)
    and the public key clients subscribe with (the API serves it as `pushPublicKey`)."""
    from app.push import VapidKeys

    keys = VapidKeys.generate()
    lines = f"HUB_VAPID_PRIVATE_KEY={keys.private_key}\n# public key: {keys.public_key}\n"
    typer.echo(lines, nl=False)
    if output is not None:
        with output.open("a", encoding="utf-8") as env:
            env.write(lines)
        output.chmod(0o600)
        typer.echo(f"appended to {output}")


@console_cli.command("install")
def console_install() -> None:
    """Fetch the console's pinned files from the npm registry, check their hashes and store
    them where the hub serves them from (HUB_CONSOLE_ASSETS_DIR); files already there and
    intact are kept."""
    from app.console.assets import AssetError, assets_directory, install

    directory = assets_directory(load_settings().console_assets_dir)
    try:
        written = install(directory, typer.echo)
    except (AssetError, OSError, httpx.HTTPError) as e:
        typer.secho(f"console install failed: {e}", fg="red", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"console files in {directory}: {written} written, all verified")


@documents_cli.command("push")
def documents_push(
    manifest: Annotated[Path, typer.Argument(help="persisted-documents.json or the like.")],
) -> None:
    """Register a client build's operations as trusted documents: a manifest of GraphQL Code
    Generator (persisted-documents.json), Relay (persisted queries) or Apollo
    (persisted-query-manifest.json). Each is checked against the schema; if any is refused,
    none is stored (exit 1). Pushing the same manifest again changes nothing."""
    from app.manifests import ManifestError, push_manifest
    from schema import schema

    settings = load_settings()
    try:
        report = asyncio.run(push_manifest(settings, schema._schema, manifest, typer.echo))
    except ManifestError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(2) from e
    if report.refused:
        raise typer.Exit(1)


@documents_cli.command("list")
def documents_list() -> None:
    """The registered trusted documents, oldest first: id, operation type, name, date."""
    from app.manifests import registered_documents

    documents = asyncio.run(registered_documents(load_settings()))
    for document in documents:
        name = document.operation_name or "(anonymous)"
        created = document.created_at.isoformat(timespec="seconds")
        typer.echo(f"{document.document_id}\t{document.operation_type}\t{name}\t{created}")
    typer.echo(f"{len(documents)} trusted documents")


def main() -> None:
    cli()
