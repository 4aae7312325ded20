"""Update inputs: every field defaults to `strawberry.UNSET`, so a field the client leaves out
is told apart from an explicit null (the convention is `resolvers/edits.py`'s).

strawberry's `Maybe[T]` tells them apart too, but answers a null for a `Maybe[T]` field with a
top-level error, where an update answers REQUIRED in its payload. `changes_input` is the one
place that builds an input type from another one's strawberry definition;
`tests/test_schema.py` pins what it makes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any

import strawberry
from strawberry.tools import create_type
from strawberry.types.base import StrawberryOptional

from resolvers.edits import Changes, field_name


def changes_input(source: type, name: str, what: str) -> type:
    """An input to edit `what` the input `source` creates: the same fields, each optional. Null
    clears a field that `source` lets be null and is refused (REQUIRED) for the others; the
    descriptions say which."""
    fields, clearable = [], []
    for item in source.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        description, graphql_type = item.description, item.type
        if isinstance(item.type, StrawberryOptional):
            clearable.append(f"`{field_name(item.python_name)}`")
            description += " Null clears it."
        else:
            graphql_type = StrawberryOptional(item.type)
        field = strawberry.field(
            default=strawberry.UNSET, description=description, graphql_type=graphql_type
        )
        field.python_name = item.python_name
        fields.append(field)
    *others, last = clearable or ["nothing"]
    cleared = f"{', '.join(others)} and {last}" if others else last
    description = (
        f"Changes to {what}: fields left out stay as they are; null clears {cleared}, and is "
        "refused (REQUIRED) for the others. A list sent replaces the whole list."
    )
    return create_type(name, fields, is_input=True, description=description)


def sent_fields(
    input: Any,
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
    *,
    leave_out: Collection[str] = (),
) -> Changes:
    """The fields of an update input the client sent, by Python name (None for a null), each
    value through its `convert`er if it has one; `leave_out` names what is not a change (the
    ID of what is edited)."""
    convert = convert or {}
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(input):
        value = getattr(input, item.name)
        if item.name in leave_out or value is strawberry.UNSET:
            continue
        if value is not None and item.name in convert:
            value = convert[item.name](value)
        changes[item.name] = value
    return changes
