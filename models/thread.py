"""Discussion threads and their posts, reactions, mentions, revisions and read marks."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow


class ReactionKind(enum.Enum):
    LIKE = "LIKE"
    INSIGHTFUL = "INSIGHTFUL"
    AGREE = "AGREE"
    QUESTION = "QUESTION"
    THANKS = "THANKS"


class Thread(Base):
    __tablename__ = "thread"
    # Community pages list pinned threads first, then by last activity.
    __table_args__ = (
        Index("ix_thread_community_activity", "community_id", "pinned", "last_activity_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThreadTag(Base):
    __tablename__ = "thread_tag"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class ThreadObjective(Base):
    __tablename__ = "thread_objective"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True, index=True
    )


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (
        Index("ix_post_thread_id_id", "thread_id", "id"),
        # Retrying a create with the same key returns the first post, never a duplicate.
        UniqueConstraint("author_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))


class PostRevision(Base):
    """The body a post had before an edit (its edit history)."""

    __tablename__ = "post_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reaction(Base):
    __tablename__ = "reaction"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[ReactionKind] = mapped_column(
        Enum(ReactionKind, native_enum=False, length=20, values_callable=enum_values),
        primary_key=True,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    __tablename__ = "mention"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ThreadRead(Base):
    """How far a member has read a thread: posts with a greater id are unread."""

    __tablename__ = "thread_read"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_post_id: Mapped[int] = mapped_column(Integer, default=0)
