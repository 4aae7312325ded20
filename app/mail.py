"""Email: composed from templates (files under app/templates/email, HTML autoescaped) and sent
through SMTP (aiosmtplib), or written to a local Maildir when no SMTP server is configured.

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
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.settings import Settings
from resolvers.email_deliveries import EmailFacts
from resolvers.email_preferences import UnsubscribeLink, unsubscribe_token
from schema.relay import encode_id

TEMPLATES = Environment(
    loader=PackageLoader("app", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
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


def unsubscribe_url(config: MailConfig, facts: EmailFacts) -> str:
    link = UnsubscribeLink(facts.delivery_key, facts.member_id, facts.kind)
    return f"{config.public_url}/unsubscribe/{unsubscribe_token(config.secret, link)}"


def _context(config: MailConfig, facts: EmailFacts) -> dict[str, Any]:
    link = None
    if facts.link is not None:
        type_name, key = facts.link
        link = f"{config.web_base_url}/{type_name.lower()}/{encode_id(type_name, key)}"
    return {
        "facts": facts,
        "kind": facts.kind.value,
        "link": link,
        "notifications_link": f"{config.web_base_url}/notifications",
        "unsubscribe": unsubscribe_url(config, facts),
    }


def compose(config: MailConfig, facts: EmailFacts) -> EmailMessage:
    """The notification email: headers, a plain-text part and an HTML part."""
    context = _context(config, facts)
    message = EmailMessage()
    message["Subject"] = " ".join(
        TEMPLATES.get_template("email/subject.txt").render(context).split()
    )
    message["From"] = config.sender
    message["To"] = formataddr((facts.recipient_name, facts.address))
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{facts.delivery_key}@{config.domain}>"
    if facts.conversation is not None:
        conversation = f"<{facts.conversation}@{config.domain}>"
        message["In-Reply-To"] = conversation
        message["References"] = conversation
    message["List-Unsubscribe"] = f"<{context['unsubscribe']}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(TEMPLATES.get_template("email/notification.txt").render(context))
    message.add_alternative(
        TEMPLATES.get_template("email/notification.html").render(context), subtype="html"
    )
    return message


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    """smtp://user:password@host:port, smtps:// for TLS from the start, ?starttls=1."""

    url: str
    timeout: float = 30.0

    async def send(self, message: EmailMessage) -> None:
        parts = urlsplit(self.url)
        tls = parts.scheme == "smtps"
        starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
        await aiosmtplib.send(
            message,
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=tls,
            start_tls=starttls if not tls else False,
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class MaildirSender:
    """The embedded default: each message a file in a Maildir (`hub mail list`)."""

    path: Path

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._add, message)

    def _add(self, message: EmailMessage) -> None:
        mailbox.Maildir(self.path, create=True).add(message)


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
