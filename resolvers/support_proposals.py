"""Experts proposed for a support request, and their answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from models.base import utcnow
from models.db import AnyRow
from models.member import Member
from models.support import ProposalStatus, SupportProposal, SupportRequest, SupportStatus
from resolvers.errors import ErrorCode, Problem, message_values
from resolvers.policy import Viewer
from resolvers.support import (
    Sessions,
    SupportChange,
    SupportResult,
    change_request,
    move_to,
    record_change,
    require_manager,
)
from resolvers.unit_of_work import Refused, UnitOfWork
from subscriptions.events import EventPublisher

# Experts are proposed and answer while the request is being matched or worked on.
PROPOSING_STATUSES = frozenset(
    {SupportStatus.TRIAGED, SupportStatus.MATCHED, SupportStatus.IN_PROGRESS}
)


async def proposals_by_request(sessions: Sessions, ids: Sequence[int]) -> list[list[AnyRow]]:
    """The experts proposed for each request, in the order they were proposed."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                SupportProposal.request_id,
                SupportProposal.expert_id,
                SupportProposal.status,
                SupportProposal.proposed_at,
                SupportProposal.decided_at,
            )
            .where(SupportProposal.request_id.in_(ids))
            .order_by(SupportProposal.proposed_at, SupportProposal.expert_id)
        )
        proposals: dict[int, list[AnyRow]] = defaultdict(list)
        for row in rows:
            proposals[row.request_id].append(row)
    return [proposals[i] for i in ids]


async def propose_expert(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, request_id: int, expert_id: int
) -> SupportResult:
    async def change(work: UnitOfWork, request: SupportRequest) -> None:
        require_manager(viewer, request)
        if request.status not in PROPOSING_STATUSES:
            raise Refused(
                Problem(
                    None,
                    "Experts are proposed once a request is triaged and until it ends; this one is {status}.",
                    ErrorCode.INVALID_TRANSITION,
                    values=message_values(status=request.status.value),
                )
            )
        expert = await work.session.scalar(
            select(Member).where(Member.id == expert_id, Member.is_expert.is_(True))
        )
        if expert is None:
            raise Refused(Problem("expertId", "No such expert.", ErrorCode.NOT_FOUND))
        proposal = await work.session.get(SupportProposal, (request.id, expert_id))
        if proposal is not None and proposal.status is not ProposalStatus.DECLINED:
            raise Refused(
                Problem("expertId", "This expert is already proposed.", ErrorCode.CONFLICT)
            )
        if proposal is None:
            proposal = SupportProposal(request_id=request.id, expert_id=expert_id)
            work.session.add(proposal)
        proposal.status, proposal.proposed_by_id = ProposalStatus.PROPOSED, viewer.member_id
        proposal.proposed_at, proposal.decided_at = utcnow(), None
        await record_change(
            work, viewer, request, SupportChange.EXPERT_PROPOSED, expert_id=expert_id
        )

    return await change_request(sessions, events, viewer, request_id, change)


async def _own_proposal(
    work: UnitOfWork, viewer: Viewer, request: SupportRequest
) -> SupportProposal:
    """The viewer's open proposal for the request (which still takes answers), or the refusal."""
    proposal = await work.session.get(SupportProposal, (request.id, viewer.member_id))
    if proposal is None:
        raise Refused(
            Problem(
                "requestId",
                "You were not proposed for this request.",
                ErrorCode.NOT_ALLOWED,
            )
        )
    if proposal.status is not ProposalStatus.PROPOSED:
        raise Refused(Problem(None, "You have answered already.", ErrorCode.INVALID_TRANSITION))
    if request.status not in PROPOSING_STATUSES:
        raise Refused(
            Problem(
                None,
                "This request is {status}.",
                ErrorCode.INVALID_TRANSITION,
                values=message_values(status=request.status.value),
            )
        )
    return proposal


async def respond_to_proposal(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, request_id: int, accept: bool
) -> SupportResult:
    """The proposed expert accepts (the first acceptance matches a triaged request) or declines
    (and no longer sees the request)."""

    async def change(work: UnitOfWork, request: SupportRequest) -> None:
        proposal = await _own_proposal(work, viewer, request)
        proposal.decided_at = utcnow()
        if accept:
            proposal.status = ProposalStatus.ACCEPTED
            await record_change(
                work, viewer, request, SupportChange.EXPERT_ACCEPTED, expert_id=viewer.member_id
            )
            if request.status is SupportStatus.TRIAGED:
                move_to(request, SupportStatus.MATCHED)
                await record_change(work, viewer, request, SupportChange.MATCHED)
        else:
            proposal.status = ProposalStatus.DECLINED
            await record_change(
                work, viewer, request, SupportChange.EXPERT_DECLINED, expert_id=viewer.member_id
            )

    return await change_request(sessions, events, viewer, request_id, change)
