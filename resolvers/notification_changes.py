"""What a notification says happened, read from its subject: the change, the status it moved
to, the note or reason given. One reading for every place that shows it (the API, emails)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WhatHappened:
    change: str | None = None
    status: str | None = None
    note: str | None = None

    def as_lines(self) -> dict[str, str]:
        """The facts that are there, labelled, in a stable order (for emails)."""
        facts = {"Change": self.change, "Status": self.status, "Note": self.note}
        return {label: value for label, value in facts.items() if value}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def what_happened(subject: Mapping[str, Any]) -> WhatHappened:
    """Support requests and webinars store their `change`, moderation its `action`; a reviewed
    item may be archived or sent back to review; a support request has a `status`, a reviewed
    item a `state`; a note (support) or a reason (moderators) may come with it."""
    change = subject.get("change") or subject.get("action")
    if subject.get("archived"):
        change = "ARCHIVED"
    elif subject.get("under_re_review"):
        change = "SENT_BACK_TO_REVIEW"
    return WhatHappened(
        change=_text(change),
        status=_text(subject.get("status") or subject.get("state")),
        note=_text(subject.get("note") or subject.get("reason")),
    )
