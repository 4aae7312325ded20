"""One-click unsubscribe (RFC 8058): `POST /unsubscribe/<token>` (what mail clients send for
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`) stops the emails of the notification kinds
the mail was about, once per link; a second use answers 410 Gone. `GET` only shows a button
that posts: link checkers and previews that open the URL unsubscribe nobody. Both answer in
the browser's language (`Accept-Language`) where the catalogues have it, else English."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.settings import Settings
from models.db import Database
from models.notification import NotificationKind
from resolvers.email_preferences import BAD_LINK, USED_LINK, unsubscribe
from resolvers.languages import parse_accept_language
from schema.mail_texts import mail_language, templates


def _language(request: Request) -> str:
    return mail_language(parse_accept_language(request.headers.get("accept-language")))


def _answer(request: Request, outcome: str, kinds: tuple[NotificationKind, ...] = ()) -> str:
    template = templates(_language(request)).get_template("email/unsubscribed.txt")
    return template.render(outcome=outcome, kinds=kinds).strip() + "\n"


def unsubscribe_routes(settings: Settings, db: Database) -> list[Route]:
    secret = settings.secret_key.get_secret_value().encode()

    async def confirm(request: Request) -> Response:
        page = templates(_language(request)).get_template("email/unsubscribe.html")
        return HTMLResponse(page.render(action=request.url.path))

    async def one_click(request: Request) -> Response:
        outcome = await unsubscribe(db.sessions, secret, request.path_params["token"])
        if BAD_LINK in outcome.problems:
            return PlainTextResponse(_answer(request, "bad_link"), status_code=404)
        if USED_LINK in outcome.problems:
            return PlainTextResponse(_answer(request, "used_link"), status_code=410)
        assert outcome.value is not None
        return PlainTextResponse(_answer(request, "done", tuple(outcome.value)))

    return [
        Route("/unsubscribe/{token}", confirm, methods=["GET"]),
        Route("/unsubscribe/{token}", one_click, methods=["POST"]),
    ]
