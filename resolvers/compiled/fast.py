"""The fast path's SQL (app/compiled_front.py): a compiled root field as ONE PostgreSQL
statement that returns the field's JSON value as text, byte for byte what the executor's
encoder (`schema.encoding.json_bytes`) writes but for characters outside printable ASCII,
which the caller escapes alike (`schema.encoding.ascii_json_text`).

A plan (resolvers/compiled/threads_json.py, and any other root field's) builds its statement
from the policy's predicates (`resolvers.policy`), called with a viewer whose member id is a
parameter (`Params.viewer`), compiled once per kind of viewer and selection with the constants
inlined (`sql_text`) and the request's values as `$n` parameters (`Params`). `viewer_checked`
wraps it so that a signed-in statement answers NULL unless the token is still live and still
the member, role and organization the statement was built for (`resolvers.auth.live_token`,
the executor's very check), in the same statement; and, for a statement that reads titles in
the member's declared languages (passed as a parameter), that those are still the ones the
languages were computed from (`declared_unchanged`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, exists, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from models.auth import AuthToken
from models.member import Member, MemberLanguage, Role
from resolvers.auth import live_token
from resolvers.policy import Viewer

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Pick:
    """One response key of a selection: the field it answers and what is selected under it
    (the resolvers' view of schema/compiled.py's `Selected`)."""

    key: str
    name: str
    children: tuple[Pick, ...] = ()

    def under(self, name: str) -> tuple[Pick, ...]:
        """The picks of field `name` among the children (one per alias)."""
        return tuple(c for c in self.children if c.name == name)


@dataclass(frozen=True)
class ViewerKind:
    """What a statement's text depends on of the viewer: signed in or not, and the role."""

    signed_in: bool
    role: Role | None = None


@dataclass
class Params:
    """The `$n` parameters of one statement, numbered as first used."""

    names: list[str] = field(default_factory=list)

    def bind(self, name: str, pg_type: str) -> ColumnElement[Any]:
        if name not in self.names:
            self.names.append(name)
        return literal_column(f"${self.names.index(name) + 1}::{pg_type}")

    def viewer(self, kind: ViewerKind) -> Viewer:
        """A viewer of this kind whose member id is the parameter `viewer_id`."""
        if not kind.signed_in:
            return Viewer()
        member = cast(int, self.bind("viewer_id", "integer").cast(Integer))
        return replace(Viewer(), member_id=member, role=kind.role)


@dataclass(frozen=True)
class FastStatement:
    """One statement's text and its parameters' names, in `$n` order."""

    sql: str
    parameters: tuple[str, ...]

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in self.parameters]


def sql_text(statement: Any) -> str:
    """PostgreSQL text of a SQLAlchemy statement, its constants inlined (`$n` stay)."""
    return str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


# --- the viewer's check ---------------------------------------------------------------------


def declared_arrays(member_sql: str) -> tuple[str, str]:
    """The member's declared languages (`member_language`) as two PostgreSQL arrays, their
    positions and their tags, in one order (position, then tag bytewise)."""
    rows = (
        f"FROM {MemberLanguage.__tablename__} WHERE member_id = {member_sql} "
        'ORDER BY position, tag COLLATE "C"'
    )
    return f"ARRAY(SELECT position {rows})", f"ARRAY(SELECT tag::text {rows})"


def declared_unchanged(params: Params) -> str:
    """SQL: member `viewer_id`'s declared languages are still exactly `declared_positions`
    and `declared_tags` (as `declared_arrays` read them when the token was looked up)."""
    positions, tags = declared_arrays(str(params.bind("viewer_id", "integer")))
    given_positions = params.bind("declared_positions", "integer[]")
    given_tags = params.bind("declared_tags", "text[]")
    return f"({positions} = {given_positions} AND {tags} = {given_tags})"


def viewer_checked(
    sql: str, params: Params, kind: ViewerKind, *, declared: bool = False
) -> FastStatement:
    """The statement, anonymous as is; signed in, NULL unless the token (`token_digest`) is
    live at `now` and is still `token_id` of member `viewer_id` with this role and
    `organization_id` (the viewer the statement was built for and the request hinted), and,
    `declared`, unless the member's declared languages are still the hinted ones."""
    if not kind.signed_in:
        return FastStatement(sql, tuple(params.names))
    token = live_token(params.bind("token_digest", "text"), params.bind("now", "timestamptz"))
    token = token.where(
        AuthToken.id == params.bind("token_id", "integer"),
        Member.id == params.bind("viewer_id", "integer"),
        Member.role == kind.role,
        Member.organization_id.is_not_distinct_from(params.bind("organization_id", "integer")),
    )
    check = f"({sql_text(select(exists(token)))})"
    if declared:
        check = f"{check} AND {declared_unchanged(params)}"
    wrapped = f"SELECT CASE WHEN {check} THEN ({sql}) END"
    return FastStatement(wrapped, tuple(params.names))


def viewer_values(viewer: Viewer, digest: str, now: datetime) -> dict[str, Any]:
    """The values of `viewer_checked`'s parameters for a signed-in request."""
    return {
        "viewer_id": viewer.member_id,
        "token_digest": digest,
        "now": now,
        "token_id": viewer.token_id,
        "organization_id": viewer.organization_id,
    }


# --- JSON text in SQL -------------------------------------------------------------------------


def json_key(key: str) -> str:
    """`"key":` as SQL text (GraphQL names are ASCII letters, digits and `_`)."""
    return f"'\"{key}\":'"


def json_object(members: list[tuple[str, str]]) -> str:
    """A JSON object's text from (key, SQL of the value's JSON text) pairs, in order."""
    if not members:
        return "'{}'"
    parts = [f"'{{' || {json_key(members[0][0])} || {members[0][1]}"]
    parts += [f"',' || {json_key(key)} || {value}" for key, value in members[1:]]
    return "(" + " || ".join(parts) + " || '}')"


def jtext(value_sql: str) -> str:
    """A string (or any value) as JSON, `null` for NULL."""
    return f"coalesce(to_json({value_sql})::text, 'null')"


def jint(value_sql: str) -> str:
    return f"coalesce(({value_sql})::text, 'null')"


def jbool(condition_sql: str) -> str:
    return f"(CASE WHEN {condition_sql} THEN 'true' ELSE 'false' END)"


def jstring(ascii_sql: str) -> str:
    """A string known to be ASCII without quotes or backslashes (IDs, cursors, enum names)."""
    return f"('\"' || {ascii_sql} || '\"')"


def jconstant(value: str) -> str:
    """A constant JSON string (a `__typename`)."""
    return f"'\"{value}\"'"


def _b64url(text_sql: str) -> str:
    """base64url of a text's UTF-8 bytes (`encode` wraps lines at 76: the newlines go)."""
    return f"translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


def global_id(type_name: str, key_sql: str) -> str:
    """`schema.relay.encode_id`: base64url of 'Type:key', padded."""
    return _b64url(f"'{type_name}:' || ({key_sql})::text")


def int_cursor(listing: str, key_sql: str) -> str:
    """`resolvers.pagination.encode_cursor(listing, (key,))`: base64url of `["listing",key]`,
    unpadded."""
    array = f"'[\"{listing}\",' || ({key_sql})::text || ']'"
    return f"rtrim({_b64url(array)}, '=')"


def iso_timestamp(timestamp_sql: str) -> str:
    """`datetime.isoformat()` of an aware UTC timestamp: microseconds only when not zero."""
    utc = f"({timestamp_sql} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {utc})"
        f" = {utc} THEN '' ELSE to_char({utc}, '.US') END || '+00:00')"
    )


def jtimestamp(timestamp_sql: str) -> str:
    return f"coalesce(('\"' || {iso_timestamp(timestamp_sql)} || '\"'), 'null')"


def jdate(date_sql: str) -> str:
    """`date.isoformat()`, `null` for NULL."""
    return f"coalesce(('\"' || to_char({date_sql}, 'YYYY-MM-DD') || '\"'), 'null')"


def keyset_cursor(listing: str, values_sql: list[str]) -> str:
    """`resolvers.pagination.encode_cursor(listing, values)` from each value's JSON text:
    base64url of `["listing",v1,...]`, unpadded."""
    array = f"'[\"{listing}\"' || " + " || ".join(f"',' || {v}" for v in values_sql) + " || ']'"
    return f"rtrim({_b64url(array)}, '=')"


def cursor_value(column: Any, alias: str) -> str:
    """A keyset column's value in a cursor (`resolvers.pagination._plain`) as JSON text: a
    collation key in hex, a timestamp in ISO format, a number as is."""
    value = f"{alias}.{column.key}"
    python_type = column.type.python_type
    if python_type is bytes:
        hexed = jstring(f"encode({value}, 'hex')")
        return f"coalesce({hexed}, 'null')"
    if python_type is datetime:
        return jtimestamp(value)
    if python_type is int:
        return jint(value)
    return jtext(value)


def pg_type(column: Any) -> str:
    """The PostgreSQL type of a column, for a `$n` parameter compared with it."""
    return str(column.type.compile(dialect=_DIALECT))


def selection_object(
    pick: Pick, fields: Mapping[str, str], nested: Mapping[str, Callable[[Pick], str]]
) -> str:
    """The JSON object of a selection: each response key with the SQL of its field's value,
    a leaf's from `fields`, an object's from `nested`, in the selection's order."""
    members = []
    for child in pick.children:
        if child.name in nested:
            members.append((child.key, nested[child.name](child)))
        else:
            members.append((child.key, fields[child.name]))
    return json_object(members)


def nullable(key_sql: str, object_sql: str) -> str:
    """An object's JSON, `null` when its row is absent (`key_sql` NULL)."""
    return f"(CASE WHEN {key_sql} IS NULL THEN 'null' ELSE {object_sql} END)"


def json_list(item_sql: str, source_sql: str, order_sql: str) -> str:
    """A JSON array of `item_sql` over the rows of `source_sql` (`FROM ... WHERE ...`)."""
    rows = f"(SELECT string_agg({item_sql}, ',' ORDER BY {order_sql}) {source_sql})"
    return f"('[' || coalesce({rows}, '') || ']')"
