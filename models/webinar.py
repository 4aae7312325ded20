"""Webinars: schedule, hosts, registrations and waitlist, reminders, live chat and Q&A."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow


class WebinarStatus(enum.Enum):
    SCHEDULED = "SCHEDULED"
    LIVE = "LIVE"
    ENDED = "ENDED"
    CANCELLED = "CANCELLED"


class WebinarVisibility(enum.Enum):
    PUBLIC = "PUBLIC"
    COMMUNITY = "COMMUNITY"


class WebinarHostRole(enum.Enum):
    ORGANISER = "ORGANISER"
    SPEAKER = "SPEAKER"


class RegistrationStatus(enum.Enum):
    REGISTERED = "REGISTERED"
    WAITLISTED = "WAITLISTED"
    CANCELLED = "CANCELLED"


class QuestionStatus(enum.Enum):
    OPEN = "OPEN"
    ANSWERED = "ANSWERED"
    DISMISSED = "DISMISSED"


def _enum(enum_class: type[enum.Enum]) -> Enum:
    return Enum(enum_class, native_enum=False, length=20, values_callable=enum_values)


class Webinar(Base):
    __tablename__ = "webinar"
    # Listings run by start time.
    __table_args__ = (Index("ix_webinar_starts_at_id", "starts_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    # The language its text was written in (BCP 47); translations are in others.
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The IANA zone the organisers announced it in (for display); times are stored in UTC.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    visibility: Mapped[WebinarVisibility] = mapped_column(_enum(WebinarVisibility))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[WebinarStatus] = mapped_column(
        _enum(WebinarStatus), default=WebinarStatus.SCHEDULED
    )
    capacity: Mapped[int] = mapped_column(Integer)
    # Seats taken: changed only by conditional UPDATEs, which is what keeps it <= capacity.
    registered_count: Mapped[int] = mapped_column(Integer, default=0)
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    join_url: Mapped[str | None] = mapped_column(String(500))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change of schedule or status: the iCalendar SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebinarObjective(Base):
    __tablename__ = "webinar_objective"

    webinar_id: Mapped[int] = mapped_column(
        ForeignKey("webinar.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True, index=True
    )


class WebinarLanguage(Base):
    """A language of the webinar: spoken, or offered through interpretation."""

    __tablename__ = "webinar_language"

    webinar_id: Mapped[int] = mapped_column(
        ForeignKey("webinar.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(35), primary_key=True)
    interpretation: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class WebinarHost(Base):
    """An organiser or speaker: a member, or a named guest without an account."""

    __tablename__ = "webinar_host"
    __table_args__ = (Index("ix_webinar_host_webinar_id_id", "webinar_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.id", ondelete="CASCADE"))
    role: Mapped[WebinarHostRole] = mapped_column(_enum(WebinarHostRole))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    guest_name: Mapped[str | None] = mapped_column(String(200))
    guest_affiliation: Mapped[str | None] = mapped_column(String(200))


class WebinarRegistration(Base):
    """One registration; a cancelled one stays as history and a new one starts a new row, so the
    waitlist is served in the order of ids."""

    __tablename__ = "webinar_registration"
    __table_args__ = (
        # At most one live (registered or waitlisted) registration per member and webinar.
        Index(
            "uq_webinar_registration_active",
            "webinar_id",
            "member_id",
            unique=True,
            sqlite_where=text("status <> 'CANCELLED'"),
            postgresql_where=text("status <> 'CANCELLED'"),
        ),
        Index("ix_webinar_registration_webinar_status_id", "webinar_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebinarReminder(Base):
    """A reminder sent: claimed in the transaction that stores the notification, so each is
    sent once whatever the number of processes or restarts."""

    __tablename__ = "webinar_reminder"

    webinar_id: Mapped[int] = mapped_column(
        ForeignKey("webinar.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebinarChatMessage(Base):
    __tablename__ = "webinar_chat_message"
    __table_args__ = (
        Index("ix_webinar_chat_message_webinar_id_id", "webinar_id", "id"),
        # Slow mode looks up a member's last message in a webinar.
        Index("ix_webinar_chat_message_author", "webinar_id", "author_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )


class WebinarQuestion(Base):
    __tablename__ = "webinar_question"
    # Q&A order: most votes first, then oldest first. A keyset runs in one direction, so the
    # tie-break is stored negated (order_key = -id) and both columns are read descending.
    __table_args__ = (
        Index("ix_webinar_question_ranking", "webinar_id", "vote_count", "order_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    order_key: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[QuestionStatus] = mapped_column(
        _enum(QuestionStatus), default=QuestionStatus.OPEN
    )
    answer: Mapped[str | None] = mapped_column(Text)
    answered_live: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebinarQuestionVote(Base):
    __tablename__ = "webinar_question_vote"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("webinar_question.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CalendarFeed(Base):
    """A member's secret calendar URL (for calendar apps, which cannot send a bearer token):
    only its keyed hash is stored; resetting it replaces it."""

    __tablename__ = "calendar_feed"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
