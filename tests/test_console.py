"""The moderators' console without a browser: the page for anyone, its headers, its assets
(pinned, checked, cached for ever), the install step's checks, the SDL and the operations.
The browser itself: tests/test_console_browser.py."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from app.console.assets import (
    AssetError,
    Package,
    extract,
    install,
    pinned_assets,
    pinned_packages,
    sri,
)
from app.console.page import CONTENT_SECURITY_POLICY
from app.main import create_app
from models.db import Database
from schema import schema
from tests.conftest import api_client, make_settings
from tests.console import copy_of_assets, installed_assets

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
ROOT = Path(__file__).resolve().parents[1]


def console_client(
    database_url: str, db: Database, **settings: object
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return api_client(create_app(make_settings(database_url, **settings), db))


@pytest.fixture
async def production(database_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    directory = installed_assets()
    async with console_client(
        database_url, db, env="production", console_assets_dir=str(directory)
    ) as client:
        yield client


def tags(page: str) -> list[tuple[str, str]]:
    """(url, integrity) of every script and stylesheet the page loads."""
    found = re.findall(
        r'<(?:script src|link rel="stylesheet" href)="([^"]+)" integrity="([^"]+)"', page
    )
    return [(url, integrity) for url, integrity in found]


# --- the page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/graphql", "/console"])
async def test_the_console_loads_for_anyone_in_production(production, path: str):
    # given an anonymous browser (no bearer token: a browser opening a URL sends none)
    # when it opens the console
    response = await production.get(path, headers=BROWSER)
    # then the page is there, with its sign-in form and the link to the SDL
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'id="sign-in"' in response.text
    assert 'href="/schema.graphql"' in response.text


async def test_the_console_page_has_a_strict_content_security_policy(production):
    response = await production.get("/console", headers=BROWSER)
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other host
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    # every script is a file of ours: none inline, none from another host
    scripts = re.findall(r"<script([^>]*)>", response.text)
    assert scripts, response.text
    assert all('src="/console/assets/' in attributes for attributes in scripts)
    assert "http://" not in response.text
    assert "https://" not in response.text


async def test_every_asset_is_served_with_its_integrity_and_cached_for_ever(production):
    page = (await production.get("/console", headers=BROWSER)).text
    loaded = tags(page)
    # the pinned files, our script and our stylesheet
    assert len(loaded) == len(pinned_assets()) + 2
    for url, integrity in loaded:
        response = await production.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-type"].split(";")[0] in ("text/javascript", "text/css")
        assert sri(response.content) == integrity, url


async def test_an_unknown_asset_is_not_found(production):
    response = await production.get("/console/assets/graphiql-0.0.0-000000000000.js")
    assert response.status_code == 404


async def test_without_assets_the_page_says_how_to_install_them(database_url, db, tmp_path):
    async with console_client(
        database_url, db, env="production", console_assets_dir=str(tmp_path / "empty")
    ) as client:
        response = await client.get("/graphql", headers=BROWSER)
    assert response.status_code == 503
    assert "hub console install" in response.text
    assert "<script" not in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_an_asset_that_differs_from_its_pin_is_never_served(database_url, db, tmp_path):
    # given installed assets, one of which was changed on disk afterwards
    directory = copy_of_assets(tmp_path / "assets")
    damaged = pinned_assets()[0]
    path = directory / damaged.served_name
    path.write_bytes(path.read_bytes().replace(b"React", b"Reakt", 1))
    # when a browser opens the console
    async with console_client(
        database_url, db, env="production", console_assets_dir=str(directory)
    ) as client:
        page = await client.get("/console", headers=BROWSER)
        asset = await client.get(f"/console/assets/{damaged.served_name}")
    # then the page asks for an install, and the changed file is not served
    assert page.status_code == 503
    assert "hub console install" in page.text
    assert asset.status_code == 404


# --- the install step's checks ---------------------------------------------------------------------


def test_install_keeps_files_already_there_and_intact(tmp_path):
    directory = copy_of_assets(tmp_path / "assets")
    fetched: list[str] = []
    lines: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        raise AssertionError("nothing should be fetched")

    assert install(directory, lines.append, fetch) == 0
    assert fetched == []
    assert lines == [f"{p.name}@{p.version}: already installed" for p in pinned_packages()]


def test_install_refuses_a_tarball_whose_integrity_differs(tmp_path):
    directory = tmp_path / "assets"
    with pytest.raises(AssetError, match="integrity"):
        install(directory, lambda _: None, lambda _url: b"not the tarball the pin names")
    assert list(directory.iterdir()) == []


def test_extract_refuses_a_file_that_differs_from_its_pin():
    # given a tarball that holds a changed copy of a pinned file, and a pin that vouches for the
    # tarball itself (as if the registry served a different build under a matching integrity)
    pinned = pinned_packages()[0]
    asset = pinned.assets[0]
    content = (installed_assets() / asset.served_name).read_bytes() + b"\n// changed"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(asset.path)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    tarball = buffer.getvalue()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    package = Package(pinned.name, pinned.version, pinned.tarball, integrity, pinned.assets)
    # then the file's own hashes refuse it
    with pytest.raises(AssetError, match="differs"):
        extract(package, tarball)


def test_the_pins_name_exact_versions_and_strong_hashes():
    for package in pinned_packages():
        assert re.fullmatch(r"\d+\.\d+\.\d+", package.version), package
        assert package.integrity.startswith("sha512-")
        assert package.tarball == (
            f"https://registry.npmjs.org/{package.name}/-/"
            f"{package.name.split('/')[-1]}-{package.version}.tgz"
        )
        for asset in package.assets:
            assert re.fullmatch(r"[0-9a-f]{64}", asset.sha256)
            assert asset.sha384.startswith("sha384-")


# --- the SDL and the operations ---------------------------------------------------------------------


async def test_the_schema_is_published_as_the_committed_sdl(production):
    response = await production.get("/schema.graphql")
    assert response.status_code == 200
    assert response.text == (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert response.text.strip() == schema.as_str().strip()
