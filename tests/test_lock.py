"""The locked dependency tree (requirements/*.txt) pins, with hashes, every dependency that
pyproject.toml names, at a version its range allows: a stale or hand-edited lock fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def locked(path: Path) -> dict[str, list[tuple[Version, int]]]:
    """Each pinned package of a lock file: its versions (a universal lock may pin one package
    twice under different markers), each with the number of hashes that follow it."""
    pins: dict[str, list[tuple[Version, int]]] = {}
    current: list[tuple[Version, int]] | None = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = pins.setdefault(canonicalize_name(match["name"]), [])
            current.append((Version(match["version"]), 0))
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = current[-1]
            current[-1] = (version, hashes + 1)
    return pins


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    build = (ROOT / "requirements" / "build.in").read_text().splitlines()
    names += [line for line in build if line.strip() and not line.startswith("#")]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("lock", "extras"), [("main.txt", ()), ("test.txt", ("test",))])
def test_the_lock_pins_every_declared_dependency_within_its_range(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = locked(ROOT / "requirements" / lock)
    assert pins, f"{lock} pins nothing"
    for requirement in declared(*extras):
        versions = [version for version, _ in pins.get(canonicalize_name(requirement.name), [])]
        assert versions, f"{requirement.name} is not in requirements/{lock}: run .ci/lock"
        assert any(requirement.specifier.contains(v, prereleases=True) for v in versions), (
            f"requirements/{lock} pins {requirement.name} {versions}, outside {requirement}"
        )


@pytest.mark.parametrize("lock", ["main.txt", "test.txt"])
def test_every_locked_package_has_its_hashes(lock: str) -> None:
    unhashed = [
        f"{name}=={version}"
        for name, versions in locked(ROOT / "requirements" / lock).items()
        for version, hashes in versions
        if hashes == 0
    ]
    assert not unhashed, f"requirements/{lock} has pins without hashes: {unhashed}"


def test_the_production_lock_is_part_of_the_test_lock() -> None:
    """Tests run on the versions production installs."""
    main = locked(ROOT / "requirements" / "main.txt")
    test = locked(ROOT / "requirements" / "test.txt")
    differ = {
        name: (versions, test.get(name))
        for name, versions in main.items()
        if sorted(v for v, _ in versions) != sorted(v for v, _ in test.get(name, []))
    }
    assert not differ, f"requirements/main.txt and test.txt disagree: {differ}"
