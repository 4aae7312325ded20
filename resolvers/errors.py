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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mutation's input; `field` names the input field, if any."""

    field: str | None
    message: str
    code: ErrorCode


class ProblemList(list[Problem]):
    """Collects every problem of an input, so a client can fix them all in one round."""

    def add(self, field: str | None, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        self.append(Problem(field=field, message=message, code=code))


class ClientError(Exception):
    """A request the client must change (bad argument, malformed cursor): a top-level error.

    Never masked: its message is written for the client. `code` lands in `extensions.code`.
    """

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.code = code


NOT_SIGNED_IN = Problem(None, "Sign in to do this.", ErrorCode.UNAUTHENTICATED)
