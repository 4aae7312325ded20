"""A notification's headline in GraphQL: the same line its email's subject and push message's
title say (schema/mail_texts.py, the same templates and catalogues), in the request's language
(the socket's for live events), with the titles the viewer may see in their best text for the
request, through the per-request loaders (no statement per notification)."""

from __future__ import annotations

from typing import Any

from models.notification import NotificationKind
from resolvers.notification_changes import what_happened
from resolvers.notification_facts import NotificationFacts
from resolvers.notification_titles import Title
from schema.communities import load_community
from schema.context import Info
from schema.mail_texts import headline, mail_language
from schema.members import load_member
from schema.support import load_support_request
from schema.threads import load_thread
from schema.translations import localized
from schema.webinars import load_webinar


async def _original_title(info: Info, item: Any, field: str) -> Title | None:
    if item is None:
        return None
    value = await localized(info, item.original, field)
    return Title(value.text, value.language)


async def _item(info: Info, subject: dict[str, Any]) -> Any:
    from schema.initiatives import load_initiative
    from schema.resources import load_resource

    if subject.get("item") is None:
        return None
    key = int(subject["item"])
    if subject.get("item_kind") == "RESOURCE":
        return await load_resource(info, key)
    return await load_initiative(info, key)


async def _titles(info: Info, subject: dict[str, Any]) -> dict[str, Title]:
    """What the subject names, as the viewer may see it now (a title they may no longer see
    is left out: the headline then says "a thread")."""
    from schema.initiatives import load_call

    def key(name: str) -> int | None:
        return int(subject[name]) if subject.get(name) is not None else None

    found: dict[str, Title | None] = {}
    if (thread_key := key("thread")) is not None:
        thread = await load_thread(info, thread_key)
        found["thread"] = Title(thread.title) if thread is not None else None
    if (request_key := key("supportRequest")) is not None:
        request = await load_support_request(info, request_key)
        found["supportRequest"] = Title(request.title) if request is not None else None
    if (community_key := key("community")) is not None:
        community = await load_community(info, community_key)
        found["community"] = await _original_title(info, community, "name")
    if (webinar_key := key("webinar")) is not None:
        webinar = await load_webinar(info, webinar_key)
        found["webinar"] = await _original_title(info, webinar, "title")
    if (call_key := key("call")) is not None:
        found["call"] = await _original_title(info, await load_call(info, call_key), "theme")
    found["item"] = await _original_title(info, await _item(info, subject), "title")
    return {name: title for name, title in found.items() if title is not None}


async def notification_headline(
    info: Info, kind: NotificationKind, actor_id: int | None, subject: dict[str, Any]
) -> str:
    """What happened, in one line, in the request's language."""
    actor = await load_member(info, actor_id) if actor_id else None
    facts = NotificationFacts(
        kind=kind,
        link=None,
        conversation=None,
        titles=await _titles(info, subject),
        change=what_happened(subject).as_lines(),
        actor_name=actor.name if actor is not None else None,
    )
    return headline(mail_language(await info.context.languages()), facts)
