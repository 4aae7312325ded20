"""Exposes the models' enums to GraphQL with a description on the type and on every value."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

E = TypeVar("E", bound=type[enum.Enum])


def described_enum(
    enum_class: E, description: str, values: Mapping[str, str], *, name: str | None = None
) -> E:
    """Register `enum_class` as a GraphQL enum; every value must be described."""
    missing = {member.name for member in enum_class} ^ set(values)
    if missing:
        raise ValueError(f"{enum_class.__name__}: describe exactly its values; mismatch {missing}")
    wrapped = strawberry.enum(enum_class, name=name, description=description)
    definition: StrawberryEnumDefinition = wrapped.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = values[value.name]
    return wrapped
