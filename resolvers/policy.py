"""Who may see and do what: the one place that decides. Denied reads like not found."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Exists,
    Integer,
    SQLColumnExpression,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)

from models.base import utcnow
from models.community import Community, CommunityMember, CommunityRole, CommunityVisibility
from models.initiative import CallForPractices, Initiative
from models.member import Member, MemberLanguage, Role
from models.notification import FollowTarget, Notification, TopicFollow
from models.organization import OrganizationKind
from models.push import PushSubscription
from models.resource import RelationStatus, Resource, ResourceRelation
from models.review import ReviewAssignment, ReviewedItem, ReviewItemKind, ReviewState
from models.support import ProposalStatus, SupportProposal, SupportRequest
from models.thread import Post, Thread
from models.translation import Translation, TranslationRequest, TranslationStatus
from models.webinar import (
    QuestionStatus,
    RegistrationStatus,
    Webinar,
    WebinarHost,
    WebinarHostRole,
    WebinarStatus,
    WebinarVisibility,
)

STAFF_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})


@dataclass(frozen=True)
class Viewer:
    """The member behind a request, or nobody. Built once per request from the bearer token."""

    member_id: int | None = None
    role: Role | None = None
    organization_id: int | None = None
    token_id: int | None = None

    @property
    def is_signed_in(self) -> bool:
        return self.member_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def logged_id(self) -> int | None:
        """The member's id for logs, metrics and traces: no access decision reads it."""
        return self.member_id


ANONYMOUS = Viewer()


PUBLIC_AUDIENCE = "public"


def shared_audience(viewer: Viewer) -> str | None:
    """The audience whose members all receive the same answer to a document without a
    viewer-specific field, known before executing it; None: decided by `scope_audience` after
    executing it (a signed-in viewer). The public (anonymous viewers) is one: every predicate
    here gives every anonymous viewer the same rows."""
    return PUBLIC_AUDIENCE if not viewer.is_signed_in else None


# What the policy may read of a viewer. The first three name a group of viewers, the last two
# one viewer (a member's memberships, authorship, registrations and assignments are found by
# `member_id`): an answer that read them is that viewer's own.
SCOPE_FACETS = frozenset({"is_signed_in", "is_staff", "is_admin", "role", "organization_id"})
OWN_FACETS = frozenset({"member_id", "token_id"})
_FACETS = SCOPE_FACETS | OWN_FACETS


class ScopedViewer(Viewer):
    """A signed-in viewer whose execution notes what it read of the viewer (`consulted`),
    while `recording`: every predicate and decision here, and any other code, can only tell
    viewers apart by reading these attributes. Two viewers equal in everything an execution
    read of the first get the same answer from the same data (the execution is the same), so
    the answer may be kept for all viewers with those values (`scope_audience`)."""

    plain: Viewer
    consulted: set[str]
    recording: bool

    def __init__(self, viewer: Viewer) -> None:
        super().__init__(viewer.member_id, viewer.role, viewer.organization_id, viewer.token_id)
        object.__setattr__(self, "plain", viewer)
        object.__setattr__(self, "consulted", set())
        object.__setattr__(self, "recording", False)

    def __getattribute__(self, name: str) -> Any:
        if name in _FACETS:
            if object.__getattribute__(self, "recording"):
                object.__getattribute__(self, "consulted").add(name)
            return getattr(object.__getattribute__(self, "plain"), name)
        return object.__getattribute__(self, name)

    def logged_id(self) -> int | None:
        return self.plain.member_id  # not read by the answer: not recorded

    def record(self) -> None:
        object.__setattr__(self, "recording", True)

    def read(self) -> frozenset[str]:
        """What the execution read; recording stops."""
        object.__setattr__(self, "recording", False)
        return frozenset(object.__getattribute__(self, "consulted"))


def scope_audience(viewer: Viewer, consulted: frozenset[str]) -> tuple[object, ...] | None:
    """The permission scope of the viewers who get the answer `viewer` got from an execution
    that read `consulted` of them: the values of those facets; None when it read who the
    viewer is (the answer is theirs alone)."""
    if consulted & OWN_FACETS or not viewer.is_signed_in:
        return None
    plain = viewer.plain if isinstance(viewer, ScopedViewer) else viewer
    return tuple((facet, getattr(plain, facet)) for facet in sorted(consulted))


def visible_members(viewer: Viewer) -> ColumnElement[bool]:
    """Signed-in members see the whole directory; the public sees opted-in experts only."""
    if viewer.is_signed_in:
        return true()
    return Member.is_expert.is_(True)


def visible_organizations(viewer: Viewer) -> ColumnElement[bool]:
    """Organisations are public: they are how the hub says who contributes."""
    return true()


def may_see_email(viewer: Viewer, member_id: int) -> bool:
    return viewer.member_id == member_id or viewer.is_admin


def may_set_roles(viewer: Viewer) -> bool:
    return viewer.is_admin


def may_manage_organizations(viewer: Viewer) -> bool:
    return viewer.is_admin


def may_manage_deliveries(viewer: Viewer) -> bool:
    """The outbox (every member's deliveries and their failures) is for admins."""
    return viewer.is_admin


def may_read_notification_preferences(viewer: Viewer, member_id: int) -> bool:
    """A member's email preferences are their own business."""
    return viewer.member_id is not None and viewer.member_id == member_id


def may_use_developer_tools(viewer: Viewer, *, development: bool) -> bool:
    """Introspection (the console's documentation and completion): always in development,
    else for moderators and admins. The console page itself loads for anyone."""
    return development or viewer.is_staff


def may_send_any_document(viewer: Viewer, *, trusted_documents_only: bool) -> bool:
    """Whether a request may carry a document that is not a registered trusted document.
    With HUB_TRUSTED_DOCUMENTS_ONLY, only moderators and admins may (the console, like
    introspection); development is not exempt, so that the setting can be tried locally."""
    return not trusted_documents_only or viewer.is_staff


# --- Communities, threads and posts -------------------------------------------------------


def visible_communities(viewer: Viewer) -> ColumnElement[bool]:
    """That a community exists, its name and description: public ones for everyone, private
    ones for signed-in members too (so they can ask to join). Its threads: `readable_...`."""
    if viewer.is_signed_in:
        return true()
    return Community.visibility == CommunityVisibility.PUBLIC


def readable_communities(viewer: Viewer) -> ColumnElement[bool]:
    """Whose threads and posts the viewer reads: public ones, and private ones the viewer
    belongs to (global staff read everything)."""
    if viewer.is_staff:
        return true()
    public = Community.visibility == CommunityVisibility.PUBLIC
    if viewer.member_id is None:
        return public
    # Correlate the community only: a query already over community_member (a member list) must
    # not swallow the subquery's own FROM.
    return or_(
        public,
        exists()
        .where(
            CommunityMember.community_id == Community.id,
            CommunityMember.member_id == viewer.member_id,
        )
        .correlate(Community),
    )


def visible_threads(viewer: Viewer) -> ColumnElement[bool]:
    """Threads of visible communities; a deleted thread is gone for everyone but global staff."""
    in_visible = Thread.community_id.in_(select(Community.id).where(readable_communities(viewer)))
    return in_visible if viewer.is_staff else and_(in_visible, Thread.deleted_at.is_(None))


def visible_posts(viewer: Viewer) -> ColumnElement[bool]:
    """Posts of visible threads (a deleted post stays, as a placeholder)."""
    return Post.thread_id.in_(select(Thread.id).where(visible_threads(viewer)))


def moderates_community(viewer: Viewer, role: CommunityRole | None) -> bool:
    """Global moderators and admins moderate everywhere; community moderators in theirs."""
    return viewer.is_staff or role is CommunityRole.MODERATOR


def may_post_in(viewer: Viewer, role: CommunityRole | None) -> bool:
    """Members of a community post in it (global staff too)."""
    return viewer.is_signed_in and (role is not None or viewer.is_staff)


def is_open(ends_at: datetime | None) -> bool:
    """A time-boxed consultation is read-only from its end date on."""
    return ends_at is None or utcnow() < ends_at


def may_read_deleted_text(viewer: Viewer, role: CommunityRole | None) -> bool:
    return moderates_community(viewer, role)


def moderated_by(viewer: Viewer, community_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """Rows of communities the viewer moderates (`community_id` names the column): every
    community for global staff, their own for community moderators."""
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return false()
    return community_id.in_(
        select(CommunityMember.community_id).where(
            CommunityMember.member_id == viewer.member_id,
            CommunityMember.role == CommunityRole.MODERATOR,
        )
    )


def may_read_audit_log(
    viewer: Viewer, community_role: CommunityRole | None, *, whole: bool
) -> bool:
    """The whole audit log: global staff. One community's: those who moderate it."""
    if whole:
        return viewer.is_staff
    return moderates_community(viewer, community_role)


def may_delete_post(viewer: Viewer, author_id: int | None, role: CommunityRole | None) -> bool:
    """Authors delete their own posts; moderators of the community any post (with a reason)."""
    return may_edit_post(viewer, author_id) or moderates_community(viewer, role)


def watches_all_moderation(viewer: Viewer) -> bool:
    """Global moderators and admins watch every moderation event; nobody else needs to know
    which communities a viewer moderates to answer it."""
    return viewer.is_staff


def moderation_watch_scope(viewer: Viewer, moderated: frozenset[int]) -> tuple[object, ...] | None:
    """Who may follow `moderationEvents`, and in which scope (viewers with equal scopes see the
    same events): global staff all of them; a community moderator the events of the
    communities in `moderated` (those they moderate); nobody else."""
    if viewer.member_id is None:
        return None
    if watches_all_moderation(viewer):
        return ("all",)
    if moderated:
        return ("communities", *sorted(moderated))
    return None


def may_see_moderation_event(
    viewer: Viewer, moderated: frozenset[int], community_id: int | None
) -> bool:
    """A community's events (flags, join requests) for its moderators; the hub's own (items
    submitted for review, support requests) for global staff only."""
    if watches_all_moderation(viewer):
        return True
    return community_id is not None and community_id in moderated


def may_join_at_once(visibility: CommunityVisibility, *, invited: bool) -> bool:
    """A public community is joined at once; a private one on an invitation, else by asking
    its moderators."""
    return visibility is CommunityVisibility.PUBLIC or invited


def may_edit_post(viewer: Viewer, author_id: int | None) -> bool:
    """Only authors change their words; moderators delete, they do not rewrite."""
    return viewer.member_id is not None and viewer.member_id == author_id


def may_create_communities(viewer: Viewer) -> bool:
    return viewer.is_staff


# --- Support requests (governments ask, the network responds) --------------------------------


def visible_support_requests(viewer: Viewer) -> ColumnElement[bool]:
    """Private to the requester's organisation (the government it speaks for), its focal point,
    the experts proposed for it who have not declined, and moderators."""
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return false()
    conditions = [
        SupportRequest.requester_id == viewer.member_id,
        SupportRequest.focal_point_id == viewer.member_id,
        exists()
        .where(
            SupportProposal.request_id == SupportRequest.id,
            SupportProposal.expert_id == viewer.member_id,
            SupportProposal.status != ProposalStatus.DECLINED,
        )
        .correlate(SupportRequest),
    ]
    if viewer.organization_id is not None:
        conditions.append(SupportRequest.organization_id == viewer.organization_id)
    return or_(*conditions)


def may_submit_support_request(viewer: Viewer, organization_kind: OrganizationKind | None) -> bool:
    """Government members ask for support (the organisation kind is GOVERNMENT)."""
    return viewer.is_signed_in and organization_kind is OrganizationKind.GOVERNMENT


def may_manage_support_request(viewer: Viewer, focal_point_id: int | None) -> bool:
    """Network focal points (moderators) take requests; once taken, the focal point (and any
    moderator or admin) moves it on."""
    return viewer.is_staff or (viewer.member_id is not None and viewer.member_id == focal_point_id)


def may_triage_support_requests(viewer: Viewer) -> bool:
    """Network focal points (moderators and admins) take submitted requests."""
    return viewer.is_staff


def may_see_expert_suggestions(viewer: Viewer) -> bool:
    return viewer.is_staff


def may_document_support_request(
    viewer: Viewer, *, organization_id: int, requester_id: int | None, focal_point_id: int | None
) -> bool:
    """Turn a completed request into an initiative draft (a documented practice) of one's
    own: the requesting government's members (the requester too, should they have moved),
    its focal point, and moderators. Experts who helped see the request but do not publish
    the government's story on their own."""
    if viewer.member_id is None:
        return False
    return (
        viewer.is_staff
        or viewer.member_id in (requester_id, focal_point_id)
        or (viewer.organization_id is not None and viewer.organization_id == organization_id)
    )


# --- Curated knowledge: reviewed items (resources) ---------------------------------------------

REVIEWER_ROLES = frozenset({Role.REVIEWER, Role.MODERATOR, Role.ADMIN})


def visible_reviewed_items(
    viewer: Viewer, model: type[ReviewedItem], kind: ReviewItemKind
) -> ColumnElement[bool]:
    """The public sees published (APPROVED) items; authors their own; assigned reviewers what
    they review; moderators and admins everything."""
    if viewer.is_staff:
        return true()
    published = model.state == ReviewState.APPROVED
    if viewer.member_id is None:
        return published
    return or_(
        published, model.author_id == viewer.member_id, assigned_to_review(viewer, model, kind)
    )


def is_assigned_reviewer(
    viewer: Viewer, kind: ReviewItemKind, item_id: SQLColumnExpression[int] | int
) -> ColumnElement[bool]:
    """The viewer is one of the item's assigned reviewers."""
    if viewer.member_id is None:
        return false()
    return exists().where(
        ReviewAssignment.item_kind == kind,
        ReviewAssignment.item_id == item_id,
        ReviewAssignment.reviewer_id == viewer.member_id,
    )


def assigned_to_review(
    viewer: Viewer, model: type[ReviewedItem], kind: ReviewItemKind
) -> ColumnElement[bool]:
    """Items (rows of `model`) the viewer is assigned to review."""
    clause = is_assigned_reviewer(viewer, kind, model.id)
    return clause.correlate(model) if isinstance(clause, Exists) else clause


def in_review_queue(
    viewer: Viewer, model: type[ReviewedItem], kind: ReviewItemKind, *, assigned_only: bool = False
) -> ColumnElement[bool]:
    """Whose pending items a queue shows: moderators every one (or, when they ask, those
    assigned to them), reviewers those assigned to them."""
    if may_moderate_reviews(viewer) and not assigned_only:
        return true()
    return assigned_to_review(viewer, model, kind)


def may_use_review_queue(viewer: Viewer) -> bool:
    return viewer.member_id is not None and may_review(viewer.role)


def visible_resources(viewer: Viewer) -> ColumnElement[bool]:
    return visible_reviewed_items(viewer, Resource, ReviewItemKind.RESOURCE)


def may_moderate_reviews(viewer: Viewer) -> bool:
    """Assign reviewers, decide alone, archive, send back to review, set review-by dates."""
    return viewer.is_staff


def may_act_as_author(viewer: Viewer, author_id: int | None) -> bool:
    """Submit, edit and withdraw an item: its author only."""
    return viewer.member_id is not None and viewer.member_id == author_id


def may_review(role: Role | None) -> bool:
    """Who can be assigned as a reviewer (and confirm or reject proposed relations)."""
    return role in REVIEWER_ROLES


def conflict_of_interest(
    *,
    reviewer_id: int,
    reviewer_organization_id: int | None,
    author_id: int | None,
    author_organization_ids: set[int],
    declared: bool,
) -> str | None:
    """Why a reviewer may not review an item, or None. The author, and members of the
    author's (or the item's) organisation, never review it; nor does a reviewer who declared
    a conflict."""
    if reviewer_id == author_id:
        return "The author cannot review their own item."
    if reviewer_organization_id is not None and reviewer_organization_id in author_organization_ids:
        return "Members of the author's organisation cannot review the item."
    if declared:
        return "The reviewer declared a conflict of interest with this item."
    return None


def may_read_reviews(viewer: Viewer, author_id: int | None, assigned: bool) -> bool:
    """Reviews (decisions, comments, checklists) are for the author, the item's reviewers and
    moderators, not for the public."""
    return viewer.is_staff or assigned or may_act_as_author(viewer, author_id)


def may_decide_relations(viewer: Viewer) -> bool:
    """Confirm or reject a proposed relation between resources: reviewers and moderators."""
    return may_review(viewer.role)


def visible_relations(viewer: Viewer) -> ColumnElement[bool]:
    """A relation shows when the viewer sees both its ends, and it is confirmed, or the viewer
    proposed it, or decides on relations."""
    visible = select(Resource.id).where(visible_resources(viewer))
    ends = and_(ResourceRelation.from_id.in_(visible), ResourceRelation.to_id.in_(visible))
    if may_decide_relations(viewer):
        return ends
    confirmed = ResourceRelation.status == RelationStatus.CONFIRMED
    if viewer.member_id is None:
        return and_(ends, confirmed)
    return and_(ends, or_(confirmed, ResourceRelation.proposed_by_id == viewer.member_id))


def visible_initiatives(viewer: Viewer) -> ColumnElement[bool]:
    return visible_reviewed_items(viewer, Initiative, ReviewItemKind.INITIATIVE)


def may_feature(viewer: Viewer) -> bool:
    """Mark published initiatives `featured` (the flagship showcase): moderators."""
    return viewer.is_staff


# --- Webinars -----------------------------------------------------------------------------


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
    if viewer.is_staff:
        return true()
    public = Webinar.visibility == WebinarVisibility.PUBLIC
    if viewer.member_id is None:
        return public
    return or_(
        public,
        Webinar.community_id.in_(
            select(CommunityMember.community_id).where(
                CommunityMember.member_id == viewer.member_id
            )
        ),
        Webinar.id.in_(
            select(WebinarHost.webinar_id).where(WebinarHost.member_id == viewer.member_id)
        ),
    )


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


# --- Notifications and follows: only about what the recipient may see, at every moment -------

# How a notification's subject names what it is about: a key of `Notification.subject`.
SubjectValue = Callable[[str, bool], ColumnElement[Any]]


def _subject_gates(
    viewer: Viewer, value: SubjectValue, present: Collection[str] | None = None
) -> list[ColumnElement[bool]]:
    """One condition per kind of thing a notification can be about: absent, or visible to the
    viewer. A thread counts by its community (the author of a thread that moderators deleted is
    still told so); a post by its thread, always named beside it. `present`: the subject's
    keys, when they are known (a subject not stored yet): only their conditions are built."""

    def readable() -> Any:
        return select(Community.id).where(readable_communities(viewer))

    def thread() -> ColumnElement[bool]:
        key = value("thread", True)
        threads = select(Thread.id).where(Thread.community_id.in_(readable()))
        return or_(key.is_(None), key.in_(threads))

    def community() -> ColumnElement[bool]:
        key = value("community", True)
        return or_(key.is_(None), key.in_(readable()))

    def webinar() -> ColumnElement[bool]:
        key = value("webinar", True)
        return or_(key.is_(None), key.in_(select(Webinar.id).where(visible_webinars(viewer))))

    def request() -> ColumnElement[bool]:
        key = value("supportRequest", True)
        requests = select(SupportRequest.id).where(visible_support_requests(viewer))
        return or_(key.is_(None), key.in_(requests))

    def item() -> ColumnElement[bool]:
        key, kind = value("item", True), value("item_kind", False)
        return or_(
            key.is_(None),
            and_(
                kind == ReviewItemKind.RESOURCE.value,
                key.in_(select(Resource.id).where(visible_resources(viewer))),
            ),
            and_(
                kind == ReviewItemKind.INITIATIVE.value,
                key.in_(select(Initiative.id).where(visible_initiatives(viewer))),
            ),
        )

    def call() -> ColumnElement[bool]:
        key = value("call", True)
        calls = select(CallForPractices.id).where(visible_calls(viewer))
        return or_(key.is_(None), key.in_(calls))

    gates = {
        "thread": thread,
        "community": community,
        "webinar": webinar,
        "supportRequest": request,
        "item": item,
        "call": call,
    }
    return [gate() for key, gate in gates.items() if present is None or key in present]


def _stored_subject(key: str, number: bool) -> ColumnElement[Any]:
    element = Notification.subject[key]
    stored: ColumnElement[Any] = element.as_integer() if number else element.as_string()
    return stored


def visible_notifications(viewer: Viewer) -> ColumnElement[bool]:
    """The viewer's own notifications about what they may see now: one about a private
    community they left, a request they no longer take part in, reads as gone (in lists,
    counts and live)."""
    if viewer.member_id is None:
        return false()
    return and_(
        Notification.member_id == viewer.member_id, *_subject_gates(viewer, _stored_subject)
    )


def may_be_notified(viewer: Viewer, subject: Mapping[str, Any]) -> ColumnElement[bool]:
    """Whether a notification about `subject` may be created for `viewer` (a recipient): the
    same rule as `visible_notifications`, for a subject not stored yet."""

    def given(key: str, number: bool) -> ColumnElement[Any]:
        value = subject.get(key)
        if value is None:
            return null()
        return literal(int(value), Integer()) if number else literal(str(value), String())

    present = {key for key, v in subject.items() if v is not None}
    return and_(true(), *_subject_gates(viewer, given, present))


def followable(viewer: Viewer, target: FollowTarget, target_id: int) -> ColumnElement[bool]:
    """Following is reading what comes: threads the viewer reads, communities whose threads
    the viewer reads (a private community's name alone is no licence to its activity)."""
    if target is FollowTarget.THREAD:
        return exists().where(Thread.id == target_id, visible_threads(viewer))
    return exists().where(Community.id == target_id, readable_communities(viewer))


# --- Topic follows: objectives, principles, countries, regions -------------------------------


def own_topic_follows(viewer: Viewer) -> ColumnElement[bool]:
    """What a member follows is theirs alone (listing, unfollowing)."""
    if viewer.member_id is None:
        return false()
    return TopicFollow.member_id == viewer.member_id


def may_read_topic_follows(viewer: Viewer, member_id: int) -> bool:
    return viewer.member_id is not None and viewer.member_id == member_id


# --- Web Push: a member's own subscriptions, and what a push message may say -------------------


def own_push_subscriptions(viewer: Viewer) -> ColumnElement[bool]:
    """A push subscription is its member's alone (removing one, listing them)."""
    if viewer.member_id is None:
        return false()
    return PushSubscription.member_id == viewer.member_id


def may_read_push_subscriptions(viewer: Viewer, member_id: int) -> bool:
    """A member's push subscriptions (their devices' endpoints) are theirs alone to list."""
    return viewer.member_id is not None and viewer.member_id == member_id


def may_be_pushed(
    viewer: Viewer, subscription_owner: int | None, subject: Mapping[str, Any]
) -> ColumnElement[bool]:
    """Whether a push message about `subject` may go, now, to a subscription: it is still the
    recipient's (an endpoint re-registered by another member on that browser is not), and the
    recipient may still be notified about the subject."""
    if subscription_owner is None or subscription_owner != viewer.member_id:
        return false()
    return may_be_notified(viewer, subject)


# --- Webhooks: what an organisation's system may be told ----------------------------------


def may_manage_webhooks(viewer: Viewer) -> bool:
    """Registering endpoints, reading their delivery log and redelivering is for admins."""
    return viewer.is_admin


def webhook_may_carry(
    organization_id: int | None, subject: Mapping[str, Any]
) -> ColumnElement[bool]:
    """Whether a webhook endpoint (of `organization_id`, or of nobody) may be told about
    `subject` now: public data for every endpoint (a public webinar, a published item), and a
    support request for its own organisation's endpoints only."""
    if subject.get("supportRequest") is not None:
        if organization_id is None:
            return false()
        return exists().where(
            SupportRequest.id == int(subject["supportRequest"]),
            SupportRequest.organization_id == organization_id,
        )
    if subject.get("webinar") is not None:
        return exists().where(Webinar.id == int(subject["webinar"]), visible_webinars(ANONYMOUS))
    if subject.get("call") is not None:
        return exists().where(CallForPractices.id == int(subject["call"]), visible_calls(ANONYMOUS))
    if subject.get("item") is not None:
        model, visible = (
            (Resource, visible_resources)
            if subject.get("item_kind") == ReviewItemKind.RESOURCE.value
            else (Initiative, visible_initiatives)
        )
        return exists().where(model.id == int(subject["item"]), visible(ANONYMOUS))
    return false()


# --- Translations --------------------------------------------------------------------------


def visible_calls(viewer: Viewer) -> ColumnElement[bool]:
    """Calls for practices are public (their answers follow the initiatives' policy)."""
    return true()


def speaks(declared: Collection[str], language: str) -> bool:
    """A member who declared `fr` speaks `fr` and `fr-CA`; one who declared `fr-CA`, `fr`."""
    primary = language.split("-")[0]
    return any(tag.split("-")[0] == primary for tag in declared)


def visible_translations(viewer: Viewer) -> ColumnElement[bool]:
    """Translations of an item the viewer sees (the item's own predicate decides that first).

    The default: a HUMAN translation is shown at once to everyone who sees the item, marked as
    such (as are VERIFIED and OUTDATED ones); a MACHINE translation only to its translator,
    staff and reviewers who speak its language, until a reviewer verifies it. A named member
    who declared the language answers for a human translation; nobody answers for a tool's."""
    shown = Translation.status != TranslationStatus.MACHINE
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return shown
    own = Translation.translator_id == viewer.member_id
    if viewer.role not in REVIEWER_ROLES:
        return or_(shown, own)
    speaker = exists().where(
        MemberLanguage.member_id == viewer.member_id,
        or_(
            MemberLanguage.tag == Translation.language,
            func.substr(Translation.language, 1, func.length(MemberLanguage.tag) + 1)
            == MemberLanguage.tag + "-",
        ),
    )
    return or_(shown, own, speaker)


def may_translate(viewer: Viewer, declared: Collection[str], language: str) -> bool:
    """Members translate into a language they declared on their profile."""
    return viewer.is_signed_in and speaks(declared, language)


def may_verify_translation(
    viewer: Viewer, declared: Collection[str], language: str, translator_ids: Collection[int]
) -> bool:
    """Reviewers (and staff) who declared the language verify others' translations."""
    return (
        viewer.role in REVIEWER_ROLES
        and speaks(declared, language)
        and viewer.member_id not in translator_ids
    )


def may_remove_translation(viewer: Viewer) -> bool:
    return viewer.is_staff


def may_request_translation(viewer: Viewer) -> bool:
    """Any signed-in member asks to have an item they see in a language."""
    return viewer.is_signed_in


def visible_translation_requests(
    viewer: Viewer, item_visible: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Signed-in members (the translators who pick requests up) see the open requests for
    items they may see (`item_visible`, the item's own predicate); who asked is never shown,
    only how many and whether the viewer did."""
    if not viewer.is_signed_in:
        return false()
    return and_(TranslationRequest.closed_at.is_(None), item_visible)
