"""Failures as data: `Problem`s a mutation returns, and `ClientError` for bad request arguments."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.Enum):
    """Machine-readable reason of an expected failure; every domain adds what it needs."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    NOT_ALLOWED = "NOT_ALLOWED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 - an error code
    LOCKED = "LOCKED"
    CLOSED = "CLOSED"
    EDIT_CONFLICT = "EDIT_CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    # Curated knowledge: reviewed items and their relations.
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CONFLICT_OF_INTEREST = "CONFLICT_OF_INTEREST"
    SUPERSESSION_CYCLE = "SUPERSESSION_CYCLE"
    # webinars
    REGISTRATION_CLOSED = "REGISTRATION_CLOSED"
    SLOW_MODE = "SLOW_MODE"


# The values a message names, by their place-holder: `message_values(limit=300)`.
Values = tuple[tuple[str, str], ...]


def message_values(**named: object) -> Values:
    return tuple((name, str(value)) for name, value in sorted(named.items()))


def render(message: str, named: Values) -> str:
    """A message template with its values in place (`str.format` fields such as `{limit}`)."""
    return message.format(**dict(named)) if named else message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mutation's input; `field` names the input field, if any.

    `message` is the English text, and the message catalogues' id: a constant, with `{name}`
    place-holders for `values` where it names some (a limit, a state, what was sent), so that
    one catalogue entry translates it whatever the values (schema/messages.py)."""

    field: str | None
    message: str
    code: ErrorCode
    values: Values = ()

    @property
    def text(self) -> str:
        """The English text with its values."""
        return render(self.message, self.values)


class ProblemList(list[Problem]):
    """Collects every problem of an input, so a client can fix them all in one round."""

    def add(
        self,
        field: str | None,
        message: str,
        code: ErrorCode = ErrorCode.INVALID,
        values: Values = (),
    ) -> None:
        self.append(Problem(field=field, message=message, code=code, values=values))


class ClientError(Exception):
    """A request the client must change (bad argument, malformed cursor): a top-level error.

    Never masked: its message is written for the client. `code` lands in `extensions.code`.
    """

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.code = code


NOT_SIGNED_IN = Problem(None, "Sign in to do this.", ErrorCode.UNAUTHENTICATED)
