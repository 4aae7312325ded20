"""Webhook calls: a JSON body per the Standard Webhooks convention (`type`, `timestamp`,
`data`), signed with the endpoint's secret by the `standardwebhooks` library (`webhook-id`: the
delivery's stable key, `webhook-timestamp`, `webhook-signature`), POSTed without following
redirects to the address that was checked: the endpoint's name is resolved once, every address
it resolves to is checked, and the call connects to the checked one (no DNS rebinding)."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook

from models.base import utcnow
from resolvers.outbox import Dropped, Failed, Result, Sent
from resolvers.webhooks import AddressRules, WebhookCall, refused_address
from schema.relay import encode_id

REFUSED = Dropped("the endpoint's address is not allowed for webhooks")


def event_type(call: WebhookCall) -> str:
    """RESOURCE_PUBLISHED -> resource.published, SUPPORT_REQUEST_UPDATED ->
    support_request.updated."""
    subject, _, verb = call.event.value.lower().rpartition("_")
    return f"{subject}.{verb}"


@dataclass(frozen=True)
class WebhookSender:
    rules: AddressRules
    web_base_url: str
    timeout: float = 10.0

    def body(self, call: WebhookCall) -> str:
        data: dict[str, Any] = dict(call.data)
        type_name, key = str(data["type"]), int(data["id"])
        data["id"] = encode_id(type_name, key)
        data["url"] = f"{self.web_base_url}/{type_name.lower()}/{data['id']}"
        return json.dumps(
            {"type": event_type(call), "timestamp": call.occurred_at, "data": data},
            separators=(",", ":"),
        )

    async def send(self, call: WebhookCall) -> Result:
        try:
            target = await pin(call.url, self.rules)
            if target is None:
                return REFUSED
            body = self.body(call)
            now = utcnow()
            headers = {
                "content-type": "application/json",
                "webhook-id": call.key,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(call.secret).sign(call.key, now, body),
                "host": target.host_header,
            }
            async with httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, trust_env=False
            ) as client:
                response = await client.post(
                    content=body, headers=headers, **target.post_arguments()
                )
        except (httpx.HTTPError, OSError) as error:
            return Failed(f"{type(error).__name__}: {error}")
        if response.is_success:
            return Sent()
        return Failed(f"the endpoint answered HTTP {response.status_code}")


@dataclass(frozen=True)
class PinnedTarget:
    """Where to connect for a URL: the address that was checked, in place of the host's name
    (so that a name resolving elsewhere a moment later, DNS rebinding, changes nothing), with
    the name kept for the `Host` header and for TLS (SNI and the certificate's check)."""

    url: str
    host_header: str
    tls_name: str | None

    def post_arguments(self) -> dict[str, Any]:
        """What `httpx.AsyncClient.post` needs besides the body and the other headers."""
        extensions = {"sni_hostname": self.tls_name} if self.tls_name else {}
        return {"url": self.url, "extensions": extensions}


async def pin(url: str, rules: AddressRules) -> PinnedTarget | None:
    """Resolve the URL's host once and check every address it resolves to (an address literal
    is checked as it is); None if any is one the hub must not call (webhooks and push services
    alike), else the target pinned to the first address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(refused_address(a, rules) for a in addresses):
        return None
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rpartition("@")[2]
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return PinnedTarget(pinned, host_header, host if parts.scheme == "https" else None)
