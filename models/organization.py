"""Organisations that members belong to."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.collation import keep_key, key_default


class OrganizationKind(enum.Enum):
    GOVERNMENT = "GOVERNMENT"
    UN_SYSTEM = "UN_SYSTEM"
    CIVIL_SOCIETY = "CIVIL_SOCIETY"
    ACADEMIA = "ACADEMIA"
    PRIVATE_SECTOR = "PRIVATE_SECTOR"
    OTHER = "OTHER"


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # How the name sorts in every script (models/collation.py), kept with the name.
    name_key: Mapped[bytes | None] = mapped_column(
        LargeBinary, default=key_default("name"), index=True
    )
    kind: Mapped[OrganizationKind] = mapped_column(
        Enum(OrganizationKind, native_enum=False, length=20, values_callable=enum_values),
        index=True,
    )
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


keep_key(Organization.name, "name_key")
