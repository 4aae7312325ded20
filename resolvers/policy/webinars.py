"""Webinars, live and as a lasting record."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    and_,
    or_,
    select,
)

from models.community import CommunityMember, CommunityRole
from models.resource import Resource
from models.review import ReviewState
from models.webinar import (
    QuestionStatus,
    RegistrationStatus,
    Webinar,
    WebinarHost,
    WebinarHostRole,
    WebinarStatus,
    WebinarVisibility,
)
from resolvers.policy.knowledge import visible_resources
from resolvers.policy.viewer import (
    Audience,
    Someone,
    Viewer,
    audience_of,
    rule,
    taking_rows,
)


@dataclass(frozen=True)
class WebinarAccess:
    """What the viewer is to one webinar: their live registration, their host role (the
    stronger one when both), their role in the webinar's community, whether global staff."""

    registration: RegistrationStatus | None = None
    host_role: WebinarHostRole | None = None
    community_role: CommunityRole | None = None
    staff: bool = False


def webinar_access(
    viewer: Viewer,
    *,
    registration: RegistrationStatus | None,
    host_role: WebinarHostRole | None,
    community_role: CommunityRole | None,
) -> WebinarAccess:
    return WebinarAccess(registration, host_role, community_role, staff=viewer.is_staff)


def stronger_host_role(held: WebinarHostRole | None, other: WebinarHostRole) -> WebinarHostRole:
    """A member who both organises and speaks is an organiser."""
    return WebinarHostRole.ORGANISER if held is WebinarHostRole.ORGANISER else other


def visible_webinars(viewer: Viewer) -> ColumnElement[bool]:
    """Public webinars for everyone; a community's webinars for its members, for the
    webinar's own hosts, and for global staff."""
    return webinars_seen_by(audience_of(viewer))


def webinars_seen_by(audience: Audience) -> ColumnElement[bool]:
    """`visible_webinars` for an audience (one viewer, or every member row at once)."""
    public = Webinar.visibility == WebinarVisibility.PUBLIC

    def member(someone: Someone) -> ColumnElement[bool]:
        communities = select(CommunityMember.community_id).where(
            CommunityMember.member_id == someone
        )
        hosted = select(WebinarHost.webinar_id).where(WebinarHost.member_id == someone)
        return or_(
            public,
            Webinar.community_id.in_(taking_rows(audience, communities)),
            Webinar.id.in_(taking_rows(audience, hosted)),
        )

    return rule(audience, anonymous=public, member=member)


def may_create_webinar(viewer: Viewer, community_role: CommunityRole | None) -> bool:
    """Global moderators and admins anywhere; community moderators for their community."""
    return viewer.is_staff or community_role is CommunityRole.MODERATOR


def moderates_webinar(access: WebinarAccess) -> bool:
    """Global staff, and moderators of the community the webinar belongs to."""
    return access.staff or access.community_role is CommunityRole.MODERATOR


def manages_webinar(access: WebinarAccess) -> bool:
    """Organisers and moderators change the webinar, its status, slow mode, and delete chat."""
    return access.host_role is WebinarHostRole.ORGANISER or moderates_webinar(access)


def takes_part_live(access: WebinarAccess) -> bool:
    """Registered participants, hosts and moderators: they read the join link, the chat and
    the Q&A, take part in them, and may subscribe to the webinar's live events. A waitlisted
    or cancelled registration is no seat."""
    return (
        access.registration is RegistrationStatus.REGISTERED
        or access.host_role is not None
        or moderates_webinar(access)
    )


def may_chat_now(access: WebinarAccess, status: WebinarStatus) -> bool:
    """Chat is open while LIVE; before it, organisers (and moderators) may already write."""
    if status is WebinarStatus.LIVE:
        return takes_part_live(access)
    return status is WebinarStatus.SCHEDULED and manages_webinar(access)


def may_ask_now(access: WebinarAccess, status: WebinarStatus) -> bool:
    """Questions are asked and upvoted before and during the webinar."""
    return takes_part_live(access) and status in (WebinarStatus.SCHEDULED, WebinarStatus.LIVE)


def may_answer_questions(access: WebinarAccess) -> bool:
    """Organisers, speakers and moderators answer (live or in writing) and dismiss."""
    return access.host_role is not None or moderates_webinar(access)


def sees_anonymous_authors(access: WebinarAccess) -> bool:
    """A question asked anonymously hides its author from participants and speakers, never
    from organisers and moderators."""
    return manages_webinar(access)


def may_read_chat(access: WebinarAccess) -> bool:
    return takes_part_live(access)


def may_read_questions(access: WebinarAccess, status: WebinarStatus) -> bool:
    """During the webinar, those taking part; once it has ended, the Q&A is a lasting record
    that everyone who sees the webinar reads (answered questions only, see `record_only`)."""
    return takes_part_live(access) or status is WebinarStatus.ENDED


def reads_qa_record_only(access: WebinarAccess) -> bool:
    """Readers of an ended webinar's Q&A who did not take part see the answered questions."""
    return not takes_part_live(access)


def may_read_question(
    access: WebinarAccess, status: WebinarStatus, question_status: QuestionStatus
) -> bool:
    """One question: everything for those taking part; the record (answered questions of an
    ended webinar) for everyone who sees the webinar."""
    if takes_part_live(access):
        return True
    return status is WebinarStatus.ENDED and question_status is QuestionStatus.ANSWERED


# --- Webinars: their lasting record in the knowledge base --------------------------------------


def may_file_webinar_record(access: WebinarAccess) -> bool:
    """File the recording and answered questions as a resource draft: organisers and
    moderators of the webinar (the draft is theirs, and goes through the normal review)."""
    return manages_webinar(access)


def may_link_webinar_resources(access: WebinarAccess) -> bool:
    """Link published resources to a webinar, or unlink them: organisers and moderators."""
    return manages_webinar(access)


def listed_webinar_resources(viewer: Viewer) -> ColumnElement[bool]:
    """What `Webinar.resources` lists of the linked resources: the published ones the viewer
    may see (a filed record shows there once it is published, never as a draft)."""
    return and_(
        visible_resources(viewer),
        Resource.state == ReviewState.APPROVED,
        Resource.revision_of_id.is_(None),
    )
