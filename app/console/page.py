"""The console's HTTP side: the page, its assets, its ready-made operations and the SDL.

The page loads for anyone (signing in happens inside it); what the API then shows follows the
viewer's rights, decided by the policy on every request, introspection included."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.console.assets import Asset, assets_directory, pinned_assets, read_verified, sri
from app.console.operations import ready_operations

STATIC = Path(__file__).with_name("static")
ASSETS_PATH = "/console/assets"

# Scripts and styles only as files from here: no inline script or style, no eval. GraphiQL 3,
# React and CodeMirror set styles through the CSSOM, which style-src does not govern, and
# inject no <style> element (tests/test_console_browser.py fails on any CSP violation). Fonts
# come as data: URIs inside GraphiQL's CSS. connect-src 'self' covers the page's own ws:// and
# wss:// origin (CSP Level 3).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class ServedFile:
    """A file the page loads, under a name that changes with its content."""

    name: str
    media_type: str
    content: bytes
    integrity: str  # subresource integrity, `sha384-<base64>`


def _ours(stem: str, extension: str, media_type: str) -> ServedFile:
    content = (STATIC / f"{stem}.{extension}").read_bytes()
    digest = hashlib.sha256(content).hexdigest()[:12]
    return ServedFile(f"{stem}-{digest}.{extension}", media_type, content, sri(content))


def _tag(file: ServedFile) -> str:
    url = f"{ASSETS_PATH}/{file.name}"
    if file.media_type == "text/css":
        return f'<link rel="stylesheet" href="{url}" integrity="{file.integrity}">'
    return f'<script src="{url}" integrity="{file.integrity}"></script>'


class Console:
    """Serves the console. Third-party files are read from the assets directory and checked
    against their pins once all are there; until then the page says how to install them."""

    def __init__(self, assets_dir: str | None, sdl: Callable[[], str]) -> None:
        self.directory = assets_directory(assets_dir)
        self._print_sdl = sdl  # printed on first request, not at start-up (~0.1 s)
        self._sdl: str | None = None
        self.own_script = _ours("console", "js", "text/javascript")
        self.own_style = _ours("console", "css", "text/css")
        self._installed: tuple[ServedFile, ...] | None = None

    def installed(self) -> tuple[ServedFile, ...] | None:
        """The pinned files, each matching its hashes; None while any is missing or differs
        (checked again on each request until they are all there)."""
        if self._installed is None:
            files = []
            for asset in pinned_assets():
                content = read_verified(self.directory, asset)
                if content is None:
                    return None
                files.append(_served(asset, content))
            self._installed = tuple(files)
        return self._installed

    async def page(self, _: Request) -> Response:
        files = self.installed()
        if files is None:
            missing = (STATIC / "missing.html").read_text(encoding="utf-8")
            return HTMLResponse(missing, status_code=503, headers=PAGE_HEADERS)
        styles = [f for f in files if f.media_type == "text/css"] + [self.own_style]
        scripts = [f for f in files if f.media_type != "text/css"] + [self.own_script]
        page = Template((STATIC / "console.html").read_text(encoding="utf-8")).substitute(
            styles="\n".join(_tag(f) for f in styles),
            scripts="\n".join(_tag(f) for f in scripts),
        )
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        for file in (*(self.installed() or ()), self.own_script, self.own_style):
            if file.name == name:
                return Response(
                    file.content,
                    media_type=f"{file.media_type}; charset=utf-8",
                    headers={"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"},
                )
        return PlainTextResponse("Not found.", status_code=404)

    async def operations(self, _: Request) -> Response:
        tabs = [operation.as_tab() for operation in ready_operations()]
        return Response(
            json.dumps(tabs),
            media_type="application/json",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def schema(self, _: Request) -> Response:
        """The SDL, for everyone: what introspection would tell, without the live schema."""
        if self._sdl is None:
            self._sdl = self._print_sdl() + "\n"
        return PlainTextResponse(
            self._sdl,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    def routes(self) -> list[Route]:
        return [
            Route("/console", self.page, methods=["GET"]),
            Route(f"{ASSETS_PATH}/{{name}}", self.asset, methods=["GET"]),
            Route("/console/operations.json", self.operations, methods=["GET"]),
            Route("/schema.graphql", self.schema, methods=["GET"]),
        ]


def _served(asset: Asset, content: bytes) -> ServedFile:
    return ServedFile(asset.served_name, asset.media_type, content, asset.sha384)
