"""Alembic driven from the app: `hub migrate` and the start-up of `hub serve` use these."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationInfo
from alembic.script import ScriptDirectory

import migrations


def alembic_config(database_url: str) -> Config:
    config = Config(stdout=sys.stdout)  # the current stdout, not the one at import time
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> list[str]:
    """Upgrade to `revision`; the migrations applied, in order ("0011 (what it does)")."""
    applied: list[str] = []

    def record(*, step: MigrationInfo, **_: Any) -> None:
        if step.is_upgrade:
            # the revision is a Script at run time, with its docstring (the stubs say less)
            doc = str(getattr(step.up_revision, "doc", "") or "").strip().splitlines()
            applied.append(f"{step.up_revision_id} ({doc[0]})" if doc else str(step.up_revision_id))

    config = alembic_config(database_url)
    config.attributes["on_version_apply"] = [record]
    command.upgrade(config, revision)
    return applied


def describe_upgrade(applied: list[str]) -> str:
    if not applied:
        return f"nothing to apply: the database is at {head()}"
    return "\n".join(f"applied {migration}" for migration in applied)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)


def head() -> str:
    """The newest revision this code knows (what `hub migrate upgrade` brings a database to)."""
    revision = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    return revision or "none"
