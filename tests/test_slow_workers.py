"""`hub serve --workers N` on a busy machine: a worker process that takes longer than uvicorn's
default five seconds to import the application is not killed as hung and started again, for
ever. Seen for real: at a load average of 10, importing the hub takes ~14 s of wall time, and
`--workers 2` restarted its workers every five seconds and never served."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.services import hub_serve, hub_serve_environment

# Runs in every Python process of the test's `hub serve`; a worker (multiprocessing's spawned
# child, `--multiprocessing-fork` in its argv) sleeps before it can answer the supervisor, as a
# worker importing the hub on a loaded machine does.
SLOW_WORKER = """
import sys, time
if "--multiprocessing-fork" in sys.argv:
    time.sleep(float({seconds!r}))
"""


async def test_workers_slower_to_start_than_five_seconds_serve(
    database_url: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_WORKER.format(seconds=8))
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = hub_serve_environment(database_url, PYTHONPATH=path)
    async with (
        hub_serve(env, tmp_path / "serve.log", "--workers", "2") as (_, base),
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        answer = await client.post("/graphql", json={"query": "{ gcmObjectives { number } }"})
        assert answer.status_code == 200
    log = (tmp_path / "serve.log").read_text()
    assert "died" not in log, log
