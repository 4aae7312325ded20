"""Web Push: VAPID keys (`hub push keygen`), and the sender the outbox's workers hand push
deliveries to. A message is a small JSON document (what happened, a link, the delivery's key)
encrypted for the subscription with pywebpush (aes128gcm, RFC 8291), signed with the hub's
VAPID key (RFC 8292) and POSTed to the push service (RFC 8030) without following redirects,
to the address that was checked against the webhooks' rules (app/webhooks.pin)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from py_vapid.utils import b64urlencode
from pywebpush import WebPusher, WebPushException

from app.settings import Settings
from app.webhooks import pin
from models.base import utcnow
from models.notification import NotificationKind
from resolvers.outbox import Dropped, Failed, Result, Sent
from resolvers.push_deliveries import PushFacts
from resolvers.push_subscriptions import PushConfig
from resolvers.webhooks import AddressRules
from schema.mail_texts import change_lines, headline, mail_language
from schema.relay import encode_id

# A push service keeps at most 4 KB of payload; a message says little and links to the rest.
MAX_TEXT = 300
# A message waits this long at the push service for an offline device, then is dropped.
DEFAULT_TTL_SECONDS = 24 * 60 * 60
# What concerns the member now wakes the device; the rest waits for a good moment (RFC 8030).
URGENT = {NotificationKind.MENTION, NotificationKind.REPLY, NotificationKind.WEBINAR_REMINDER}
JWT_LIFETIME_SECONDS = 12 * 60 * 60
REFUSED = Dropped("the push service's address is not allowed")


@dataclass(frozen=True)
class Gone(Dropped):
    """The push service says the subscription no longer exists (404 or 410): it is removed."""

    subscription_id: int = 0


@dataclass(frozen=True)
class VapidKeys:
    """The hub's VAPID key pair: the private key as a raw base64url scalar, the public key as
    the base64url uncompressed point browsers take as `applicationServerKey`."""

    private_key: str
    public_key: str

    @classmethod
    def generate(cls) -> VapidKeys:
        key = ec.generate_private_key(ec.SECP256R1())
        raw = key.private_numbers().private_value.to_bytes(32, "big")
        return cls.from_private_key(b64urlencode(raw))

    @classmethod
    def from_private_key(cls, private_key: str) -> VapidKeys:
        """The pair of a private key (raw base64url, or DER base64url as py-vapid writes)."""
        vapid = Vapid.from_string(private_key)
        point = vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(private_key=private_key, public_key=b64urlencode(point))


@functools.lru_cache(maxsize=4)
def public_key_of(private_key: str | None) -> str | None:
    """The VAPID public key for clients; None when push is not configured."""
    return VapidKeys.from_private_key(private_key).public_key if private_key else None


def push_config(settings: Settings) -> PushConfig:
    return PushConfig(settings.push_rules(), public_key_of(settings.vapid_key()))


def push_sender(settings: Settings) -> PushSender | None:
    """The sender of this deployment's push messages; None when push is off."""
    private_key = settings.vapid_key()
    if private_key is None:
        return None
    return PushSender(
        vapid_private_key=private_key,
        subject=settings.vapid_subject,
        rules=settings.push_rules(),
        web_base_url=settings.web_base_url.rstrip("/"),
        ttl_seconds=settings.push_ttl_seconds,
    )


def push_payload(facts: PushFacts, web_base_url: str) -> dict[str, Any]:
    """What a push message says, in the recipient's language (as their email would be): the
    headline the email would have, a short text, the page to open, and keys the client uses
    to group and to drop duplicates."""
    n = facts.notification
    language = mail_language(facts.languages)
    title = headline(language, n)
    lines = change_lines(language, n)
    text = n.snippet or "; ".join(f"{label}: {value}" for label, value in lines)
    url = None
    if n.link is not None:
        type_name, key = n.link
        url = f"{web_base_url}/{type_name.lower()}/{encode_id(type_name, key)}"
    return {
        "id": facts.key,
        "kind": n.kind.value,
        "notification": encode_id("Notification", facts.notification_id),
        "title": title[:MAX_TEXT],
        "body": text[:MAX_TEXT],
        "url": url,
        "tag": n.conversation,
    }


@dataclass(frozen=True)
class PushSender:
    vapid_private_key: str
    subject: str
    rules: AddressRules
    web_base_url: str
    ttl_seconds: int = DEFAULT_TTL_SECONDS
    timeout: float = 10.0

    def _headers(self, endpoint: str, kind: NotificationKind) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self.subject,
            "exp": int(utcnow().timestamp()) + JWT_LIFETIME_SECONDS,
        }
        signed: dict[str, str] = Vapid.from_string(self.vapid_private_key).sign(claims)
        return {
            **signed,
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "ttl": str(self.ttl_seconds),
            "urgency": "high" if kind in URGENT else "normal",
        }

    def _body(self, facts: PushFacts) -> bytes:
        target = facts.target
        pusher = WebPusher(
            {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
        )
        data = json.dumps(push_payload(facts, self.web_base_url), separators=(",", ":"))
        body: bytes = pusher.encode(data.encode(), "aes128gcm")["body"]
        return body

    async def send(self, facts: PushFacts) -> Result:
        endpoint = facts.target.endpoint
        try:
            target = await pin(endpoint, self.rules)
            if target is None:
                return REFUSED
            body = self._body(facts)
            headers = {
                **self._headers(endpoint, facts.notification.kind),
                "host": target.host_header,
            }
            async with httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, trust_env=False
            ) as client:
                response = await client.post(
                    content=body, headers=headers, **target.post_arguments()
                )
        except (httpx.HTTPError, OSError, WebPushException, ValueError) as error:
            return Failed(f"{type(error).__name__}: {error}")
        if response.status_code in (404, 410):
            return Gone(
                f"the push service says the subscription is gone (HTTP {response.status_code})",
                facts.target.subscription_id,
            )
        if response.is_success:
            return Sent()
        return Failed(f"the push service answered HTTP {response.status_code}")
