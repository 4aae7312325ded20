"""The translation mutations: submit (members who declared the language), verify (reviewers
who speak it), remove (moderators). Decisions in `resolvers/policy/`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from models.translation import TranslatableKind
from resolvers import translations
from resolvers.policy import Viewer
from resolvers.translations import Sessions, TranslationInput, TranslationTarget
from resolvers.unit_of_work import Outcome
from schema.context import Info
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.relay import decode_id, int_key
from subscriptions.events import EventPublisher

# The global ID type names of the translatable kinds.
KIND_OF_TYPE = {
    "Resource": TranslatableKind.RESOURCE,
    "Initiative": TranslatableKind.INITIATIVE,
    "Webinar": TranslatableKind.WEBINAR,
    "Community": TranslatableKind.COMMUNITY,
    "CallForPractices": TranslatableKind.CALL,
}


def decode_item(global_id: str) -> tuple[TranslatableKind, int] | None:
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] not in KIND_OF_TYPE:
        return None
    key = int_key(decoded[1])
    return None if key is None else (KIND_OF_TYPE[decoded[0]], key)


@strawberry.input(description="One field's translated text.")
class TranslatedFieldInput:
    field: str = strawberry.field(
        description="The field, as named in the API (`title`, `summary`, `body`, `description`, "
        "`results`, `replicability`, `name`, `theme`: those the item has)."
    )
    text: str = strawberry.field(description="The text in the translation's language.")


@strawberry.input(description="A translation of an item's text fields into one language.")
class SubmitTranslationInput:
    item_id: strawberry.ID = strawberry.field(
        description="A resource, initiative, webinar, community or call for practices."
    )
    language: str = strawberry.field(
        description="BCP 47 tag; one you declared on your profile, not the original's."
    )
    texts: list[TranslatedFieldInput] = strawberry.field(
        description="The fields translated; those left out keep any earlier translation."
    )
    machine: bool = strawberry.field(
        default=False, description="Made by a tool (MACHINE), not by you (HUMAN)."
    )


@strawberry.input(description="Which translation: an item and a language.")
class TranslationTargetInput:
    item_id: strawberry.ID = strawberry.field(description="The translated item.")
    language: str = strawberry.field(description="The translation's language (BCP 47).")


@strawberry.type(description="Result of a translation mutation.")
class TranslationPayload:
    item_id: strawberry.ID | None = strawberry.field(description="The item; null on errors.")
    language: str | None = strawberry.field(
        description="The translation's language, standardised (`fr-ca` → `fr-CA`)."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _payload(item_id: strawberry.ID, done: Outcome[str]) -> TranslationPayload:
    if done.value is None:
        return TranslationPayload(item_id=None, language=None, errors=user_errors(done.problems))
    return TranslationPayload(item_id=item_id, language=done.value, errors=[])


def _missing() -> TranslationPayload:
    return TranslationPayload(
        item_id=None, language=None, errors=not_found("itemId", "No such item.")
    )


async def submit_translation(
    info: Info, input: Annotated[SubmitTranslationInput, INPUT]
) -> TranslationPayload:
    item = decode_item(input.item_id)
    if item is None:
        return _missing()
    data = TranslationInput(
        kind=item[0],
        item_id=item[1],
        language=input.language,
        texts={t.field: t.text for t in input.texts},
        machine=input.machine,
    )
    c = info.context
    done = await translations.submit_translation(c.db.sessions, c.events, c.viewer, data)
    return _payload(input.item_id, done)


TargetAction = Callable[
    [Sessions, EventPublisher, Viewer, TranslationTarget], Awaitable[Outcome[str]]
]


async def _on_target(
    info: Info, input: TranslationTargetInput, action: TargetAction
) -> TranslationPayload:
    item = decode_item(input.item_id)
    if item is None:
        return _missing()
    target = TranslationTarget(kind=item[0], item_id=item[1], language=input.language)
    c = info.context
    return _payload(input.item_id, await action(c.db.sessions, c.events, c.viewer, target))


async def verify_translation(
    info: Info, input: Annotated[TranslationTargetInput, INPUT]
) -> TranslationPayload:
    return await _on_target(info, input, translations.verify_translation)


async def remove_translation(
    info: Info, input: Annotated[TranslationTargetInput, INPUT]
) -> TranslationPayload:
    return await _on_target(info, input, translations.remove_translation)
