"""Peer review's rules, as data and pure functions: which kinds are reviewed (and their
tables), who moves an item from which state to which, and the publishing rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.initiative import Initiative
from models.resource import Resource
from models.review import ReviewDecision, ReviewedItem, ReviewItemKind, ReviewState
from resolvers.errors import ErrorCode, Problem, message_values
from resolvers.initiatives import INITIATIVE_COLUMNS
from resolvers.resources import RESOURCE_COLUMNS
from resolvers.unit_of_work import Refused

S = ReviewState

# Each reviewed kind, its table (they share the `ReviewedItem` lifecycle columns) and the
# columns its rows are read with.
MODELS: Mapping[ReviewItemKind, Any] = {
    ReviewItemKind.RESOURCE: Resource,
    ReviewItemKind.INITIATIVE: Initiative,
}
COLUMNS: Mapping[ReviewItemKind, Sequence[Any]] = {
    ReviewItemKind.RESOURCE: RESOURCE_COLUMNS,
    ReviewItemKind.INITIATIVE: INITIATIVE_COLUMNS,
}

PENDING = (S.SUBMITTED, S.IN_REVIEW)
# Who moves an item from which state to which: anything else is INVALID_TRANSITION.
AUTHOR_MOVES = frozenset(
    {
        (S.DRAFT, S.SUBMITTED),
        (S.CHANGES_REQUESTED, S.SUBMITTED),
        (S.DRAFT, S.WITHDRAWN),
        (S.SUBMITTED, S.WITHDRAWN),
        (S.IN_REVIEW, S.WITHDRAWN),
        (S.CHANGES_REQUESTED, S.WITHDRAWN),
    }
)
DECISION_MOVES = frozenset(
    {
        (S.SUBMITTED, S.IN_REVIEW),
        (S.IN_REVIEW, S.CHANGES_REQUESTED),
        (S.IN_REVIEW, S.APPROVED),
        (S.IN_REVIEW, S.REJECTED),
    }
)
# A published item sent back to review stays APPROVED (visible) until the new decision.
RE_REVIEW_MOVES = frozenset(
    {(S.APPROVED, S.APPROVED), (S.APPROVED, S.CHANGES_REQUESTED), (S.APPROVED, S.REJECTED)}
)
ARCHIVE_MOVES = frozenset({(S.APPROVED, S.ARCHIVED), (S.REJECTED, S.ARCHIVED)})
OUTCOME_OF = {
    ReviewDecision.APPROVE: S.APPROVED,
    ReviewDecision.REQUEST_CHANGES: S.CHANGES_REQUESTED,
    ReviewDecision.REJECT: S.REJECTED,
}


@dataclass(frozen=True)
class ReviewRule:
    """The publishing rule (from the settings): how many approvals publish an item, how many
    of them from reviewers of UN_SYSTEM organisations, and how long until it is due a
    re-review."""

    min_approvals: int = 2
    min_un_system_approvals: int = 1
    review_by_months: int = 24


@dataclass(frozen=True)
class Tally:
    """The decisions of one review round."""

    approvals: int = 0
    un_system_approvals: int = 0
    rejections: int = 0
    changes_requested: int = 0
    pending_reviewers: int = 0


def outcome(tally: Tally, rule: ReviewRule) -> tuple[ReviewState | None, bool]:
    """The state a round's decisions lead to (None: wait for more) and whether one more
    reviewer is needed.

    Any request for changes sends the item back to its author. Without rejections, the item is
    published once the approvals meet the rule. Approvals and rejections together escalate: an
    additional reviewer is required, and the round is settled only by a strict majority among
    more reviewers than the rule needs (a majority of approvals must still meet the rule).
    Rejections alone reject once every assigned reviewer has decided.
    """
    if tally.changes_requested:
        return S.CHANGES_REQUESTED, False
    rule_met = (
        tally.approvals >= rule.min_approvals
        and tally.un_system_approvals >= rule.min_un_system_approvals
    )
    if tally.rejections and tally.approvals:
        settled = tally.approvals + tally.rejections > rule.min_approvals
        if settled and tally.rejections > tally.approvals:
            return S.REJECTED, False
        if settled and tally.approvals > tally.rejections and rule_met:
            return S.APPROVED, False
        return None, True
    if tally.rejections:
        return (S.REJECTED, False) if tally.pending_reviewers == 0 else (None, False)
    return (S.APPROVED, False) if rule_met else (None, False)


def transition_problem(current: ReviewState, wanted: ReviewState) -> Problem:
    return Problem(
        None,
        "Cannot move from {current} to {wanted}.",
        ErrorCode.INVALID_TRANSITION,
        values=message_values(current=current.value, wanted=wanted.value),
    )


def move(item: ReviewedItem, wanted: ReviewState, allowed: frozenset[tuple[S, S]]) -> None:
    if (item.state, wanted) not in allowed:
        raise Refused(transition_problem(item.state, wanted))
    item.state = wanted


def decision_moves(item: ReviewedItem) -> frozenset[tuple[S, S]]:
    return DECISION_MOVES | (RE_REVIEW_MOVES if item.under_re_review else frozenset())


def is_under_review(item: ReviewedItem) -> bool:
    return item.state in PENDING or (item.state is S.APPROVED and item.under_re_review)
