"""Mutation conventions: one `input` argument, and expected failures as data (`UserError`)."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry

from resolvers.errors import ErrorCode, Problem, Values, render
from schema.context import Info
from schema.enums import described_enum
from schema.messages import translate

UserErrorCode = described_enum(
    ErrorCode,
    "Why a mutation refused its input; stable, for programs to branch on.",
    {
        "INVALID": "A value is malformed or out of range.",
        "REQUIRED": "A required value is missing or empty.",
        "TOO_LONG": "A value or list is longer than allowed.",
        "NOT_FOUND": "The object does not exist, or you may not see it (the two look the same).",
        "NOT_ALLOWED": "You may not do this.",
        "UNAUTHENTICATED": "Sign in first (send `Authorization: Bearer <token>`).",
        "CONFLICT": "The change conflicts with the current state (for example a duplicate name).",
        "RATE_LIMITED": "Too many attempts: wait and try again.",
        "INVALID_CREDENTIALS": "Email or password is incorrect (never says which).",
        "WEAK_PASSWORD": "The new password is too short.",
        "LOCKED": "The thread is locked: only moderators post in it.",
        "CLOSED": "The community's consultation has ended: posting is closed.",
        "EDIT_CONFLICT": "Someone edited first: reload, then edit the current version.",
        "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used before with other input (another "
        "target or content): a retry sends exactly what the first request sent; new content "
        "takes a new key.",
        "INVALID_TRANSITION": "Not possible in the current state of the item, webinar, question "
        "or support request (the message names the state it is in and, where there is one, the "
        "step asked for).",
        "CONFLICT_OF_INTEREST": "The reviewer has a conflict of interest with this item (its "
        "author, of the author's organisation, or declared).",
        "SUPERSESSION_CYCLE": "The relation would make items supersede each other in a cycle.",
        "REGISTRATION_CLOSED": "Registration is closed (deadline passed, ended or cancelled).",
        "SLOW_MODE": "Slow mode is on: wait before sending another chat message.",
    },
    name="UserErrorCode",
)


@strawberry.type(description="Why a mutation did not do what was asked; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase, as sent); null when it is the whole input."
    )
    code: UserErrorCode = strawberry.field(description="What is wrong, for programs.")  # type: ignore[valid-type]
    # The English text (the catalogues' message id), with `{name}` place-holders for `values`.
    message: strawberry.Private[str]
    values: strawberry.Private[Values] = ()

    @strawberry.field(
        name="message",
        description="What is wrong, for people: in the request's language where the message "
        "catalogues have it (English, French, Spanish so far), else in English.",
    )
    async def localized_message(self, info: Info) -> str:
        translated = translate(self.message, await info.context.languages())
        try:
            return render(translated, self.values)
        except (KeyError, IndexError, ValueError):  # a translation that lost a place-holder
            return render(self.message, self.values)


INPUT = strawberry.argument(description="Everything the mutation needs, in one object.")


def user_errors(problems: Iterable[Problem]) -> list[UserError]:
    return [
        UserError(field=p.field, message=p.message, code=p.code, values=p.values) for p in problems
    ]


def not_found(field: str, message: str) -> list[UserError]:
    """A NOT_FOUND refusal; `message` is a constant text ("No such webinar."), one per kind of
    thing, so that the catalogues have it (a noun put into one shared template could not agree
    in gender or case in French or Spanish)."""
    return [UserError(field=field, message=message, code=ErrorCode.NOT_FOUND)]
