"""Which test proves who may see what, for every path the schema offers (issue 11).

`coordinates()` derives the paths from the committed SDL: every root query and subscription
field, every `Node` type, every field returning a connection or a count, every event cursor, and
every notification kind. `REGISTRY` says for each how it is proven:

- `MATRIX`: probed by tests/test_visibility_matrix.py, where each private or unpublished object
  stands in front of seven viewers and a denied read must read exactly like a missing one;
- `Covered(test)`: by a named test that puts hidden objects in front of several viewers;
- `Public(reason)`: nothing private stands behind it.

tests/test_visibility_matrix.py fails when a coordinate has no entry (a new field, type,
connection, count, subscription or notification kind), or an entry names a test that does not
exist."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
)

from models.notification import NotificationKind

SDL_PATH = Path(__file__).resolve().parents[1] / "schema.graphql"


@dataclass(frozen=True)
class Matrix:
    """Probed in tests/test_visibility_matrix.py."""


@dataclass(frozen=True)
class Covered:
    """Proven by `tests/<module>.py::<test>`."""

    test: str


@dataclass(frozen=True)
class Public:
    reason: str


Entry = Matrix | Covered | Public
MATRIX = Matrix()


def coordinates(sdl: GraphQLSchema) -> set[str]:
    """Every path that shows something, named `Type.field`, `Node:Type` or `Kind.VALUE`."""
    found: set[str] = set()
    for root in ("Query", "Subscription"):
        root_type = sdl.get_type(root)
        assert isinstance(root_type, GraphQLObjectType)
        found |= {f"{root}.{name}" for name in root_type.fields}
    node = sdl.get_type("Node")
    for named in sdl.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        if node in named.interfaces:
            found.add(f"Node:{named.name}")
        if named.name in ("Query", "Mutation", "Subscription", "PageInfo") or named.name.endswith(
            ("Connection", "Edge", "Payload")
        ):
            continue  # a connection's totalCount and page cursors are its list's
        for name, field in named.fields.items():
            returns = get_named_type(field.type).name
            counts = name.endswith("Count") and returns == "Int"
            if returns.endswith("Connection") or counts or name.endswith("Cursor"):
                found.add(f"{named.name}.{name}")
    kinds = sdl.get_type("NotificationKind")
    assert isinstance(kinds, GraphQLEnumType)
    found |= {f"NotificationKind.{value}" for value in kinds.values}
    return found


def committed_coordinates() -> set[str]:
    return coordinates(build_schema(SDL_PATH.read_text()))


REFERENCE = Public("the Compact's reference data: the same for everyone")
DISCUSSIONS = Covered(
    "test_discussion_permissions::test_each_viewer_reads_exactly_what_the_rules_allow"
)
THREAD_EVENTS = Covered(
    "test_discussion_permissions::"
    "test_thread_events_reach_readers_and_are_refused_to_others_like_a_missing_thread"
)
SUPPORT_READS = Covered(
    "test_support_permissions::test_reads_show_the_request_to_its_circle_and_nothing_to_anyone_else"
)
WEBINAR_LIVE = Covered("test_webinar_visibility::test_join_links_chat_and_questions_leak_to_nobody")
RESOURCES = Covered(
    "test_resource_visibility::test_each_viewer_sees_exactly_the_resources_it_may_in_every_read_path"
)
NOTIFICATIONS = Covered(
    "test_private_leaks::test_a_follower_who_left_a_private_community_hears_nothing_more_from_it"
)
NOTIFICATION_SUBJECTS = Covered(
    "test_visibility_matrix::test_notifications_are_only_about_what_the_recipient_may_see"
)

REGISTRY: dict[str, Entry] = {
    # --- root queries
    "Query.viewer": Public("the signed-in member's own account; null for anonymous"),
    "Query.node": MATRIX,
    "Query.nodes": MATRIX,
    "Query.member": Covered(
        "test_members::test_a_hidden_member_reads_like_a_missing_one_through_every_path"
    ),
    "Query.members": Covered(
        "test_members::test_public_sees_only_opted_in_experts_and_members_see_everyone"
    ),
    "Query.organizations": Public("organisations are public: how the hub says who contributes"),
    "Query.gcmObjectives": REFERENCE,
    "Query.gcmObjective": REFERENCE,
    "Query.guidingPrinciples": REFERENCE,
    "Query.unRegions": REFERENCE,
    "Query.officialLanguages": REFERENCE,
    "Query.unLanguages": REFERENCE,
    "Query.community": MATRIX,
    "Query.communities": MATRIX,
    "Query.thread": MATRIX,
    "Query.threads": MATRIX,
    "Query.moderationQueue": Covered(
        "test_moderation::test_flags_appear_in_the_moderation_queue_of_the_communitys_moderators"
    ),
    "Query.pushPublicKey": Public("the VAPID public key is what every browser subscribes with"),
    "Member.follows": Covered(
        "test_topic_follows::test_a_member_follows_each_kind_of_topic_and_alone_sees_it"
    ),
    "Member.pushSubscriptions": Covered("test_push::test_a_members_subscriptions_are_theirs_alone"),
    "Query.webhookEndpoints": Covered("test_webhooks::test_only_admins_manage_webhooks"),
    "Node:WebhookEndpoint": Covered("test_webhooks::test_only_admins_manage_webhooks"),
    "WebhookEndpoint.deliveries": Covered("test_webhooks::test_only_admins_manage_webhooks"),
    "Query.deliveries": Covered(
        "test_outbox::test_failures_back_off_then_die_and_an_admin_retries"
    ),
    "Node:Delivery": Covered("test_outbox::test_failures_back_off_then_die_and_an_admin_retries"),
    "Query.auditLog": Covered(
        "test_moderation::test_members_cannot_moderate_or_read_the_audit_log"
    ),
    "Query.notifications": NOTIFICATIONS,
    "Query.notificationCursor": Public("the viewer's own stream; null for anonymous"),
    "Query.unreadNotificationCount": NOTIFICATIONS,
    "Query.moderationCursor": Covered(
        "test_moderation_events::test_plain_members_and_reviewers_cannot_follow_moderation_events"
    ),
    "Query.search": MATRIX,
    "Query.supportRequest": MATRIX,
    "Query.supportRequests": MATRIX,
    "Query.suggestedExperts": Covered(
        "test_expert_matching::test_suggestions_are_for_focal_points_and_bounded"
    ),
    "Query.resource": MATRIX,
    "Query.resources": MATRIX,
    "Query.staleContent": Covered(
        "test_freshness::test_only_published_items_are_stale_and_nobody_sees_more_than_published"
    ),
    "Query.reviewQueue": Covered("test_reviews::test_the_review_queue_of_reviewers_and_moderators"),
    "Query.initiative": MATRIX,
    "Query.initiatives": MATRIX,
    "Query.callsForPractices": Public("calls for practices are public invitations to submit"),
    "Query.relationProposals": Covered(
        "test_resource_relations::test_a_reviewer_cannot_decide_a_relation_to_a_resource_they_cannot_see"
    ),
    "Query.webinar": MATRIX,
    "Query.webinars": MATRIX,
    # --- subscriptions: their start and each event
    "Subscription.threadEvents": THREAD_EVENTS,
    "Subscription.communityActivity": Covered(
        "test_live_threads::test_a_member_removed_from_a_private_community_receives_nothing_after_removal"
    ),
    "Subscription.notificationReceived": NOTIFICATIONS,
    "Subscription.supportRequestEvents": Covered(
        "test_support_permissions::"
        "test_live_events_reach_the_circle_and_are_refused_to_others_like_a_missing_request"
    ),
    "Subscription.moderationEvents": Covered(
        "test_moderation_events::"
        "test_a_community_moderator_receives_only_their_communitys_flags_and_join_requests"
    ),
    "Subscription.webinarEvents": Covered(
        "test_webinar_live::test_outsiders_and_the_waitlist_cannot_subscribe"
    ),
    # --- node types
    "Node:AuditEntry": Covered(
        "test_moderation::test_members_cannot_moderate_or_read_the_audit_log"
    ),
    "Node:CallForPractices": Public("calls for practices are public invitations to submit"),
    "Node:Community": MATRIX,
    "Node:ContentFlag": Covered(
        "test_moderation::test_flags_appear_in_the_moderation_queue_of_the_communitys_moderators"
    ),
    "Node:GcmObjective": REFERENCE,
    "Node:Initiative": MATRIX,
    "Node:JoinRequest": DISCUSSIONS,
    "Node:Member": Covered(
        "test_members::test_a_hidden_member_reads_like_a_missing_one_through_every_path"
    ),
    "Node:Notification": NOTIFICATIONS,
    "Node:Organization": Public("organisations are public: how the hub says who contributes"),
    "Node:Post": MATRIX,
    "Node:Resource": MATRIX,
    "Node:ResourceRelation": Covered(
        "test_resource_relations::test_relations_to_resources_the_proposer_cannot_see_are_refused"
    ),
    "Node:SupportMessage": SUPPORT_READS,
    "Node:SupportRequest": MATRIX,
    "Node:Thread": MATRIX,
    "Node:Webinar": MATRIX,
    "Node:WebinarChatMessage": WEBINAR_LIVE,
    "Node:WebinarQuestion": WEBINAR_LIVE,
    # --- connections and counts on types
    "CallForPractices.initiatives": Covered(
        "test_initiatives::test_each_viewer_sees_exactly_the_initiatives_it_may"
    ),
    "Community.members": DISCUSSIONS,
    "Community.joinRequests": DISCUSSIONS,
    "Community.eventCursor": Covered(
        "test_private_leaks::test_a_private_communitys_event_cursor_is_for_those_who_may_watch_it"
    ),
    "GcmObjective.resourceCount": Covered(
        "test_private_leaks::test_an_objectives_counts_are_the_totals_of_its_lists_for_every_viewer"
    ),
    "GcmObjective.resources": Covered(
        "test_private_leaks::test_an_objectives_counts_are_the_totals_of_its_lists_for_every_viewer"
    ),
    "GcmObjective.initiativeCount": Covered(
        "test_private_leaks::test_an_objectives_counts_are_the_totals_of_its_lists_for_every_viewer"
    ),
    "GcmObjective.initiatives": Covered(
        "test_private_leaks::test_an_objectives_counts_are_the_totals_of_its_lists_for_every_viewer"
    ),
    "GcmObjective.expertCount": Covered(
        "test_private_leaks::test_an_objectives_counts_are_the_totals_of_its_lists_for_every_viewer"
    ),
    "GcmObjective.experts": Covered(
        "test_members::test_public_sees_only_opted_in_experts_and_members_see_everyone"
    ),
    "Initiative.revisions": Covered(
        "test_initiative_revisions::test_an_edit_of_a_published_initiative_is_reviewed_before_it_replaces_it"
    ),
    "Resource.revisions": RESOURCES,
    "ReviewQueue.resources": Covered(
        "test_reviews::test_the_review_queue_of_reviewers_and_moderators"
    ),
    "ReviewQueue.initiatives": Covered(
        "test_reviews::test_the_review_queue_of_reviewers_and_moderators"
    ),
    "SupportRequest.timeline": SUPPORT_READS,
    "SupportRequest.messages": SUPPORT_READS,
    "SupportRequest.eventCursor": MATRIX,
    "Thread.posts": DISCUSSIONS,
    "Thread.replyCount": DISCUSSIONS,
    "Thread.unreadCount": Covered(
        "test_discussions::test_unread_count_counts_replies_after_the_read_mark"
    ),
    "Thread.eventCursor": MATRIX,
    "ThreadEvent.reactionCount": THREAD_EVENTS,
    "Webinar.registeredCount": Public(
        "how full a webinar you may see is: shown to everyone who sees it"
    ),
    "Webinar.chatMessages": WEBINAR_LIVE,
    "Webinar.questions": WEBINAR_LIVE,
    "Webinar.resources": Covered(
        "test_webinar_record::test_a_community_webinars_resources_and_record_stay_in_the_community"
    ),
    "Webinar.eventCursor": MATRIX,
    "WebinarEvent.voteCount": WEBINAR_LIVE,
    "WebinarQuestion.voteCount": WEBINAR_LIVE,
    # --- translations: those of an item one sees, MACHINE ones only once verified (or to their
    # translator, staff and reviewers who speak the language)
    **{
        f"{kind}.textTranslations": Covered(
            "test_translations::test_translations_follow_the_items_visibility_and_machine_ones_wait_for_verification"
        )
        for kind in ("Resource", "Initiative", "Webinar", "Community", "CallForPractices")
    },
    # --- translation requests: signed-in members see the open ones of items they see; who
    # asked is never shown, only how many and whether the viewer did
    "Query.translationRequests": Covered(
        "test_translation_requests::test_who_may_ask_and_who_sees_the_requests"
    ),
    "TranslationRequest.requesterCount": Covered(
        "test_translation_requests::test_requests_count_each_member_once_and_close_when_translated"
    ),
    # --- notifications: created, listed, counted and sent live only about what one may see
    **{f"NotificationKind.{kind.value}": NOTIFICATION_SUBJECTS for kind in NotificationKind},
}
