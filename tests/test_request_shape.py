"""Requests no operation can mean are refused before anything runs, on every database alike:
NUL characters in any String or ID argument (as a variable or as a literal), and several
operations with no `operationName`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    build_schema,
    get_named_type,
)

from tests.conftest import Factory

SDL = build_schema((Path(__file__).resolve().parents[1] / "schema.graphql").read_text())
TEXT_TYPES = {"String", "ID"}
NUL_TEXT = "a\u0000b"


def _root(name: str) -> GraphQLObjectType:
    root = SDL.get_type(name)
    assert isinstance(root, GraphQLObjectType)
    return root


def _text_paths(named: GraphQLNamedType, depth: int = 0) -> Iterator[list[str]]:
    """Paths to every String or ID inside an argument's type ([] for the argument itself)."""
    if named.name in TEXT_TYPES:
        yield []
    elif isinstance(named, GraphQLInputObjectType) and depth < 3:
        for field_name, field in named.fields.items():
            for path in _text_paths(get_named_type(field.type), depth + 1):
                yield [field_name, *path]


def text_arguments() -> list[tuple[str, str, str, str, list[str]]]:
    """(operation, field, argument, argument's type, path) for every String or ID reachable
    from a root field's arguments, derived from the committed SDL."""
    found = []
    for operation, root in (("query", _root("Query")), ("mutation", _root("Mutation"))):
        field: GraphQLField
        for field_name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                for path in _text_paths(get_named_type(arg.type)):
                    found.append((operation, field_name, arg_name, str(arg.type), path))
    return found


def _nest(path: list[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


async def _post(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post("/graphql", json=body, headers=headers)


def test_every_text_argument_is_covered() -> None:
    """The list below is derived, not written: a new String or ID argument is covered."""
    arguments = text_arguments()
    assert len(arguments) > 100
    assert ("query", "community", "slug", "String", []) in arguments
    assert any(a[1] == "threads" and a[4] == ["tag"] for a in arguments)


async def test_nul_in_any_text_argument_is_bad_user_input(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    member = await factory.member()
    wrong = []
    for operation, field, argument, type_name, path in text_arguments():
        variable = _nest(path, NUL_TEXT) if path else NUL_TEXT
        if type_name.startswith("[") and not path:
            variable = [NUL_TEXT]
        query = f"{operation}($v: {type_name}) {{ {field}({argument}: $v) {{ __typename }} }}"
        response = await _post(
            client, {"query": query, "variables": {"v": variable}}, member.headers
        )
        body = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        if response.status_code != 400 or codes != ["BAD_USER_INPUT"] or "data" in body:
            wrong.append(
                f"{field}({argument}{''.join('.' + p for p in path)}): {response.status_code} {codes}"
            )
    assert not wrong, f"{len(wrong)} argument(s) not refused:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "query",
    [
        '{ community(slug: "a\\u0000") { id } }',
        '{ threads(filter: {tag: "x\\u0000"}) { totalCount } }',
        '{ search(query: "mig\\u0000ration") { totalCount } }',
        '{ community(slug: "a\\u{0}") { id } }',
    ],
)
async def test_nul_in_a_literal_is_bad_user_input(client: httpx.AsyncClient, query: str) -> None:
    response = await _post(client, {"query": query}, {})
    body = response.json()
    assert response.status_code == 400, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "SELECT" not in response.text


async def test_several_operations_need_an_operation_name(client: httpx.AsyncClient) -> None:
    document = "query A { gcmObjectives { number } } query B { __typename }"
    response = await _post(client, {"query": document}, {})
    assert response.status_code == 400, response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_REQUEST"]

    chosen = await _post(client, {"query": document, "operationName": "B"}, {})
    assert chosen.status_code == 200
    assert chosen.json()["data"] == {"__typename": "Query"}
