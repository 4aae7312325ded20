"""Trusted documents: GraphQL operations registered ahead of time from a client build's
manifest (`hub documents push`), shared by every process. A registered document never changes:
its id names one text for good (a compiled plan may later hang off a row)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class TrustedDocument(Base):
    __tablename__ = "trusted_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The id the client sends (`documentId`): a SHA-256 for GraphQL Code Generator and Apollo,
    # whatever the Relay compiler chose for Relay.
    document_id: Mapped[str] = mapped_column(String(200), unique=True)
    # Hex SHA-256 of `body`: what Apollo's `extensions.persistedQuery.sha256Hash` and
    # `documentId: "sha256:<hex>"` name. Several ids may share a text.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    operation_name: Mapped[str | None] = mapped_column(String(200))
    # query, mutation or subscription: GET runs queries only.
    operation_type: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
