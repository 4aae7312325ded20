"""Members: profile, role, expertise and languages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.collation import keep_key, key_default


class Role(enum.Enum):
    MEMBER = "MEMBER"
    REVIEWER = "REVIEWER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


class Member(Base):
    __tablename__ = "member"
    # The directory pages through members by (name_key, id).
    __table_args__ = (Index("ix_member_name_key_id", "name_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # How the name sorts in every script (models/collation.py), kept with the name.
    name_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=key_default("name"))
    # Stored lower-cased: one account per address whatever the case it is typed in.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    is_expert: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=enum_values),
        default=Role.MEMBER,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MemberExpertise(Base):
    """A GCM objective a member has expertise in."""

    __tablename__ = "member_expertise"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True, index=True
    )


class MemberLanguage(Base):
    """A language (BCP 47 tag) a member works in."""

    __tablename__ = "member_language"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(35), primary_key=True, index=True)
    # The member's own order of preference (0 first): it decides which text they read first.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


keep_key(Member.name, "name_key")
