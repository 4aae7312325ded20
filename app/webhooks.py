"""Webhook calls: a JSON body per the Standard Webhooks convention (`type`, `timestamp`,
`data`), signed with the endpoint's secret by the `standardwebhooks` library (`webhook-id`: the
delivery's stable key, `webhook-timestamp`, `webhook-signature`), POSTed without following
redirects, after checking every address the endpoint's name resolves to."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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
            if await resolves_to_refused(call.url, self.rules):
                return REFUSED
            body = self.body(call)
            now = utcnow()
            headers = {
                "content-type": "application/json",
                "webhook-id": call.key,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(call.secret).sign(call.key, now, body),
            }
            async with httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, trust_env=False
            ) as client:
                response = await client.post(call.url, content=body, headers=headers)
        except (httpx.HTTPError, OSError) as error:
            return Failed(f"{type(error).__name__}: {error}")
        if response.is_success:
            return Sent()
        return Failed(f"the endpoint answered HTTP {response.status_code}")


async def resolves_to_refused(url: str, rules: AddressRules) -> bool:
    """Whether any address the URL's host resolves to is one the hub must not call (an address
    literal is checked as it is): webhooks and push services alike."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(
        parts.hostname, port, type=socket.SOCK_STREAM
    )
    return any(refused_address(str(info[4][0]), rules) for info in infos)
