"""The console's installed assets for tests: where `hub console install` put them (CI runs it
first). Missing, the test installs them from the npm registry once (the network reaches it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.console.assets import assets_directory, install, pinned_assets, read_verified
from app.settings import Settings


def installed_assets() -> Path:
    directory = assets_directory(Settings(_env_file=None).console_assets_dir)  # type: ignore[call-arg]
    if any(read_verified(directory, asset) is None for asset in pinned_assets()):
        install(directory, lambda _line: None)
    return directory


def copy_of_assets(target: Path) -> Path:
    """A private copy of the installed assets, for a test that damages it."""
    source = installed_assets()
    target.mkdir(parents=True, exist_ok=True)
    for asset in pinned_assets():
        shutil.copy(source / asset.served_name, target / asset.served_name)
    return target
