"""A real Web Push service for tests: an HTTP server on 127.0.0.1 that checks each message's
VAPID signature (RFC 8292), keeps it, and answers as told; and browsers' subscriptions whose
private keys decrypt what it received (RFC 8291, aes128gcm, with http_ece)."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from tests.mail import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's subscription: the keys it gives the hub, and the private key it keeps."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def keys(self) -> dict[str, str]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64url(point), "auth": b64url(self.auth_secret)}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        message: dict[str, Any] = json.loads(plain)
        return message


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # The VAPID token's claims and the public key it was signed with (verified).
    claims: dict[str, Any]
    signer: str


@dataclass
class PushService:
    """Messages it accepted, by path; `answers` maps a path to the status it answers (201
    otherwise); a message whose VAPID signature does not verify is answered 403, not kept."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    refused: int = 0

    def browser(self, name: str) -> Browser:
        return Browser(f"{self.base_url}/push/{name}")


def verified_vapid(authorization: str) -> tuple[dict[str, Any], str]:
    """The claims of an `Authorization: vapid t=...,k=...` header and its key, once its
    signature is verified; raises if it is not."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid"
    parts = dict(part.split("=", 1) for part in params.split(","))
    assert Vapid02.verify(authorization)
    claims: dict[str, Any] = json.loads(unb64url(parts["t"].split(".")[1]))
    return claims, parts["k"]


@contextmanager
def push_service() -> Iterator[PushService]:
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            try:
                claims, signer = verified_vapid(self.headers["authorization"])
            except Exception:
                service.refused += 1
                self.send_response(403)
                self.end_headers()
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            service.received.append(Received(self.path, headers, body, claims, signer))
            self.send_response(service.answers.get(self.path, 201))
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service.base_url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
