"""Demo data and account creation for the command line (`hub seed --demo`, `hub create-member`)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from models.base import utcnow
from models.community import (
    Community,
    CommunityMember,
    CommunityObjective,
    CommunityRole,
    CommunityVisibility,
)
from models.db import create_database
from models.initiative import (
    CallForPractices,
    CallObjective,
    Initiative,
    InitiativeCountry,
    InitiativeObjective,
    InitiativeStatus,
)
from models.member import Member, MemberExpertise, MemberLanguage, Role
from models.organization import Organization, OrganizationKind
from models.resource import (
    RelationKind,
    RelationStatus,
    Resource,
    ResourceCountry,
    ResourceKind,
    ResourceObjective,
    ResourceRelation,
    SourceType,
)
from models.review import ReviewAssignment, ReviewItemKind, ReviewState
from models.thread import Post, Reaction, ReactionKind, Thread
from models.webinar import (
    QuestionStatus,
    RegistrationStatus,
    Webinar,
    WebinarChatMessage,
    WebinarHost,
    WebinarHostRole,
    WebinarLanguage,
    WebinarObjective,
    WebinarQuestion,
    WebinarRegistration,
    WebinarStatus,
    WebinarVisibility,
)
from resolvers import search_index
from resolvers.auth import check_new_password, hash_password
from resolvers.errors import ProblemList
from resolvers.search_sources import MEMBERS
from resolvers.validation import clean_email, clean_text

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the person exploring the demo
DEMO_ORGANIZATIONS: tuple[tuple[str, OrganizationKind, str | None], ...] = (
    ("Ministry of Labour and Social Protection (Kenya)", OrganizationKind.GOVERNMENT, "KE"),
    ("Secretaría de Relaciones Exteriores (México)", OrganizationKind.GOVERNMENT, "MX"),
    ("Department of Migrant Workers (Philippines)", OrganizationKind.GOVERNMENT, "PH"),
    ("Federal Office for Migration and Refugees (Germany)", OrganizationKind.GOVERNMENT, "DE"),
    ("Ministère des Marocains Résidant à l'Étranger (Maroc)", OrganizationKind.GOVERNMENT, "MA"),
    ("UN Network on Migration Secretariat", OrganizationKind.UN_SYSTEM, None),
    ("UN Regional Commission — Migration Data Unit", OrganizationKind.UN_SYSTEM, None),
    ("UN Agency for Labour Standards — Labour Migration Branch", OrganizationKind.UN_SYSTEM, None),
    ("Migrant Forum in Asia (demo)", OrganizationKind.CIVIL_SOCIETY, "PH"),
    ("Diaspora Development Network (demo)", OrganizationKind.CIVIL_SOCIETY, "SN"),
    ("Centre for Migration Studies, University of Nairobi (demo)", OrganizationKind.ACADEMIA, "KE"),
    ("Instituto de Investigaciones sobre Movilidad Humana (demo)", OrganizationKind.ACADEMIA, "CO"),
    ("Fair Recruitment Business Alliance (demo)", OrganizationKind.PRIVATE_SECTOR, None),
    ("Remittance Providers Association (demo)", OrganizationKind.PRIVATE_SECTOR, "GB"),
    ("Independent migration consultants (demo)", OrganizationKind.OTHER, None),
)
FIRST_NAMES = (
    "Amina",
    "Carlos",
    "Mei",
    "Olga",
    "Youssef",
    "Grace",
    "Rahul",
    "Fatou",
    "Lucía",
    "Dmitri",
    "Nadia",
    "Kwame",
    "Sofia",
    "Hiroshi",
    "Leila",
    "Mateo",
    "Zainab",
    "Pierre",
    "Ana",
    "Tomás",
)
LAST_NAMES = (
    "Odhiambo",
    "Hernández",
    "Wang",
    "Ivanova",
    "El Amrani",
    "Mensah",
    "Sharma",
    "Diop",
    "Fernández",
    "Petrov",
    "Haddad",
    "Asante",
    "Rossi",
    "Tanaka",
    "Karimi",
    "Silva",
)
LANGUAGES_BY_COUNTRY = {
    "KE": ["en", "sw"],
    "MX": ["es"],
    "PH": ["en", "fil"],
    "DE": ["de", "en"],
    "MA": ["ar", "fr"],
    "SN": ["fr", "wo"],
    "CO": ["es"],
    "GB": ["en"],
    "CH": ["fr", "en"],
    "JO": ["ar", "en"],
    "RU": ["ru"],
    "CN": ["zh"],
}
DEMO_MEMBERS = 60
DEMO_RESOURCES = 150
DEMO_INITIATIVES = 20


class MemberCreationError(Exception):
    pass


@dataclass(frozen=True)
class DemoSummary:
    organizations: int
    members: int
    created: bool

    def __str__(self) -> str:
        if not self.created:
            return "demo data already present: nothing added"
        return (
            f"added {self.organizations} organisations, {self.members} members and "
            f"{len(DEMO_COMMUNITIES)} communities with threads, {DEMO_RESOURCES} resources and "
            f"{DEMO_INITIATIVES} initiatives (mostly published, some in review), 2 webinars (one "
            "live); sign in as "
            f"admin@demo.hub, moderator@demo.hub, reviewer@demo.hub or member1@demo.hub "
            f"with password {DEMO_PASSWORD!r}"
        )


async def seed_demo(settings: Settings, members: int = DEMO_MEMBERS) -> DemoSummary:
    """Organisations of every kind and members with expertise; deterministic, added once."""
    db = create_database(settings.database_url)
    rng = random.Random(2018)  # noqa: S311 - demo data: the year the GCM was adopted
    password_hash = await hash_password(DEMO_PASSWORD)
    try:
        async with db.sessions.begin() as session:
            if await session.scalar(select(func.count()).select_from(Organization)):
                return DemoSummary(0, 0, created=False)
            organizations = [
                Organization(name=n, kind=k, country=c) for n, k, c in DEMO_ORGANIZATIONS
            ]
            session.add_all(organizations)
            await session.flush()
            for index in range(members):
                member, objectives = _demo_member(rng, index, organizations, password_hash)
                session.add(member)
                await session.flush()
                session.add_all(
                    MemberExpertise(member_id=member.id, objective_number=n) for n in objectives
                )
                session.add_all(
                    MemberLanguage(member_id=member.id, tag=t, position=i)
                    for i, t in enumerate(LANGUAGES_BY_COUNTRY.get(member.country or "", ["en"]))
                )
            await _demo_discussions(session, rng)
            await seed_knowledge(session, rng, DEMO_RESOURCES, DEMO_INITIATIVES)
            await _demo_webinars(session)
            await search_index.rebuild(session)
        return DemoSummary(len(organizations), members, created=True)
    finally:
        await db.dispose()


def _demo_member(
    rng: random.Random, index: int, organizations: list[Organization], password_hash: str
) -> tuple[Member, list[int]]:
    role, email = {
        0: (Role.ADMIN, "admin@demo.hub"),
        1: (Role.MODERATOR, "moderator@demo.hub"),
        2: (Role.REVIEWER, "reviewer@demo.hub"),
    }.get(index, (Role.REVIEWER if index % 9 == 0 else Role.MEMBER, f"member{index - 2}@demo.hub"))
    organization = organizations[index % len(organizations)]
    country = organization.country or rng.choice(sorted(LANGUAGES_BY_COUNTRY))
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    objectives = sorted(rng.sample(range(1, 24), rng.randint(1, 4)))
    member = Member(
        name=name,
        email=email,
        password_hash=password_hash,
        organization_id=organization.id,
        country=country,
        bio=f"Works on GCM objectives {', '.join(map(str, objectives))} at {organization.name}.",
        is_expert=index % 3 != 1,
        role=role,
    )
    return member, objectives


@dataclass(frozen=True)
class DemoCommunity:
    slug: str
    name: str
    visibility: CommunityVisibility
    objectives: tuple[int, ...]
    threads: tuple[str, ...]  # on its topic: three of them are opened, drawn at random
    replies: tuple[str, ...]


DEMO_COMMUNITIES = (
    DemoCommunity(
        "fair-recruitment",
        "Fair recruitment and decent work",
        CommunityVisibility.PUBLIC,
        (6, 22),
        (
            "Recruitment fees: who pays, and how do we end them?",
            "Bilateral labour agreements that worked",
            "Ethical recruitment in the care sector",
            "Portability of social security benefits",
        ),
        (
            "In our experience the **employer pays** principle needs enforcement at both ends.",
            "See objective 6 of the GCM: *safeguard conditions that ensure decent work*.",
            "Could someone share the template agreement mentioned above?",
        ),
    ),
    DemoCommunity(
        "migration-data",
        "Migration data and evidence",
        CommunityVisibility.PUBLIC,
        (1, 3),
        (
            "Disaggregating migration data by sex and age",
            "Sharing administrative data across ministries",
            "Measuring recruitment costs for SDG indicator 10.7.1",
            "Counting irregular migration without putting people at risk",
        ),
        (
            "Our statistics office links census and border data; the metadata was the hard part.",
            "See objective 1 of the GCM: *collect and utilize accurate and disaggregated data*.",
            "Could someone share the data-sharing agreement mentioned above?",
        ),
    ),
    DemoCommunity(
        "return-reintegration",
        "Return and reintegration (closed group)",
        CommunityVisibility.PRIVATE,
        (21,),
        (
            "Reintegration support that lasts beyond the first months",
            "Recognising skills gained abroad on return",
            "Referral pathways for returnees in vulnerable situations",
            "Community-based reintegration: what worked?",
        ),
        (
            "Our ministry piloted this with three origin countries. Results were mixed.",
            "See objective 21 of the GCM: *dignified return and sustainable reintegration*.",
            "We published guidance on this last year; happy to share the lessons learned.",
        ),
    ),
)


async def _demo_discussions(session: AsyncSession, rng: random.Random) -> None:
    """Communities with members, threads and replies (with reactions), for GraphiQL."""
    member_ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
    for demo in DEMO_COMMUNITIES:
        community = Community(
            slug=demo.slug,
            name=demo.name,
            visibility=demo.visibility,
            description=f"# {demo.name}\n\nA demo community.",
            created_by_id=member_ids[1],
        )
        session.add(community)
        await session.flush()
        session.add_all(
            CommunityObjective(community_id=community.id, objective_number=n)
            for n in demo.objectives
        )
        members = [member_ids[1], *rng.sample(member_ids[2:], 25)]
        session.add_all(
            CommunityMember(
                community_id=community.id,
                member_id=m,
                role=CommunityRole.MODERATOR if m == member_ids[1] else CommunityRole.MEMBER,
            )
            for m in members
        )
        for title in rng.sample(demo.threads, 3):
            thread = Thread(
                community_id=community.id,
                author_id=rng.choice(members),
                title=title,
                body="What has worked in your context?",
            )
            session.add(thread)
            await session.flush()
            replies = rng.randint(2, 12)
            for _ in range(replies):
                post = Post(
                    thread_id=thread.id,
                    author_id=rng.choice(members),
                    body=rng.choice(demo.replies),
                )
                session.add(post)
                await session.flush()
                for reactor in rng.sample(members, rng.randint(0, 4)):
                    session.add(
                        Reaction(
                            post_id=post.id, member_id=reactor, kind=rng.choice(list(ReactionKind))
                        )
                    )
            thread.reply_count = replies


async def create_member_account(
    settings: Settings,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    organization: str | None,
) -> int:
    problems = ProblemList()
    email = clean_email(problems, "email", email)
    name = clean_text(problems, "name", name, max_length=200)
    check_new_password(problems, "password", password)
    if problems:
        raise MemberCreationError("; ".join(f"{p.field}: {p.text}" for p in problems))
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            if await session.scalar(select(Member.id).where(Member.email == email)) is not None:
                raise MemberCreationError(f"a member with email {email} exists")
            organization_id = None
            if organization is not None:
                organization_id = await session.scalar(
                    select(Organization.id).where(Organization.name == organization)
                )
                if organization_id is None:
                    raise MemberCreationError(f"no organisation named {organization!r}")
            member = Member(
                name=name,
                email=email,
                password_hash=await hash_password(password),
                role=role,
                organization_id=organization_id,
            )
            session.add(member)
            await session.flush()
            await search_index.reindex(session, MEMBERS, [member.id])
            return member.id
    finally:
        await db.dispose()


# --- curated knowledge: resources (some superseding or contradicting others) and initiatives

RESOURCE_TOPICS = (
    "fair recruitment",
    "remittance costs",
    "labour migration data",
    "return and reintegration",
    "skills recognition",
    "consular protection",
    "climate mobility",
    "migrant health",
)
PUBLISHERS = ("IOM", "ILO", "UNHCR", "World Bank", "OECD", "National statistics office")
KNOWLEDGE_COUNTRIES = ("KE", "MX", "PH", "DE", "MA", "SN", "CO", "BD", "NP", "JO")
SEEDED_STATES = [ReviewState.APPROVED] * 17 + [
    ReviewState.SUBMITTED,
    ReviewState.IN_REVIEW,
    ReviewState.DRAFT,
]
BATCH = 1_000


async def seed_knowledge(
    session: AsyncSession, rng: random.Random, resources: int, initiatives: int
) -> None:
    """Resources by existing members for their organisations (mostly published; every 20th
    one superseded by the next, every 10th contradicted), initiatives and an open call.
    Bulk inserts, so the benchmark's 10,000 resources take seconds."""
    authors = (await session.execute(select(Member.id, Member.organization_id))).all()
    kinds = list(ResourceKind)
    now = utcnow()
    ids: list[int] = []
    states: list[ReviewState] = []
    for start in range(0, resources, BATCH):
        rows = []
        for index in range(start, min(start + BATCH, resources)):
            author = authors[index % len(authors)]
            state = rng.choice(SEEDED_STATES)
            approved = (
                now - timedelta(days=rng.randrange(30, 900))
                if state is ReviewState.APPROVED
                else None
            )
            rows.append(
                {
                    "title": f"{rng.choice(RESOURCE_TOPICS).capitalize()}: {kinds[index % len(kinds)].value.lower()} {index:05}",
                    "summary": "A demo resource.",
                    "body": "A **demo** resource of the knowledge platform.",
                    "kind": kinds[index % len(kinds)],
                    "link": f"https://example.org/resources/{index}",
                    "publisher": rng.choice(PUBLISHERS),
                    "published_on": date(2015 + index % 11, 1 + index % 12, 1),
                    "language": "en",
                    "source_type": rng.choice(list(SourceType)),
                    "state": state,
                    "author_id": author.id,
                    "organization_id": author.organization_id,
                    "submitted_at": now - timedelta(days=rng.randrange(1, 60)),
                    "approved_at": approved,
                    "reviewed_at": approved or now,
                    "review_by": approved + timedelta(days=730) if approved else None,
                    "created_at": (approved or now) - timedelta(days=rng.randrange(1, 90)),
                }
            )
        inserted = await session.execute(insert(Resource).returning(Resource.id), rows)
        ids.extend(inserted.scalars())
        states.extend(ReviewState(row["state"]) for row in rows)
    about: list[dict[str, object]] = []
    places: list[dict[str, object]] = []
    for resource_id in ids:
        numbers = rng.sample(range(1, 24), rng.randint(1, 3))
        about.extend({"resource_id": resource_id, "objective_number": n} for n in numbers)
        codes = rng.sample(KNOWLEDGE_COUNTRIES, rng.randint(1, 2))
        places.extend({"resource_id": resource_id, "code": c} for c in codes)
    for table, values in ((ResourceObjective, about), (ResourceCountry, places)):
        for start in range(0, len(values), BATCH):
            await session.execute(insert(table), values[start : start + BATCH])
    relations = [
        {
            "from_id": ids[i + 1],
            "to_id": ids[i],
            "kind": RelationKind.SUPERSEDES,
            "note": "New edition.",
        }
        for i in range(0, len(ids) - 1, 20)
    ] + [
        {
            "from_id": ids[i + 2],
            "to_id": ids[i],
            "kind": RelationKind.CONTRADICTS,
            "note": "Other estimates.",
        }
        for i in range(0, len(ids) - 2, 10)
    ]
    for relation in relations:
        relation["status"] = RelationStatus.CONFIRMED
    for start in range(0, len(relations), BATCH):
        await session.execute(insert(ResourceRelation), relations[start : start + BATCH])
    # Only a published successor demotes what it supersedes.
    superseded = [
        ids[i] for i in range(0, len(ids) - 1, 20) if states[i + 1] is ReviewState.APPROVED
    ]
    for start in range(0, len(superseded), BATCH):
        await session.execute(
            update(Resource)
            .where(Resource.id.in_(superseded[start : start + BATCH]))
            .values(supersession_depth=1, currency=-1)
        )
    await _assign_demo_reviewers(session, ids, states)
    await _seed_initiatives(session, rng, authors, initiatives)


async def _assign_demo_reviewers(
    session: AsyncSession, ids: list[int], states: list[ReviewState]
) -> None:
    """Resources IN_REVIEW go to the demo's reviewers, never to one of the author's
    organisation (the conflict-of-interest rule), so `reviewQueue` has something to show."""
    reviewers = (
        await session.execute(
            select(Member.id, Member.organization_id).where(Member.role == Role.REVIEWER)
        )
    ).all()
    in_review = [i for i, state in zip(ids, states, strict=True) if state is ReviewState.IN_REVIEW]
    if not reviewers or not in_review:
        return
    items = (
        await session.execute(
            select(Resource.id, Resource.author_id, Resource.organization_id).where(
                Resource.id.in_(in_review)
            )
        )
    ).all()
    session.add_all(
        ReviewAssignment(item_kind=ReviewItemKind.RESOURCE, item_id=item.id, reviewer_id=r.id)
        for item in items
        for r in reviewers[:2]
        if r.id != item.author_id
        and (r.organization_id is None or r.organization_id != item.organization_id)
    )


async def _seed_initiatives(
    session: AsyncSession, rng: random.Random, authors: Sequence[Any], count: int
) -> None:
    call = CallForPractices(
        theme="Skills mobility partnerships",
        description="Share practices that recognise migrants' skills.",
        deadline=utcnow() + timedelta(days=90),
    )
    session.add(call)
    await session.flush()
    session.add(CallObjective(call_id=call.id, objective_number=18))
    for index in range(count):
        author = authors[index % len(authors)]
        approved = index % 5 != 4
        initiative = Initiative(
            title=f"{rng.choice(RESOURCE_TOPICS).capitalize()} initiative {index:03}",
            summary="A demo initiative.",
            status=rng.choice(list(InitiativeStatus)),
            starts_on=date(2018 + index % 7, 1 + index % 12, 1),
            results="Demo results.",
            replicability="A documented model others can adapt.",
            lead_organization_id=author.organization_id,
            state=ReviewState.APPROVED if approved else ReviewState.SUBMITTED,
            approved_at=utcnow() if approved else None,
            review_by=utcnow() + timedelta(days=730) if approved else None,
            featured=index < 3,
            call_id=call.id if index % 4 == 0 else None,
            author_id=author.id,
            organization_id=author.organization_id,
            submitted_at=utcnow(),
        )
        session.add(initiative)
        await session.flush()
        session.add_all(
            InitiativeObjective(initiative_id=initiative.id, objective_number=n)
            for n in rng.sample(range(1, 24), 2)
        )
        session.add(
            InitiativeCountry(initiative_id=initiative.id, code=rng.choice(KNOWLEDGE_COUNTRIES))
        )


# --- webinars (demo) -------------------------------------------------------------------------


async def _demo_webinars(session: AsyncSession) -> None:
    """An upcoming webinar with registrations, and one LIVE with chat and Q&A, for GraphiQL.
    Deterministic without the shared random generator, so the data above stays as it was."""
    ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
    moderator, participants = ids[1], ids[3:23]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    upcoming = Webinar(
        title="Fair recruitment in practice: what employers can do",
        description="Practitioners share how **employer pays** works on the ground.",
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, minutes=90),
        timezone="Africa/Nairobi",
        visibility=WebinarVisibility.PUBLIC,
        capacity=50,
        registered_count=len(participants),
        join_url="https://meet.example.org/demo-fair-recruitment",
        created_by_id=moderator,
    )
    live = Webinar(
        title="Migration data clinic (live now)",
        description="Bring your questions on disaggregated migration data.",
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(minutes=50),
        visibility=WebinarVisibility.PUBLIC,
        status=WebinarStatus.LIVE,
        capacity=100,
        registered_count=len(participants),
        join_url="https://meet.example.org/demo-data-clinic",
        created_by_id=moderator,
    )
    session.add_all([upcoming, live])
    await session.flush()
    for webinar, objective in ((upcoming, 6), (live, 1)):
        session.add(WebinarObjective(webinar_id=webinar.id, objective_number=objective))
        session.add(WebinarLanguage(webinar_id=webinar.id, tag="en", interpretation=False))
        session.add(WebinarLanguage(webinar_id=webinar.id, tag="fr", interpretation=True))
        session.add(
            WebinarHost(webinar_id=webinar.id, role=WebinarHostRole.ORGANISER, member_id=moderator)
        )
        session.add(
            WebinarHost(
                webinar_id=webinar.id,
                role=WebinarHostRole.SPEAKER,
                guest_name="Guest Speaker",
                guest_affiliation="IOM",
            )
        )
        session.add_all(
            WebinarRegistration(
                webinar_id=webinar.id, member_id=m, status=RegistrationStatus.REGISTERED
            )
            for m in participants
        )
    session.add_all(
        WebinarChatMessage(webinar_id=live.id, author_id=m, body=text)
        for m, text in zip(
            participants[:2], ("Hello from Nairobi!", "Good morning from Quito."), strict=True
        )
    )
    questions = [
        WebinarQuestion(
            webinar_id=live.id,
            author_id=participants[2],
            anonymous=True,
            body="How do we share data without exposing individuals?",
            vote_count=0,
            status=QuestionStatus.ANSWERED,
            answer="Aggregate, and apply disclosure control before release.",
            answered_by_id=moderator,
            answered_at=now,
        ),
        WebinarQuestion(
            webinar_id=live.id,
            author_id=participants[3],
            body="Which surveys include a migration module?",
            vote_count=0,
        ),
    ]
    session.add_all(questions)
    await session.flush()
    for question in questions:
        question.order_key = -question.id
