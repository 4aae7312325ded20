"""The whole GraphQL API: every root field is listed here, with its description.

Domain modules (`schema/members.py`, ...) hold the types and the functions these fields call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from schema import auth as auth_api
from schema import members as members_api
from schema import nodes as nodes_api
from schema import organizations as organizations_api
from schema import reference as reference_api
from schema.context import Context
from schema.extensions import ErrorCodes, IntrospectionPolicy
from schema.relay import Connection, Node


@strawberry.type(description="Everything that can be read.")
class Query:
    viewer: members_api.Member | None = strawberry.field(
        resolver=members_api.resolve_viewer,
        description="The signed-in member (from the bearer token); null when not signed in.",
    )
    node: Node | None = strawberry.field(
        resolver=nodes_api.resolve_node,
        description="Any object by its global ID; null when it does not exist or is not visible.",
    )
    nodes: list[Node | None] = strawberry.field(
        resolver=nodes_api.resolve_nodes,
        description="Objects by global IDs (at most 100), in order; null for each one not visible.",
    )
    member: members_api.Member | None = strawberry.field(
        resolver=members_api.resolve_member,
        description="A member by global ID; null when it does not exist or is not visible.",
    )
    members: Connection[members_api.Member] = strawberry.field(
        resolver=members_api.resolve_members,
        description=(
            "The member and expert directory, by name. Signed-in members see every member; "
            "the public sees opted-in experts only."
        ),
    )
    organizations: Connection[organizations_api.Organization] = strawberry.field(
        resolver=organizations_api.resolve_organizations,
        description="Organisations in the hub, by name.",
    )
    gcm_objectives: list[reference_api.GcmObjective] = strawberry.field(
        resolver=reference_api.resolve_gcm_objectives,
        description="The 23 GCM objectives in order (a fixed set, so a plain list).",
    )
    gcm_objective: reference_api.GcmObjective | None = strawberry.field(
        resolver=reference_api.resolve_gcm_objective,
        description="One GCM objective by number; null outside 1 to 23.",
    )
    guiding_principles: list[reference_api.GuidingPrinciple] = strawberry.field(
        resolver=reference_api.resolve_guiding_principles,
        description="The 10 guiding principles of the GCM in order (a fixed set, so a plain list).",
    )


@strawberry.type(description="Everything that changes something. Each takes one `input`.")
class Mutation:
    register: auth_api.RegisterPayload = strawberry.mutation(
        resolver=auth_api.register,
        description="Create an account; answers the same whether or not the email is taken.",
    )
    login: auth_api.SignInPayload = strawberry.mutation(
        resolver=auth_api.login,
        description="Sign in with email and password; rate limited per address and per account.",
    )
    logout: auth_api.LogoutPayload = strawberry.mutation(
        resolver=auth_api.logout, description="Revoke the token of this request."
    )
    change_password: auth_api.SignInPayload = strawberry.mutation(
        resolver=auth_api.change_password,
        description="Change your password: all your sessions end, this one gets a new token.",
    )
    update_profile: members_api.MemberPayload = strawberry.mutation(
        resolver=members_api.update_profile, description="Change your own profile."
    )
    set_member_role: members_api.MemberPayload = strawberry.mutation(
        resolver=members_api.set_member_role,
        description="Admins only: give a member a role; the member's sessions end.",
    )
    create_organization: organizations_api.CreateOrganizationPayload = strawberry.mutation(
        resolver=organizations_api.create_organization,
        description="Admins only: add an organisation.",
    )
    assign_member_organization: members_api.MemberPayload = strawberry.mutation(
        resolver=members_api.assign_member_organization,
        description="Admins only: set the organisation a member speaks for.",
    )


@dataclass(frozen=True)
class Limits:
    """Per-document limits; defaults are the house plan's."""

    max_depth: int = 10
    max_tokens: int = 2_000
    max_aliases: int = 15


class HubSchema(strawberry.Schema):
    """A schema whose operations each get their own context copy (fresh DataLoaders),
    also when many run on one WebSocket."""

    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        _fork_context(kwargs)
        return await super().execute(query, *args, **kwargs)

    async def stream(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        _fork_context(kwargs)
        return await super().stream(query, *args, **kwargs)


def _fork_context(kwargs: dict[str, Any]) -> None:
    context = kwargs.get("context_value")
    if isinstance(context, Context):
        kwargs["context_value"] = context.for_operation()


def make_schema(limits: Limits = Limits()) -> HubSchema:
    # The limit rules are built once: ValidationCache keys on the rule classes, so rules
    # created per request would never hit the cache.
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=512),
        IntrospectionPolicy,
    ]
    return HubSchema(
        query=Query,
        mutation=Mutation,
        types=[reference_api.GcmObjective],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
    )


schema = make_schema()
