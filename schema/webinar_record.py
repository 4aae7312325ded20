"""A webinar's lasting record in GraphQL: file it as a resource draft, link published resources
(`Webinar.record` and `Webinar.resources` are on the Webinar type, schema/webinars.py)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from models.resource import SourceType as SourceTypeModel
from resolvers import webinar_record
from schema.context import Info
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.reference import UnRegion
from schema.relay import decode_int_id
from schema.resources import Resource, SourceType, load_resource, resource_key
from schema.webinars import Webinar, load_webinar


@strawberry.input(
    description="File an ENDED webinar with a recording into the knowledge base as a "
    "MULTIMEDIA resource DRAFT: its link is the recording, its languages, GCM objectives and "
    "date come from the webinar, its publisher from your organisation, and its body is the "
    "description with the answered questions (anonymous askers stay unnamed; dismissed "
    "questions are left out). Everything else here is optional."
)
class FileWebinarRecordInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")
    title: str | None = strawberry.field(
        default=None, description="Title (default: the webinar's title, “(recording)”)."
    )
    summary: str | None = strawberry.field(
        default=None, description="Short summary (default: when it was held, with its Q&A)."
    )
    language: str | None = strawberry.field(
        default=None,
        description="Main language, BCP 47 (default: the webinar's first spoken language; the "
        "others become the resource's other languages).",
    )
    source_type: SourceType = strawberry.field(  # type: ignore[valid-type]
        default=SourceTypeModel.OTHER, description="Provenance (default OTHER)."
    )
    countries: list[str] = strawberry.field(
        default_factory=list,
        description="Countries it covers (ISO 3166-1 alpha-2); with no countries or regions "
        "it is global.",
    )
    regions: list[UnRegion] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list, description="UN regions it covers."
    )
    themes: list[str] = strawberry.field(
        default_factory=list, description="Cross-cutting themes (up to 10)."
    )


@strawberry.type(description="Result of filing a webinar's record.")
class FileWebinarRecordPayload:
    resource: Resource | None = strawberry.field(
        description="The record: a new DRAFT of yours (send it to review with "
        "`submitForReview`), or the one filed before."
    )
    already_filed: bool = strawberry.field(
        description="True when the webinar had been filed before: nothing new was made."
    )
    webinar: Webinar | None = strawberry.field(description="The webinar.")
    errors: list[UserError] = strawberry.field(description="Why nothing was filed, if so.")


async def file_webinar_record(
    info: Info, input: Annotated[FileWebinarRecordInput, INPUT]
) -> FileWebinarRecordPayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return FileWebinarRecordPayload(
            resource=None,
            already_filed=False,
            webinar=None,
            errors=not_found("webinarId", "No such webinar."),
        )
    result = await webinar_record.file_record(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        webinar_record.RecordDetails(
            title=input.title,
            summary=input.summary,
            language=input.language,
            source_type=input.source_type,
            countries=input.countries,
            regions=input.regions,
            themes=input.themes,
        ),
    )
    return FileWebinarRecordPayload(
        resource=Resource.from_row(result.resource) if result.resource is not None else None,
        already_filed=result.already_filed,
        webinar=Webinar.from_row(result.webinar) if result.webinar is not None else None,
        errors=user_errors(result.problems),
    )


@strawberry.input(description="Link a published resource to a webinar, or unlink it.")
class WebinarResourceInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")
    resource_id: strawberry.ID = strawberry.field(description="Global ID of the resource.")


@strawberry.type(description="Result of linking or unlinking a webinar's resource.")
class WebinarResourcePayload:
    webinar: Webinar | None = strawberry.field(
        description="The webinar after the change (see its `resources`)."
    )
    resource: Resource | None = strawberry.field(description="The resource.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def _link_payload(info: Info, result: webinar_record.LinkResult) -> WebinarResourcePayload:
    webinar = await load_webinar(info, result.webinar_id) if result.webinar_id else None
    resource = await load_resource(info, result.resource_id) if result.resource_id else None
    return WebinarResourcePayload(
        webinar=webinar, resource=resource, errors=user_errors(result.problems)
    )


def _keys(input: WebinarResourceInput) -> tuple[int, int] | list[UserError]:
    webinar = decode_int_id(input.webinar_id, "Webinar")
    if webinar is None:
        return not_found("webinarId", "No such webinar.")
    resource = resource_key(input.resource_id)
    if resource is None:
        return not_found("resourceId", "No such resource.")
    return webinar, resource


async def link_webinar_resource(
    info: Info, input: Annotated[WebinarResourceInput, INPUT]
) -> WebinarResourcePayload:
    keys = _keys(input)
    if isinstance(keys, list):
        return WebinarResourcePayload(webinar=None, resource=None, errors=keys)
    result = await webinar_record.link_resource(
        info.context.db.sessions, info.context.events, info.context.viewer, *keys
    )
    return await _link_payload(info, result)


async def unlink_webinar_resource(
    info: Info, input: Annotated[WebinarResourceInput, INPUT]
) -> WebinarResourcePayload:
    keys = _keys(input)
    if isinstance(keys, list):
        return WebinarResourcePayload(webinar=None, resource=None, errors=keys)
    result = await webinar_record.unlink_resource(
        info.context.db.sessions, info.context.events, info.context.viewer, *keys
    )
    return await _link_payload(info, result)
