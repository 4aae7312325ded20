"""`node(id:)` and `nodes(ids:)`: any global ID, through the same loaders and policy as the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from schema.communities import load_community
from schema.context import Info
from schema.initiatives import load_call, load_initiative
from schema.members import load_member
from schema.organizations import load_organization
from schema.reference import GcmObjective
from schema.relations import load_relation
from schema.relay import Node, check_node_count, decode_id, int_key
from schema.resources import load_resource
from schema.support import load_support_request
from schema.support_messages import load_support_message
from schema.threads import load_post, load_thread
from schema.webinar_live import load_chat_message, load_question
from schema.webinars import load_webinar


async def _load_objective(info: Info, number: int) -> GcmObjective | None:
    row = await info.context.loaders.objective_by_number.load(number)
    return GcmObjective.from_row(row) if row is not None else None


# Each fetchable type and how to load it by its integer key; the loaders apply the policy.
NODE_LOADERS: dict[str, Callable[[Info, int], Awaitable[Node | None]]] = {
    "Member": load_member,
    "Organization": load_organization,
    "GcmObjective": _load_objective,
    "Community": load_community,
    "Thread": load_thread,
    "Post": load_post,
    "SupportRequest": load_support_request,
    "SupportMessage": load_support_message,
    "Resource": load_resource,
    "ResourceRelation": load_relation,
    "Initiative": load_initiative,
    "CallForPractices": load_call,
    "Webinar": load_webinar,
    "WebinarChatMessage": load_chat_message,
    "WebinarQuestion": load_question,
}


async def load_node(info: Info, global_id: str) -> Node | None:
    decoded = decode_id(global_id)
    if decoded is None:
        return None
    type_name, key = decoded
    loader = NODE_LOADERS.get(type_name)
    number = int_key(key)
    if loader is None or number is None:
        return None
    return await loader(info, number)


async def resolve_node(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")]
) -> Node | None:
    return await load_node(info, id)


async def resolve_nodes(
    info: Info,
    ids: Annotated[list[strawberry.ID], strawberry.argument(description="At most 100 global IDs.")],
) -> list[Node | None]:
    check_node_count(ids)
    return list(await asyncio.gather(*(load_node(info, i) for i in ids)))
