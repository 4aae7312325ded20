"""The schema documents itself, and the committed schema.graphql is the schema."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
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


def changes_fields(input_type: GraphQLInputObjectType) -> dict[str, GraphQLInputObjectType]:
    """The input objects of an update's input that carry changes (itself, nested ones), each
    checked: besides the non-null ID of what is edited, every field may be left out, and a
    field left out has no default, so that it never reads as a null (which clears)."""
    found = {input_type.name: input_type}
    for name, field in input_type.fields.items():
        if isinstance(field.type, GraphQLNonNull):
            inner = field.type.of_type
            if isinstance(inner, GraphQLInputObjectType):
                found |= changes_fields(inner)
            else:
                assert inner is GraphQLID, f"{input_type.name}.{name} must be sent"
        else:
            assert field.default_value is Undefined, f"{input_type.name}.{name} has a default"
    return found


def test_every_update_changes_only_the_fields_sent():
    mutation = schema._schema.mutation_type
    assert mutation is not None
    updates = {
        name: changes_fields(field.args["input"].type.of_type)
        for name, field in mutation.fields.items()
        if name.startswith("update") or name == "assignMemberOrganization"
    }
    assert sorted(updates) == [
        "assignMemberOrganization",
        "updateInitiative",
        "updateNotificationPreferences",
        "updateProfile",
        "updateResource",
        "updateWebinar",
    ]
    # and an edit can change every field its creation sets
    types = schema._schema.type_map
    for created, changes in (
        ("ResourceInput", updates["updateResource"]["ResourceChangesInput"]),
        ("InitiativeInput", updates["updateInitiative"]["InitiativeChangesInput"]),
    ):
        creation = types[created]
        assert isinstance(creation, GraphQLInputObjectType)
        assert list(changes.fields) == list(creation.fields)
