"""The schema documents itself, and the committed schema.graphql is the schema."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from schema import schema

ROOT = Path(__file__).resolve().parents[1]


def undocumented(graphql_schema: GraphQLSchema) -> list[str]:
    missing = []
    for name, type_ in graphql_schema.type_map.items():
        if name.startswith("__"):
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, a in field.args.items()
                    if not a.description
                ]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in type_.fields.items() if not field.description]
        elif isinstance(type_, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in type_.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description():
    assert undocumented(schema._schema) == []


def test_committed_schema_graphql_is_current():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed.strip() == schema.as_str().strip(), (
        "schema.graphql is stale: run `hub export-schema` and review the diff"
    )
