"""Email: composed from templates (files under app/templates/email, HTML autoescaped) in the
recipient's language (schema/mail_texts.py) and sent through SMTP (aiosmtplib), or written to a
local Maildir when no SMTP server is configured.

Every message carries its delivery's stable key as `Message-ID` (receivers drop duplicates),
thread headers that group the mails about one thing, and an RFC 8058 one-click unsubscribe."""

from __future__ import annotations

import asyncio
import mailbox
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from app.settings import Settings
from models.notification import NotificationKind
from resolvers.digests import DigestFacts
from resolvers.email_deliveries import EmailFacts, Recipient
from resolvers.email_preferences import UnsubscribeLink, unsubscribe_token
from resolvers.notification_facts import NotificationFacts
from schema.mail_texts import mail_language, templates
from schema.relay import encode_id

SEND_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


@dataclass(frozen=True)
class MailConfig:
    sender: str
    web_base_url: str
    public_url: str
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> MailConfig:
        return cls(
            sender=settings.mail_from,
            web_base_url=settings.web_base_url.rstrip("/"),
            public_url=settings.public_url.rstrip("/"),
            secret=settings.secret_key.get_secret_value().encode(),
        )

    @property
    def domain(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"


def _web_link(config: MailConfig, facts: NotificationFacts) -> str | None:
    if facts.link is None:
        return None
    type_name, key = facts.link
    return f"{config.web_base_url}/{type_name.lower()}/{encode_id(type_name, key)}"


def _context(
    config: MailConfig, recipient: Recipient, kinds: tuple[NotificationKind, ...]
) -> dict[str, Any]:
    link = UnsubscribeLink(recipient.delivery_key, recipient.member_id, kinds)
    return {
        "link_of": lambda facts: _web_link(config, facts),
        "notifications_link": f"{config.web_base_url}/notifications",
        "unsubscribe": f"{config.public_url}/unsubscribe/{unsubscribe_token(config.secret, link)}",
    }


def _message(
    config: MailConfig, recipient: Recipient, template: str, context: dict[str, Any]
) -> EmailMessage:
    """A message from `template`'s subject, text and HTML files in the recipient's language,
    with the headers every mail of the hub carries."""
    language = mail_language(recipient.languages)
    environment = templates(language)
    subject = environment.get_template(f"email/{template}_subject.txt").render(context)
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = config.sender
    message["To"] = formataddr((recipient.name, recipient.address))
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{recipient.delivery_key}@{config.domain}>"
    message["List-Unsubscribe"] = f"<{context['unsubscribe']}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(environment.get_template(f"email/{template}.txt").render(context))
    message.add_alternative(
        environment.get_template(f"email/{template}.html").render(context), subtype="html"
    )
    # After the parts are made: making a multipart moves Content-* headers into the first part.
    message["Content-Language"] = language
    return message


def compose(config: MailConfig, facts: EmailFacts) -> EmailMessage:
    """A notification's email; mails about one thing (a thread, a request) group together."""
    context = _context(config, facts.recipient, (facts.notification.kind,))
    message = _message(config, facts.recipient, "notification", {**context, "facts": facts})
    if facts.notification.conversation is not None:
        conversation = f"<{facts.notification.conversation}@{config.domain}>"
        message["In-Reply-To"] = conversation
        message["References"] = conversation
    return message


def compose_digest(config: MailConfig, facts: DigestFacts) -> EmailMessage:
    """A daily or weekly digest: its notifications grouped by community and kind."""
    context = _context(config, facts.recipient, facts.kinds)
    return _message(
        config, facts.recipient, "digest", {**context, "facts": facts, "groups": facts.groups}
    )


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    """smtp://user:password@host:port, smtps:// for TLS from the start, ?starttls=1."""

    url: str
    timeout: float = 30.0

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, **smtp_options(self.url, self.timeout))


def smtp_options(url: str, timeout: float) -> dict[str, Any]:
    """aiosmtplib's connection options for an smtp:// or smtps:// URL."""
    parts = urlsplit(url)
    tls = parts.scheme == "smtps"
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
    return {
        "hostname": parts.hostname or "localhost",
        "port": parts.port or (465 if tls else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": tls,
        "start_tls": starttls if not tls else False,
        "timeout": timeout,
    }


@dataclass(frozen=True)
class MaildirSender:
    """The embedded default: each message a file in a Maildir (`hub mail list`)."""

    path: Path

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._add, message)

    def _add(self, message: EmailMessage) -> None:
        # mailbox.Maildir(create=True) checks, then makes: two workers writing the first mail
        # at once would race. The folders are made here, where another's making them is fine.
        for folder in ("tmp", "new", "cur"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(self.path, create=False).add(message)


def mail_sender(settings: Settings) -> MailSender:
    if settings.smtp_url is not None:
        return SmtpSender(settings.smtp_url.get_secret_value())
    return MaildirSender(Path(settings.maildir_path))


def list_maildir(path: Path) -> list[tuple[str, str, str]]:
    """(date, to, subject) of each message in the Maildir, oldest first."""
    if not path.exists():
        return []
    folder = mailbox.Maildir(path, create=False)
    messages = sorted(folder, key=lambda m: m.get_date())
    return [(str(m["Date"]), str(m["To"]), str(m["Subject"])) for m in messages]
