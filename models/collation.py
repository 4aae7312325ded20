"""How names sort and texts match across the scripts the hub's members write in (Arabic,
Chinese, Cyrillic, Latin with accents, ...).

- `sort_key`: the Unicode Collation Algorithm with its default table (DUCET, through pyuca), as
  bytes that sort like the collation elements (each weight big-endian in two bytes), so both
  databases order by a stored key byte by byte and keyset pagination stays in SQL: "Élodie"
  sorts beside "Elodie", not after "Zoë"; Cyrillic after Latin, then Arabic, then Han. It is
  the root collation, the same for every reader (a stored key cannot follow each request's
  language; a Spanish or Swedish tailoring would differ only in a few letters).
- `match_key`: NFKC then case folding then NFKC (Unicode's NFKC_Casefold, near enough), the form
  in which two texts a reader takes as the same word are equal: "STRASSE" and "straße", a
  full-width Latin letters and plain ones, Arabic presentation forms and the letters they show."""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any

from pyuca import Collator
from sqlalchemy import event
from sqlalchemy.orm import InstrumentedAttribute

# Names sort by their first characters; longer ones tie-break by id (the keyset's last column).
SORTED_PREFIX = 80


@cache
def _collator() -> Collator:
    return Collator()  # reads the table once (a third of a second)


def sort_key(text: str) -> bytes:
    weights = _collator().sort_key(unicodedata.normalize("NFC", text)[:SORTED_PREFIX])
    return struct.pack(f">{len(weights)}H", *weights)


def match_key(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def key_default(column: str, key: Callable[[str], Any] = sort_key) -> Any:
    """A column default computing `key` of the row's `column` as inserted (Core inserts
    included)."""

    def default(context: Any) -> Any:
        value = context.get_current_parameters().get(column)
        return key(value) if isinstance(value, str) else None

    return default


def keep_key(
    attribute: InstrumentedAttribute[str], key_name: str, key: Callable[[str], Any] = sort_key
) -> None:
    """Set the `key_name` attribute to `key(value)` whenever `attribute` is set on an object
    (ORM inserts and updates)."""

    @event.listens_for(attribute, "set")
    def _changed(target: Any, value: str, old: Any, initiator: Any) -> None:
        setattr(target, key_name, key(value) if isinstance(value, str) else None)
