"""What emails and push messages say, in the reader's language: the templates under
app/templates (Jinja2, HTML autoescaped) with Jinja2's i18n extension over the hub's gettext
catalogues (schema/locale/*/LC_MESSAGES/messages.po, read with Babel), dates formatted by
Babel in that locale, and titles marked with their language where they are not in it.

A member reads the first language they declared that the hub has a catalogue for (English,
French, Spanish so far), else English. Template texts are message ids like `UserError`'s:
`hub messages-update` extracts them (app/catalogues.py) into every catalogue.

It lives in `schema/`, not beside the senders in `app/`, because the API says the same line
(`Notification.headline`) and `schema` must not import `app`; the template files stay under
app/templates (read as package data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cache, partial
from typing import Any

from babel import Locale
from babel.dates import format_date, format_interval
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from models.outbox import EmailFrequency
from resolvers.digests import Period
from resolvers.notification_facts import NotificationFacts
from resolvers.notification_titles import Title
from schema.messages import CATALOGUE_LANGUAGES, gettext_translations

DEFAULT_LANGUAGE = "en"


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


def mail_language(declared: Sequence[str]) -> str:
    """The first of the member's languages the hub has a catalogue for; else English."""
    for tag in declared:
        if _primary(tag) in CATALOGUE_LANGUAGES:
            return _primary(tag)
    return DEFAULT_LANGUAGE


def language_name(language: str, of: str) -> str:
    """The name of the language `of` in `language`, from CLDR (`en` in French: "anglais")."""
    names = Locale.parse(language).languages
    return str(names.get(of.replace("-", "_")) or names.get(_primary(of)) or of)


def title_text(language: str, title: Title | None, missing: str = "") -> str:
    """A title as the mail shows it: marked with its language where that is not the mail's
    ("Fair recruitment toolkit (anglais)"); `missing` where there is none."""
    if title is None:
        return missing
    if title.language is None or _primary(title.language) == language:
        return title.text
    return f"{title.text} ({language_name(language, title.language)})"


def period_text(language: str, period: Period) -> str:
    """A digest's day ("5 décembre 2026") or week ("23-29 nov. 2026", with an en dash) in the locale."""
    if period.frequency is EmailFrequency.DAILY:
        return format_date(period.start.date(), format="long", locale=language)
    last_day = (period.end - timedelta(days=1)).date()
    return format_interval(period.start.date(), last_day, "yMMMd", locale=language)


@cache
def templates(language: str) -> Environment:
    """The templates rendering in `language` (one environment per language, built once)."""
    environment = Environment(
        loader=PackageLoader("app", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        # Compiled once per process: no file check at each mail (the files are package data).
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Whitespace inside {% trans %} is collapsed, so the ids are one line (app/catalogues.py
    # extracts them with the same option).
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        gettext_translations(language), newstyle=True
    )
    environment.filters["title"] = partial(title_text, language)
    environment.globals["language"] = language
    environment.globals["period_text"] = partial(period_text, language)
    environment.globals["headline"] = partial(headline, language)
    # Plain strings, escaped by the HTML templates (a macro's text would come back as markup).
    environment.globals["change_lines"] = partial(change_lines, language)
    return environment


def headline(language: str, notification: NotificationFacts) -> str:
    """What happened, in one line of plain text (a subject, a push message's title): HTML
    templates print it escaped like any other value."""
    rendered = templates(language).get_template("email/_headline.txt").render(n=notification)
    return " ".join(rendered.split())


def change_lines(language: str, notification: NotificationFacts) -> list[tuple[str, str]]:
    """What changed, each fact with its label in `language`, a change or status in words
    ("Statut", "En cours"); a note stays the member's text."""
    labels: Any = templates(language).get_template("email/_labels.txt").module
    return [
        (
            str(labels.change_label(label)),
            value if label == "Note" else str(labels.value_label(value)),
        )
        for label, value in notification.change.items()
    ]
