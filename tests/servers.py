"""Real server processes for scale-out tests: started on free loopback ports, stopped by PID."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET
from tests.services import free_port


@asynccontextmanager
async def server(
    database_url: str,
    broadcast_url: str,
    log: Path | None = None,
    *,
    settings: Mapping[str, str] | None = None,
    hub_serve: bool = False,
    ready_polls: int = 150,
) -> AsyncIterator[str]:
    """One `uvicorn app.main:create_app` process (or `hub serve`, as an operator starts it);
    yields its base URL once it is ready. `settings`: more `HUB_*` variables. Its output goes
    to `log` when given (at warning level: what an operator would see). `ready_polls`: how
    many times /readyz is asked, a tenth of a second apart, before the start counts as failed
    (`hub serve` loads the CLI and the settings first: more on a loaded machine)."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_BROADCAST_URL": broadcast_url,
        "HUB_SECRET_KEY": TEST_SECRET,
        "HUB_ALLOWED_ORIGINS": "https://hub.example.org",
        **(settings or {}),
    }
    command = (
        (str(Path(sys.executable).with_name("hub")), "serve", "--no-migrate")
        if hub_serve
        else (sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory")
    )
    output = log.open("wb") if log is not None else None
    process = await asyncio.create_subprocess_exec(
        *command,
        *("--host", "127.0.0.1", "--port", str(port)),
        *(() if hub_serve else ("--log-level", "warning")),
        env=env,
        stdout=output,
        stderr=asyncio.subprocess.STDOUT if output is not None else None,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(base, process, ready_polls)
        yield base
    finally:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        if output is not None:
            output.close()


async def _wait_ready(base: str, process: asyncio.subprocess.Process, polls: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(polls):
            if process.returncode is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if (await client.get(f"{base}/readyz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server at {base} not ready after {polls} polls of /readyz")
