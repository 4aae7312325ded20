"""The console's third-party files: pinned in `assets.json`, fetched from the npm registry by
`hub console install`, checked against their hashes, and read back (checked again) to serve.

Only the pins are ours and committed; the files are other projects' builds and stay out of
the repository, in a directory the settings name (`HUB_CONSOLE_ASSETS_DIR`)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import httpx

PINS = Path(__file__).with_name("assets.json")
DEFAULT_DIRECTORY = Path("~/.cache/hub-console")
Kind = Literal["script", "style"]


class AssetError(Exception):
    """A tarball or file does not match its pin, or cannot be fetched."""


@dataclass(frozen=True)
class Asset:
    """One file the console page loads, taken from an npm package."""

    name: str
    kind: Kind
    package: str
    version: str
    path: str  # inside the tarball
    sha256: str
    sha384: str  # subresource integrity: `sha384-<base64>`

    @property
    def served_name(self) -> str:
        """Its URL name: a new version or a changed file gets a new URL, so browsers may
        cache each one for ever."""
        extension = "js" if self.kind == "script" else "css"
        return f"{self.name}-{self.version}-{self.sha256[:12]}.{extension}"

    @property
    def media_type(self) -> str:
        return "text/javascript" if self.kind == "script" else "text/css"

    def matches(self, content: bytes) -> bool:
        return hashlib.sha256(content).hexdigest() == self.sha256 and sri(content) == self.sha384


@dataclass(frozen=True)
class Package:
    """A pinned npm tarball and the files the console takes from it."""

    name: str
    version: str
    tarball: str
    integrity: str  # npm's `dist.integrity`: `sha512-<base64>` of the tarball
    assets: tuple[Asset, ...]


def sri(content: bytes, algorithm: str = "sha384") -> str:
    digest = hashlib.new(algorithm, content).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


@cache
def pinned_packages() -> tuple[Package, ...]:
    """The pins, in load order."""
    document = json.loads(PINS.read_text(encoding="utf-8"))
    packages = []
    for entry in document["packages"]:
        assets = tuple(
            Asset(
                name=f["name"],
                kind=f["kind"],
                package=entry["package"],
                version=entry["version"],
                path=f["path"],
                sha256=f["sha256"],
                sha384=f["sha384"],
            )
            for f in entry["files"]
        )
        packages.append(
            Package(
                entry["package"], entry["version"], entry["tarball"], entry["integrity"], assets
            )
        )
    return tuple(packages)


def pinned_assets() -> tuple[Asset, ...]:
    return tuple(asset for package in pinned_packages() for asset in package.assets)


def assets_directory(configured: str | None) -> Path:
    """Where the files live: `HUB_CONSOLE_ASSETS_DIR`, else `~/.cache/hub-console`."""
    return Path(configured or DEFAULT_DIRECTORY).expanduser()


def stored_path(directory: Path, asset: Asset) -> Path:
    return directory / asset.served_name


def read_verified(directory: Path, asset: Asset) -> bytes | None:
    """The file's bytes if it is there and matches its pin; None otherwise."""
    try:
        content = stored_path(directory, asset).read_bytes()
    except OSError:
        return None
    return content if asset.matches(content) else None


def check_tarball(package: Package, tarball: bytes) -> None:
    algorithm, _, _ = package.integrity.partition("-")
    if sri(tarball, algorithm) != package.integrity:
        raise AssetError(f"{package.name}@{package.version}: the tarball's integrity differs")


def extract(package: Package, tarball: bytes) -> dict[Asset, bytes]:
    """The pinned files out of a checked tarball, each checked against its own hashes."""
    check_tarball(package, tarball)
    found: dict[Asset, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for asset in package.assets:
            member = archive.extractfile(asset.path)
            if member is None:
                raise AssetError(f"{package.name}@{package.version}: no file {asset.path}")
            content = member.read()
            if not asset.matches(content):
                raise AssetError(f"{package.name}@{package.version}: {asset.path} differs")
            found[asset] = content
    return found


def download(url: str) -> bytes:
    with httpx.Client(timeout=120, follow_redirects=True) as client:
        response = client.get(url)
    if response.status_code != 200:
        raise AssetError(f"{url}: HTTP {response.status_code}")
    return response.content


def install(
    directory: Path,
    say: Callable[[str], None],
    fetch: Callable[[str], bytes] = download,
) -> int:
    """Fetch, check and store every pinned file not already there and intact; how many were
    written. Each file is written to a temporary name and renamed, so a failure leaves no
    half-written asset behind."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    for package in pinned_packages():
        missing = [a for a in package.assets if read_verified(directory, a) is None]
        label = f"{package.name}@{package.version}"
        if not missing:
            say(f"{label}: already installed")
            continue
        say(f"{label}: fetching {package.tarball}")
        files = extract(package, fetch(package.tarball))
        for asset in missing:
            target = stored_path(directory, asset)
            partial = target.with_suffix(target.suffix + ".partial")
            partial.write_bytes(files[asset])
            partial.replace(target)
            written += 1
            say(f"{label}: {asset.path} -> {target} ({len(files[asset])} bytes, verified)")
    return written
