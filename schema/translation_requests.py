"""Translation requests in GraphQL: `requestTranslation` (signed-in members) and
`translationRequests(language:)` (the open requests of items the viewer sees, most asked
first). Decisions in `resolvers/policy/`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.translation import TranslatableKind
from resolvers import translation_requests
from resolvers.translation_requests import RequestInput
from schema.communities import Community, load_community
from schema.context import Info
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.initiatives import CallForPractices, Initiative, load_call, load_initiative
from schema.relay import AFTER, FIRST, Connection, connection, page_request
from schema.resources import Resource, load_resource
from schema.translation_actions import decode_item
from schema.webinars import Webinar, load_webinar

Translatable = Resource | Initiative | Webinar | Community | CallForPractices
TranslatableItem = Annotated[
    Translatable,
    strawberry.union("TranslatableItem", description="Anything whose text can be translated."),
]
# How to load an item of each kind: the loaders apply the same policy as every other read.
ITEM_LOADERS: dict[TranslatableKind, Callable[[Info, int], Awaitable[Translatable | None]]] = {
    TranslatableKind.RESOURCE: load_resource,
    TranslatableKind.INITIATIVE: load_initiative,
    TranslatableKind.WEBINAR: load_webinar,
    TranslatableKind.COMMUNITY: load_community,
    TranslatableKind.CALL: load_call,
}


@strawberry.type(
    description="Members asked to have an item in a language: one per item and language, open "
    "until a translation into that language is submitted."
)
class TranslationRequest:
    language: str = strawberry.field(description="The language asked for (BCP 47).")
    requester_count: int = strawberry.field(description="How many members asked.")
    requested_by_me: bool = strawberry.field(description="Whether you are one of them.")
    requested_at: datetime = strawberry.field(
        description="When it was opened (again, if a translation answered it before; UTC)."
    )
    kind: strawberry.Private[TranslatableKind]
    item_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> TranslationRequest:
        return cls(
            language=row.language,
            requester_count=row.requester_count,
            requested_by_me=bool(row.requested_by_me),
            requested_at=row.requested_at,
            kind=row.kind,
            item_id=row.item_id,
        )

    @strawberry.field(description="The item to translate (null if you may no longer see it).")
    async def item(self, info: Info) -> TranslatableItem | None:
        return await ITEM_LOADERS[self.kind](info, self.item_id)


@strawberry.input(description="Ask to have an item in a language.")
class RequestTranslationInput:
    id: strawberry.ID = strawberry.field(
        description="A resource, initiative, webinar, community or call for practices you see."
    )
    language: str = strawberry.field(
        description="The language wanted (BCP 47), not the original's."
    )


@strawberry.type(description="Result of requestTranslation.")
class RequestTranslationPayload:
    request: TranslationRequest | None = strawberry.field(
        description="The open request, counting you; null on errors."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def request_translation(
    info: Info, input: Annotated[RequestTranslationInput, INPUT]
) -> RequestTranslationPayload:
    item = decode_item(input.id)
    if item is None:
        return RequestTranslationPayload(request=None, errors=not_found("id", "No such item."))
    c = info.context
    done = await translation_requests.request_translation(
        c.db.sessions, c.events, c.viewer, RequestInput(item[0], item[1], input.language)
    )
    if done.value is None:
        return RequestTranslationPayload(request=None, errors=user_errors(done.problems))
    return RequestTranslationPayload(request=TranslationRequest.from_row(done.value), errors=[])


async def resolve_translation_requests(
    info: Info,
    language: Annotated[
        str | None,
        strawberry.argument(
            description="Only requests for this language (`es` and `es-MX` are one); "
            "left out: every language."
        ),
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Connection[TranslationRequest]:
    page = await translation_requests.requests_page(
        info.context.db.sessions,
        info.context.viewer,
        language,
        page_request(first, after, None, None),
    )
    return connection(page, TranslationRequest.from_row)
