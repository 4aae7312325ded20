"""Notifications, follows (threads, communities, topics) and Web Push: only about what the
recipient may see, at every moment."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    exists,
    false,
    literal,
    null,
    or_,
    select,
    true,
)

from models.community import Community
from models.initiative import CallForPractices, Initiative
from models.notification import FollowTarget, Notification, TopicFollow
from models.push import PushSubscription
from models.resource import Resource
from models.review import ReviewItemKind
from models.support import SupportRequest
from models.thread import Thread
from models.webinar import (
    Webinar,
)
from resolvers.policy.communities import readable_communities, visible_threads
from resolvers.policy.knowledge import visible_calls, visible_initiatives, visible_resources
from resolvers.policy.support import visible_support_requests
from resolvers.policy.viewer import Viewer
from resolvers.policy.webinars import visible_webinars

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
