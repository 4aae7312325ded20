"""The fault suite's fast scenarios (bench/faults.py, issue 12), as CI runs them: two real
`hub serve` processes, a database of their own on the configured PostgreSQL server, and a
private redis-server that is killed and restarted; then a SIGTERM'd server whose subscribers
resume on the other. The suite exits non-zero if any subscriber lost, repeated or reordered
an event, or any answer lied. PostgreSQL + Redis only (skipped on SQLite; a failure when
HUB_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.services import postgres_url, redis_server_binary

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCENARIOS = "broker-killed,sigterm"
SUBSCRIBERS = 6
BUDGET_SECONDS = 240  # the suite's own watchdog stops it well before


@pytest.mark.faults
def test_the_fast_fault_scenarios_lose_repeat_reorder_and_lie_about_nothing() -> None:
    # given: the configured PostgreSQL server (the suite creates and drops its own database)
    admin_url = urlsplit(postgres_url())._replace(path="/postgres").geturl()
    redis_server_binary()
    # when
    done = subprocess.run(  # noqa: S603 - our own script, with our own arguments
        [
            *(sys.executable, str(BENCH / "faults.py"), "--quick", "--admin-url", admin_url),
            *("--subscribers", str(SUBSCRIBERS), "--scenario", SCENARIOS),
        ],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=BUDGET_SECONDS,
        check=False,
    )
    # then: every scenario ran and reported 0 lost, duplicates, out of order and lies
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for scenario in SCENARIOS.split(","):
        assert f"\n{scenario} " in output, output
    assert "every scenario: 0 lost, 0 duplicates, 0 out of order, 0 answers that lied" in output
