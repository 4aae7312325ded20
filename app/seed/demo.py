"""The demo data (`hub seed --demo`): organisations of every kind, members with expertise and
languages, then each domain's demo data (discussions, knowledge, webinars) and the search index."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, select

from app.seed.discussions import DEMO_COMMUNITIES, demo_discussions
from app.seed.knowledge import seed_knowledge
from app.seed.webinars import demo_webinars
from app.settings import Settings
from models.db import create_database
from models.member import Member, MemberExpertise, MemberLanguage, Role
from models.organization import Organization, OrganizationKind
from resolvers import search_index
from resolvers.auth import hash_password

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
            await demo_discussions(session, rng)
            await seed_knowledge(session, rng, DEMO_RESOURCES, DEMO_INITIATIVES)
            await demo_webinars(session)
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
