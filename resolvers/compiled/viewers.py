"""The viewer a compiled statement is built for: one of a kind (anonymous, or signed in with a
role) whose member id is the statement's parameter `VIEWER_ID`, so that the policy's functions
build the predicates every member of that kind gets, once, and each request binds its member."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from sqlalchemy import Integer, bindparam
from sqlalchemy.sql import ClauseElement

from models.member import Role
from resolvers.policy import Viewer

VIEWER_ID = bindparam("compiled_viewer_id", type_=Integer)


def parametric(signed_in: bool, role: Role | None) -> Viewer:
    """A viewer of this kind whose member id is the statement's parameter."""
    member = cast(int, VIEWER_ID) if signed_in else None
    return replace(Viewer(), member_id=member, role=role)


def binds_viewer(statement: ClauseElement) -> bool:
    """Whether the statement reads the viewer's member id (then the request binds it: reading
    it makes the answer that viewer's own, for the response cache)."""
    return VIEWER_ID.key in statement.compile().params


def viewer_parameters(needed: bool, viewer: Viewer) -> dict[str, Any]:
    return {VIEWER_ID.key: viewer.member_id} if needed else {}
