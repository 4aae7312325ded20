"""Partial edits, one convention for every update mutation.

An update receives `Changes`: the fields the client sent, by Python name. A field left out is
not there and keeps its value. An explicit null (None) clears a field that may be empty; for
any other field it is refused with REQUIRED, and nothing is changed. A list sent replaces the
whole list."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_type_hints

from resolvers.errors import ErrorCode, ProblemList

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Content = TypeVar("Content", bound="DataclassInstance")
Changes = Mapping[str, Any]


def field_name(name: str) -> str:
    """The GraphQL name of a field (`lead_organization_id` → `leadOrganizationId`)."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def sent(changes: Changes, problems: ProblemList, clearable: Collection[str]) -> dict[str, Any]:
    """The changes to make: a null for a field not `clearable` lands in `problems` (REQUIRED)
    and is left out."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None and name not in clearable:
            problems.add(
                field_name(name),
                "Cannot be null: leave it out to keep its value, or send a new one.",
                ErrorCode.REQUIRED,
            )
        else:
            values[name] = value
    return values


@cache
def _optional_fields(content_type: type) -> frozenset[str]:
    hints = get_type_hints(content_type)
    return frozenset(name for name, hint in hints.items() if type(None) in get_args(hint))


def patched(current: Content, changes: Changes, problems: ProblemList) -> Content:
    """`current`, a whole content (such as `ResourceContent`), with the changes made; a null
    clears the fields the content may hold as None."""
    return replace(current, **sent(changes, problems, _optional_fields(type(current))))
