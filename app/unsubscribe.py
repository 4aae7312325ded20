"""One-click unsubscribe (RFC 8058): `POST /unsubscribe/<token>` (what mail clients send for
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`) stops the emails of the notification kinds
the mail was about, once per link; a second use answers 410 Gone. `GET` only shows a button
that posts: link checkers and previews that open the URL unsubscribe nobody."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.settings import Settings
from models.db import Database
from resolvers.email_preferences import BAD_LINK, USED_LINK, unsubscribe

CONFIRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><form method="post" action="{action}">
<p>Stop receiving these emails from the Migration Network Hub?</p>
<button type="submit">Unsubscribe</button></form></body></html>
"""


def unsubscribe_routes(settings: Settings, db: Database) -> list[Route]:
    secret = settings.secret_key.get_secret_value().encode()

    async def confirm(request: Request) -> Response:
        return HTMLResponse(CONFIRM_PAGE.format(action=escape(request.url.path)))

    async def one_click(request: Request) -> Response:
        outcome = await unsubscribe(db.sessions, secret, request.path_params["token"])
        if BAD_LINK in outcome.problems:
            return PlainTextResponse("Not found.", status_code=404)
        if USED_LINK in outcome.problems:
            return PlainTextResponse("This link was used already.", status_code=410)
        assert outcome.value is not None
        kinds = ", ".join(kind.value for kind in outcome.value)
        return PlainTextResponse(f"You will get no more emails about: {kinds}.")

    return [
        Route("/unsubscribe/{token}", confirm, methods=["GET"]),
        Route("/unsubscribe/{token}", one_click, methods=["POST"]),
    ]
