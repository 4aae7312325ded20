"""Communities of practice: who they are for, who belongs, who asked to join."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.collation import keep_key, key_default


class CommunityVisibility(enum.Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class CommunityRole(enum.Enum):
    MEMBER = "MEMBER"
    MODERATOR = "MODERATOR"


class JoinRequestKind(enum.Enum):
    REQUEST = "REQUEST"
    INVITATION = "INVITATION"


class JoinRequestStatus(enum.Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


def _enum(enum_class: type[enum.Enum]) -> Enum:
    return Enum(enum_class, native_enum=False, length=20, values_callable=enum_values)


class Community(Base):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # How the name sorts in every script (models/collation.py), kept with the name.
    name_key: Mapped[bytes | None] = mapped_column(
        LargeBinary, default=key_default("name"), index=True
    )
    # The language its text was written in (BCP 47); translations are in others.
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[CommunityVisibility] = mapped_column(_enum(CommunityVisibility))
    # Time-boxed consultations: posting closes at this moment (reading stays open).
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommunityObjective(Base):
    __tablename__ = "community_objective"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True
    )


class CommunityLanguage(Base):
    __tablename__ = "community_language"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(35), primary_key=True)


class CommunityMember(Base):
    __tablename__ = "community_member"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[CommunityRole] = mapped_column(_enum(CommunityRole), default=CommunityRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommunityJoinRequest(Base):
    """A member asking to join a private community, or a moderator inviting one."""

    __tablename__ = "community_join_request"
    # At most one open request or invitation per member and community.
    __table_args__ = (
        Index(
            "uq_community_join_request_pending",
            "community_id",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[JoinRequestKind] = mapped_column(_enum(JoinRequestKind))
    status: Mapped[JoinRequestStatus] = mapped_column(
        _enum(JoinRequestStatus), default=JoinRequestStatus.PENDING
    )
    message: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


keep_key(Community.name, "name_key")
