"""Trusted documents in the database: looked up by the client's id or by the SHA-256 of their
text, and registered from a manifest (`hub documents push`), idempotently. What a document is
checked against (the schema) is decided above, in app/documents.py."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.document import TrustedDocument

SHA256_PREFIX = "sha256:"


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's UTF-8 text: the hash every client library sends."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class NewDocument:
    """A document from a manifest, checked against the schema, not yet stored."""

    document_id: str
    body: str
    operation_name: str | None
    operation_type: str


class Registration(enum.Enum):
    ADDED = "added"
    UNCHANGED = "unchanged"  # the same id with the same text: pushing again changes nothing
    CONFLICT = "conflict"  # the id names another text already: ids never change meaning


async def find_document(
    sessions: async_sessionmaker[AsyncSession], document_id: str
) -> TrustedDocument | None:
    """The document a client names: `sha256:<hex>` by its text's hash, anything else by id."""
    if document_id.startswith(SHA256_PREFIX):
        return await find_by_sha256(sessions, document_id.removeprefix(SHA256_PREFIX))
    async with sessions() as session:
        statement = select(TrustedDocument).where(TrustedDocument.document_id == document_id)
        return (await session.execute(statement)).scalar_one_or_none()


async def find_by_sha256(
    sessions: async_sessionmaker[AsyncSession], sha256: str
) -> TrustedDocument | None:
    async with sessions() as session:
        statement = (
            select(TrustedDocument)
            .where(TrustedDocument.sha256 == sha256)
            .order_by(TrustedDocument.id)
            .limit(1)
        )
        return (await session.execute(statement)).scalar_one_or_none()


async def register_document(session: AsyncSession, document: NewDocument) -> Registration:
    """Store one document in the caller's transaction, unless its id is there already."""
    statement = select(TrustedDocument).where(TrustedDocument.document_id == document.document_id)
    existing = (await session.execute(statement)).scalar_one_or_none()
    if existing is not None:
        return Registration.UNCHANGED if existing.body == document.body else Registration.CONFLICT
    session.add(
        TrustedDocument(
            document_id=document.document_id,
            sha256=sha256_of(document.body),
            body=document.body,
            operation_name=document.operation_name,
            operation_type=document.operation_type,
        )
    )
    await session.flush()
    return Registration.ADDED


async def list_documents(session: AsyncSession) -> list[TrustedDocument]:
    """Every registered document, oldest first."""
    statement = select(TrustedDocument).order_by(TrustedDocument.id)
    return list((await session.execute(statement)).scalars())
