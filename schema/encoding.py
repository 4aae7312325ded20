"""The JSON of answers: HTTP bodies and WebSocket frames, compact, in the bytes `json.dumps`
wrote before (ASCII, `\\uXXXX` escapes), several times faster on a page (bench/README.md,
"cheaper execution").

orjson writes everything but the escaping of characters outside printable ASCII, which it
leaves as UTF-8: those are escaped afterwards, as the standard library does, when an answer
has any (by an encoding error handler, so that the ASCII around them is copied at C speed).
One difference is left: a float below 1e-4 is written `0.00001` (`json.dumps`: `1e-05`), the
same number for every parser (only search scores are floats). What orjson refuses (an integer
beyond 64 bits, from a custom scalar) is encoded by the standard library."""

from __future__ import annotations

import codecs
import json
from typing import Any

import orjson

_ESCAPE_NON_ASCII = "hub-json-escape"


def _escape_character(character: str) -> str:
    code = ord(character)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as json.dumps writes it
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _escape_run(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    run = error.object[error.start : error.end]
    return "".join(map(_escape_character, run)), error.end


codecs.register_error(_ESCAPE_NON_ASCII, _escape_run)


def json_bytes(value: Any) -> bytes:
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()
    if not encoded.isascii():
        encoded = encoded.decode().encode("ascii", _ESCAPE_NON_ASCII)
    if b"\x7f" in encoded:  # DEL is ASCII, but not printable: json.dumps escapes it too
        encoded = encoded.replace(b"\x7f", b"\\u007f")
    return encoded


def json_text(value: Any) -> str:
    return json_bytes(value).decode()


def ascii_json_text(text: str) -> bytes:
    """JSON text written elsewhere (PostgreSQL's `to_json`, app/compiled_front.py) in the bytes
    `json_bytes` writes: characters outside printable ASCII escaped as `json.dumps` does."""
    encoded = text.encode("ascii", _ESCAPE_NON_ASCII)  # copied at C speed when ASCII
    if b"\x7f" in encoded:
        encoded = encoded.replace(b"\x7f", b"\\u007f")
    return encoded
