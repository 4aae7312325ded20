"""Member accounts created from the command line (`hub create-member`)."""

from __future__ import annotations

from sqlalchemy import select

from app.settings import Settings
from models.db import create_database
from models.member import Member, Role
from models.organization import Organization
from resolvers import search_index
from resolvers.auth import check_new_password, hash_password
from resolvers.errors import ProblemList
from resolvers.search_sources import MEMBERS
from resolvers.validation import clean_email, clean_text


class MemberCreationError(Exception):
    pass


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
