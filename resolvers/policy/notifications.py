"""Notifications, follows (threads, communities, topics) and Web Push: only about what the
recipient may see, at every moment."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    String,
    and_,
    exists,
    false,
    literal,
    null,
    or_,
    true,
)

from models.community import Community
from models.initiative import CallForPractices, Initiative
from models.member import Member
from models.notification import FollowTarget, Notification, TopicFollow
from models.push import PushSubscription
from models.resource import Resource
from models.review import ReviewItemKind
from models.support import SupportRequest
from models.thread import Thread
from models.webinar import (
    Webinar,
)
from resolvers.policy.communities import (
    communities_read_by,
    readable_communities,
    visible_threads,
)
from resolvers.policy.knowledge import calls_seen_by, reviewed_items_seen_by
from resolvers.policy.support import support_requests_seen_by
from resolvers.policy.viewer import MEMBERS, Audience, Viewer, audience_of
from resolvers.policy.webinars import webinars_seen_by

# How a notification's subject names what it is about: a key of `Notification.subject`.
SubjectValue = Callable[[str, bool], ColumnElement[Any]]


def _subject_gates(
    audience: Audience, value: SubjectValue, present: Collection[str] | None = None
) -> list[ColumnElement[bool]]:
    """One condition per kind of thing a notification can be about: absent, or visible to the
    audience. A thread counts by its community (the author of a thread that moderators deleted
    is still told so); a post by its thread, always named beside it. `present`: the subject's
    keys, when they are known (a subject not stored yet): only their conditions are built.
    Each is an EXISTS on the thing's primary key, so that a check over many members at once
    looks up one row per member, not a whole table."""

    def readable(community_id: SQLColumnExpression[Any]) -> ColumnElement[bool]:
        seen = communities_read_by(audience)
        return exists().where(Community.id == community_id, seen).correlate_except(Community)

    def thread() -> ColumnElement[bool]:
        key = value("thread", True)
        in_readable = exists().where(Thread.id == key, readable(Thread.community_id))
        return or_(key.is_(None), in_readable.correlate_except(Thread))

    def community() -> ColumnElement[bool]:
        key = value("community", True)
        return or_(key.is_(None), readable(key))

    def webinar() -> ColumnElement[bool]:
        key = value("webinar", True)
        seen = exists().where(Webinar.id == key, webinars_seen_by(audience))
        return or_(key.is_(None), seen.correlate_except(Webinar))

    def request() -> ColumnElement[bool]:
        key = value("supportRequest", True)
        seen = support_requests_seen_by(audience)
        found = exists().where(SupportRequest.id == key, seen).correlate_except(SupportRequest)
        return or_(key.is_(None), found)

    def item() -> ColumnElement[bool]:
        key, kind = value("item", True), value("item_kind", False)
        resource = reviewed_items_seen_by(audience, Resource, ReviewItemKind.RESOURCE)
        initiative = reviewed_items_seen_by(audience, Initiative, ReviewItemKind.INITIATIVE)
        return or_(
            key.is_(None),
            and_(
                kind == ReviewItemKind.RESOURCE.value,
                exists().where(Resource.id == key, resource).correlate_except(Resource),
            ),
            and_(
                kind == ReviewItemKind.INITIATIVE.value,
                exists().where(Initiative.id == key, initiative).correlate_except(Initiative),
            ),
        )

    def call() -> ColumnElement[bool]:
        key = value("call", True)
        found = exists().where(CallForPractices.id == key, calls_seen_by(audience))
        return or_(key.is_(None), found.correlate_except(CallForPractices))

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


def _given_subject(subject: Mapping[str, Any]) -> SubjectValue:
    def given(key: str, number: bool) -> ColumnElement[Any]:
        value = subject.get(key)
        if value is None:
            return null()
        return literal(int(value), Integer()) if number else literal(str(value), String())

    return given


def _present(subject: Mapping[str, Any]) -> set[str]:
    return {key for key, v in subject.items() if v is not None}


def visible_notifications(viewer: Viewer) -> ColumnElement[bool]:
    """The viewer's own notifications about what they may see now: one about a private
    community they left, a request they no longer take part in, reads as gone (in lists,
    counts and live)."""
    if viewer.member_id is None:
        return false()
    gates = _subject_gates(audience_of(viewer), _stored_subject)
    return and_(Notification.member_id == viewer.member_id, *gates)


def notifications_visible_to_their_members() -> ColumnElement[bool]:
    """`visible_notifications` for many notifications of many members in one statement: the
    enclosing query selects from `notification` joined to its recipient's `member` row, and
    keeps those the recipient may see now (the send-time check of a batch of deliveries)."""
    return and_(Notification.member_id == Member.id, *_subject_gates(MEMBERS, _stored_subject))


def may_be_notified(viewer: Viewer, subject: Mapping[str, Any]) -> ColumnElement[bool]:
    """Whether a notification about `subject` may be created for `viewer` (a recipient): the
    same rule as `visible_notifications`, for a subject not stored yet."""
    gates = _subject_gates(audience_of(viewer), _given_subject(subject), _present(subject))
    return and_(true(), *gates)


def members_may_be_notified(subject: Mapping[str, Any]) -> ColumnElement[bool]:
    """`may_be_notified` for every member row of the enclosing query (which selects from
    `member`) at once: the recipients of a notification checked in one statement."""
    gates = _subject_gates(MEMBERS, _given_subject(subject), _present(subject))
    return and_(true(), *gates)


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


def members_may_be_pushed(subscription_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether a push message about its notification may go, now, to the subscription
    `subscription_id`, for every notification and recipient row of the enclosing query (which
    selects from `notification` joined to its recipient's `member` row): the subscription is
    still the recipient's (an endpoint re-registered by another member on that browser is
    not), and the recipient may still see what the notification is about. The send-time check
    of a batch of push deliveries, in one statement."""
    owned = exists().where(
        PushSubscription.id == subscription_id, PushSubscription.member_id == Member.id
    )
    return and_(owned, notifications_visible_to_their_members())
