"""Webhooks: what an organisation's system may be told."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    exists,
    false,
)

from models.initiative import CallForPractices, Initiative
from models.resource import Resource
from models.review import ReviewItemKind
from models.support import SupportRequest
from models.webinar import (
    Webinar,
)
from resolvers.policy.knowledge import visible_calls, visible_initiatives, visible_resources
from resolvers.policy.viewer import ANONYMOUS, Viewer
from resolvers.policy.webinars import visible_webinars


def may_manage_webhooks(viewer: Viewer) -> bool:
    """Registering endpoints, reading their delivery log and redelivering is for admins."""
    return viewer.is_admin


def webhook_may_carry(
    organization_id: int | None, subject: Mapping[str, Any]
) -> ColumnElement[bool]:
    """Whether a webhook endpoint (of `organization_id`, or of nobody) may be told about
    `subject` now: public data for every endpoint (a public webinar, a published item), and a
    support request for its own organisation's endpoints only."""
    if subject.get("supportRequest") is not None:
        if organization_id is None:
            return false()
        return exists().where(
            SupportRequest.id == int(subject["supportRequest"]),
            SupportRequest.organization_id == organization_id,
        )
    if subject.get("webinar") is not None:
        return exists().where(Webinar.id == int(subject["webinar"]), visible_webinars(ANONYMOUS))
    if subject.get("call") is not None:
        return exists().where(CallForPractices.id == int(subject["call"]), visible_calls(ANONYMOUS))
    if subject.get("item") is not None:
        model, visible = (
            (Resource, visible_resources)
            if subject.get("item_kind") == ReviewItemKind.RESOURCE.value
            else (Initiative, visible_initiatives)
        )
        return exists().where(model.id == int(subject["item"]), visible(ANONYMOUS))
    return false()
