"""Expert matching for a support request: opted-in experts ranked by what they share with it.

A point scale that a focal point can read back from the explanation:
- 3 per GCM objective of the request in the expert's expertise;
- 2 per language of the request the expert works in;
- 3 when the expert is based in one of the request's countries, else 1 when in their region;
- 2 when the expert helped complete an earlier request for a country of that region;
- 1 per earlier completed request the expert helped with (at most 3).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.member import Member, MemberExpertise, MemberLanguage
from models.reference import UnRegion, countries_in_region, region_of_country
from models.support import (
    ProposalStatus,
    SupportProposal,
    SupportRequest,
    SupportRequestCountry,
    SupportStatus,
)
from resolvers import policy
from resolvers.policy import Viewer
from resolvers.support import (
    countries_by_request,
    languages_by_request,
    objectives_by_request,
    support_requests_by_ids,
)

Sessions = async_sessionmaker[AsyncSession]

MAX_SUGGESTIONS = 50


@dataclass(frozen=True)
class ExpertMatch:
    member_id: int
    score: int
    explanation: str
    objectives: list[int]
    languages: list[str]


@dataclass(frozen=True)
class _Need:
    """What a request asks for, as sets to intersect."""

    request_id: int
    excluded_members: frozenset[int]
    objectives: frozenset[int]
    countries: frozenset[str]
    regions: frozenset[UnRegion]
    languages: frozenset[str]  # primary subtags: an expert in es-MX speaks es


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


async def _past_work(
    session: AsyncSession, member_ids: Sequence[int], request_id: int
) -> dict[int, list[list[str]]]:
    """For each expert, the countries of each earlier completed request they accepted."""
    rows = await session.execute(
        select(SupportProposal.expert_id, SupportRequest.id, SupportRequestCountry.country)
        .join(SupportRequest, SupportRequest.id == SupportProposal.request_id)
        .outerjoin(SupportRequestCountry, SupportRequestCountry.request_id == SupportRequest.id)
        .where(
            SupportProposal.expert_id.in_(member_ids),
            SupportProposal.status == ProposalStatus.ACCEPTED,
            SupportRequest.status == SupportStatus.COMPLETED,
            SupportRequest.id != request_id,
        )
    )
    countries: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for expert_id, past_request_id, country in rows:
        countries[expert_id][past_request_id].extend([country] if country else [])
    return {expert: list(by_request.values()) for expert, by_request in countries.items()}


async def _candidates(session: AsyncSession, need: _Need) -> list[int]:
    """Opted-in experts who share at least something with the request (one query)."""
    regional = sorted({c for r in need.regions for c in countries_in_region(r)})
    shares = [
        Member.id.in_(
            select(MemberExpertise.member_id).where(
                MemberExpertise.objective_number.in_(need.objectives)
            )
        ),
        Member.country.in_(regional),
        Member.id.in_(
            select(SupportProposal.expert_id)
            .join(SupportRequest, SupportRequest.id == SupportProposal.request_id)
            .where(
                SupportProposal.status == ProposalStatus.ACCEPTED,
                SupportRequest.status == SupportStatus.COMPLETED,
            )
        ),
    ]
    for language in need.languages:
        shares.append(
            Member.id.in_(
                select(MemberLanguage.member_id).where(
                    or_(
                        MemberLanguage.tag == language,
                        MemberLanguage.tag.startswith(language + "-"),
                    )
                )
            )
        )
    rows = await session.execute(
        select(Member.id).where(
            Member.is_expert.is_(True),
            Member.id.not_in(need.excluded_members) if need.excluded_members else Member.id > 0,
            or_(*shares),
        )
    )
    return list(rows.scalars())


def _score(
    need: _Need,
    member_id: int,
    country: str | None,
    expertise: set[int],
    languages: list[str],
    past: list[list[str]],
) -> ExpertMatch | None:
    objectives = sorted(expertise & need.objectives)
    spoken = sorted({_primary(t) for t in languages} & need.languages)
    score = 3 * len(objectives) + 2 * len(spoken)
    reasons = []
    if objectives:
        label = "objective" if len(objectives) == 1 else "objectives"
        reasons.append(f"{label} {', '.join(map(str, objectives))}")
    if spoken:
        reasons.append(f"speaks {', '.join(spoken)}")
    if country is not None and country in need.countries:
        score += 3
        reasons.append(f"based in {country}")
    elif country is not None and region_of_country(country) in need.regions:
        score += 1
        reasons.append("based in the region")
    if any(region_of_country(c) in need.regions for countries in past for c in countries):
        score += 2
        reasons.append("worked in the region")
    if past:
        score += min(len(past), 3)
        plural = "request" if len(past) == 1 else "requests"
        reasons.append(f"{len(past)} completed {plural}")
    if score == 0:
        return None
    return ExpertMatch(member_id, score, "; ".join(reasons), objectives, spoken)


async def suggested_experts(
    sessions: Sessions, viewer: Viewer, request_id: int, limit: int
) -> list[ExpertMatch] | None:
    """The best `limit` matches, best first (ties by name); None when the viewer may not see
    the request or may not see suggestions."""
    if not policy.may_see_expert_suggestions(viewer):
        return None
    row = (await support_requests_by_ids(sessions, viewer, [request_id]))[0]
    if row is None:
        return None
    countries = (await countries_by_request(sessions, [request_id]))[0]
    async with sessions() as session:
        colleagues = await session.scalars(
            select(Member.id).where(Member.organization_id == row.organization_id)
        )
        need = _Need(
            request_id=request_id,
            # The government asking does not advise itself.
            excluded_members=frozenset(colleagues) | {row.requester_id or 0},
            objectives=frozenset((await objectives_by_request(sessions, [request_id]))[0]),
            countries=frozenset(countries),
            regions=frozenset(r for c in countries if (r := region_of_country(c)) is not None),
            languages=frozenset(
                _primary(t) for t in (await languages_by_request(sessions, [request_id]))[0]
            ),
        )
        candidates = await _candidates(session, need)
        members = (
            await session.execute(
                select(Member.id, Member.name, Member.country).where(Member.id.in_(candidates))
            )
        ).all()
        expertise: dict[int, set[int]] = defaultdict(set)
        for member_id, number in await session.execute(
            select(MemberExpertise.member_id, MemberExpertise.objective_number).where(
                MemberExpertise.member_id.in_(candidates)
            )
        ):
            expertise[member_id].add(number)
        languages: dict[int, list[str]] = defaultdict(list)
        for member_id, tag in await session.execute(
            select(MemberLanguage.member_id, MemberLanguage.tag).where(
                MemberLanguage.member_id.in_(candidates)
            )
        ):
            languages[member_id].append(tag)
        past = await _past_work(session, candidates, request_id)
    matches = []
    for member in members:
        match = _score(
            need,
            member.id,
            member.country,
            expertise[member.id],
            languages[member.id],
            past.get(member.id, []),
        )
        if match is not None:
            matches.append((match, member.name))
    matches.sort(key=lambda m: (-m[0].score, m[1], m[0].member_id))
    return [m for m, _ in matches[:limit]]
