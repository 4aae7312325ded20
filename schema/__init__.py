"""The whole GraphQL API: every root field is listed here, with its description.

Domain modules (`schema/members.py`, ...) hold the types and the functions these fields call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema import auth as auth_api
from schema import communities as communities_api
from schema import deliveries as deliveries_api
from schema import events as events_api
from schema import initiatives as initiatives_api
from schema import members as members_api
from schema import moderation as moderation_api
from schema import moderation_events as moderation_events_api
from schema import nodes as nodes_api
from schema import notifications as notifications_api
from schema import organizations as organizations_api
from schema import push as push_api
from schema import reference as reference_api
from schema import relations as relations_api
from schema import resources as resources_api
from schema import review_actions as review_api
from schema import reviews as reviews_api
from schema import search as search_api
from schema import support as support_api
from schema import support_events as support_events_api
from schema import support_messages as support_messages_api
from schema import support_practice as support_practice_api
from schema import threads as threads_api
from schema import topic_follows as topic_follows_api
from schema import translation_actions
from schema import translation_requests as translation_requests_api
from schema import webhooks as webhooks_api
from schema import webinar_events as webinar_events_api
from schema import webinar_live as webinar_live_api
from schema import webinar_record as webinar_record_api
from schema import webinars as webinars_api
from schema.context import Context
from schema.extensions import (
    CACHED_TEXTS,
    ErrorCodes,
    IntrospectionPolicy,
    QueryCost,
    ReportingParserCache,
    RequestShape,
    log_client_errors,
)
from schema.fanout import SharedEventExecutor
from schema.relay import Connection, Node


@strawberry.type(description="Everything that can be read.")
class Query:
    viewer: members_api.Member | None = strawberry.field(
        resolver=members_api.resolve_viewer,
        description="The signed-in member (from the bearer token); null when not signed in.",
    )
    node: Node | None = strawberry.field(
        resolver=nodes_api.resolve_node,
        description="Any object by its global ID; null when it does not exist or is not visible.",
    )
    nodes: list[Node | None] = strawberry.field(
        resolver=nodes_api.resolve_nodes,
        description="Objects by global IDs (at most 100), in order; null for each one not visible.",
    )
    member: members_api.Member | None = strawberry.field(
        resolver=members_api.resolve_member,
        description="A member by global ID; null when it does not exist or is not visible.",
    )
    members: Connection[members_api.Member] = strawberry.field(
        resolver=members_api.resolve_members,
        description=(
            "The member and expert directory, by name. Signed-in members see every member; "
            "the public sees opted-in experts only."
        ),
    )
    organizations: Connection[organizations_api.Organization] = strawberry.field(
        resolver=organizations_api.resolve_organizations,
        description="Organisations in the hub, by name.",
    )
    gcm_objectives: list[reference_api.GcmObjective] = strawberry.field(
        resolver=reference_api.resolve_gcm_objectives,
        description="The 23 GCM objectives in order (a fixed set, so a plain list).",
    )
    gcm_objective: reference_api.GcmObjective | None = strawberry.field(
        resolver=reference_api.resolve_gcm_objective,
        description="One GCM objective by number; null outside 1 to 23.",
    )
    guiding_principles: list[reference_api.GuidingPrinciple] = strawberry.field(
        resolver=reference_api.resolve_guiding_principles,
        description="The 10 guiding principles of the GCM in order (a fixed set, so a plain list).",
    )
    un_regions: list[reference_api.Region] = strawberry.field(
        resolver=reference_api.resolve_un_regions,
        description="The five top-level UN M49 regions (a fixed set, so a plain list).",
    )
    official_languages: list[str] = strawberry.field(
        resolver=reference_api.resolve_official_languages,
        description="The six official UN languages as BCP 47 tags, in official order: offer "
        "them first wherever a language is chosen.",
    )
    un_languages: list[reference_api.Language] = strawberry.field(
        resolver=reference_api.resolve_un_languages,
        description="The six official UN languages, named in the request's language (CLDR), "
        "with their writing direction (a fixed set, so a plain list).",
    )
    community: communities_api.Community | None = strawberry.field(
        resolver=communities_api.resolve_community,
        description="A community by global ID or slug; null when missing or not visible.",
    )
    communities: Connection[communities_api.Community] = strawberry.field(
        resolver=communities_api.resolve_communities,
        description="Communities of practice, by name. Private ones are listed to signed-in "
        "members (so they can ask to join); their threads only to their members.",
    )
    thread: threads_api.Thread | None = strawberry.field(
        resolver=threads_api.resolve_thread,
        description="A thread by global ID; null when missing or not readable.",
    )
    threads: Connection[threads_api.Thread] = strawberry.field(
        resolver=threads_api.resolve_community_threads,
        description="A community's threads: pinned first, then by last activity.",
    )
    moderation_queue: Connection[moderation_api.ContentFlag] | None = strawberry.field(
        resolver=moderation_api.resolve_moderation_queue,
        description="Open flags, oldest first, in communities you moderate (all, for staff); "
        "null when not signed in.",
    )
    audit_log: Connection[moderation_api.AuditEntry] | None = strawberry.field(
        resolver=moderation_api.resolve_audit_log,
        description="Moderation actions, newest first: a community's for its moderators, all "
        "for global moderators and admins; null for others.",
    )
    notifications: Connection[notifications_api.Notification] | None = strawberry.field(
        resolver=notifications_api.resolve_notifications,
        description="Your notifications, newest first; null when not signed in.",
    )
    notification_cursor: str | None = strawberry.field(
        resolver=notifications_api.resolve_notification_cursor,
        description="Cursor of your latest notification event, for "
        "`notificationReceived(after:)`; null when not signed in.",
    )
    moderation_cursor: str | None = strawberry.field(
        resolver=moderation_events_api.resolve_moderation_cursor,
        description="Moderators: cursor of the latest moderation event, for "
        "`moderationEvents(after:)`; null for everyone else.",
    )
    unread_notification_count: int = strawberry.field(
        resolver=notifications_api.resolve_unread_notification_count,
        description="How many of your notifications are unread (0 when not signed in).",
    )
    deliveries: Connection[deliveries_api.Delivery] | None = strawberry.field(
        resolver=deliveries_api.resolve_deliveries,
        description="Admins: the outbox's deliveries (emails, digests, push messages, webhook "
        "calls), newest first; `state: DEAD` lists the dead letters. Null for others.",
    )
    push_public_key: str | None = strawberry.field(
        resolver=push_api.resolve_push_public_key,
        description="The hub's VAPID public key (base64url), the `applicationServerKey` for "
        "`PushManager.subscribe()`; null when push is not configured.",
    )
    webhook_endpoints: Connection[webhooks_api.WebhookEndpoint] | None = strawberry.field(
        resolver=webhooks_api.resolve_webhook_endpoints,
        description="Admins: the registered webhook endpoints, newest first; null for others.",
    )
    translation_requests: Connection[translation_requests_api.TranslationRequest] = (
        strawberry.field(
            resolver=translation_requests_api.resolve_translation_requests,
            description="Signed-in members (translators): the open translation requests of "
            "items you see, most asked first; empty for visitors.",
        )
    )
    # --- search
    search: search_api.SearchConnection = strawberry.field(
        resolver=search_api.resolve_search,
        description="Search threads, posts, members, resources, initiatives and webinars by "
        "text, with filters and facet counts; "
        "best first. Finds only what you may see: nothing else shows in hits, snippets, counts "
        "or facets.",
    )
    # --- support requests
    support_request: support_api.SupportRequest | None = strawberry.field(
        resolver=support_api.resolve_support_request,
        description="A support request by global ID; null when missing or not yours to see "
        "(requesting organisation, focal point, proposed experts, moderators).",
    )
    support_requests: Connection[support_api.SupportRequest] = strawberry.field(
        resolver=support_api.resolve_support_requests,
        description="Support requests you may see, newest first.",
    )
    suggested_experts: list[support_api.ExpertMatch] | None = strawberry.field(
        resolver=support_api.resolve_suggested_experts,
        description="Moderators (focal points): opted-in experts ranked for a support request, "
        "best first, each with why; null for others or when the request is not visible.",
    )
    # --- curated knowledge: resources, peer review, relations
    resource: resources_api.Resource | None = strawberry.field(
        resolver=resources_api.resolve_resource,
        description="A resource by global ID; null when missing or not visible.",
    )
    resources: Connection[resources_api.Resource] = strawberry.field(
        resolver=resources_api.resolve_resources,
        description="Resources, filtered and ordered; published ones unless `filter.states` says "
        "otherwise (and only what you may see). Superseded resources rank after their successors.",
    )
    stale_content: Connection[reviews_api.Reviewable] = strawberry.field(
        resolver=review_api.resolve_stale_content,
        description="Published resources and initiatives past their review-by date that you may "
        "see, most overdue first (superseded resources after their successors); each is a "
        "`Reviewable`: ask `... on Resource` or `... on Initiative` for the rest.",
    )
    review_queue: review_api.ReviewQueue | None = strawberry.field(
        resolver=review_api.resolve_review_queue,
        description="Reviewers: pending items assigned to you; moderators: every pending item. "
        "Oldest submission first, with counts by state. Null for everyone else.",
    )
    initiative: initiatives_api.Initiative | None = strawberry.field(
        resolver=initiatives_api.resolve_initiative,
        description="An initiative by global ID; null when missing or not visible.",
    )
    initiatives: Connection[initiatives_api.Initiative] = strawberry.field(
        resolver=initiatives_api.resolve_initiatives,
        description="Initiatives and practices, filtered and ordered; published ones unless "
        "`filter.states` says otherwise (and only what you may see).",
    )
    calls_for_practices: Connection[initiatives_api.CallForPractices] = strawberry.field(
        resolver=initiatives_api.resolve_calls_for_practices,
        description="Calls for practices, the next deadline first.",
    )
    relation_proposals: Connection[relations_api.ResourceRelation] | None = strawberry.field(
        resolver=relations_api.resolve_relation_proposals,
        description="Proposed relations waiting for a decision, oldest first: for reviewers "
        "and moderators; null for everyone else.",
    )
    # --- webinars
    webinar: webinars_api.Webinar | None = strawberry.field(
        resolver=webinars_api.resolve_webinar,
        description="A webinar by global ID; null when missing or not visible.",
    )
    webinars: Connection[webinars_api.Webinar] = strawberry.field(
        resolver=webinars_api.resolve_webinars,
        description="Webinars you may see, by start time: public ones, and your communities'.",
    )


@strawberry.type(description="Everything that changes something. Each takes one `input`.")
class Mutation:
    register: auth_api.RegisterPayload = strawberry.mutation(
        resolver=auth_api.register,
        description="Create an account; answers the same whether or not the email is taken.",
    )
    login: auth_api.SignInPayload = strawberry.mutation(
        resolver=auth_api.login,
        description="Sign in with email and password; rate limited per address and per account.",
    )
    logout: auth_api.LogoutPayload = strawberry.mutation(
        resolver=auth_api.logout, description="Revoke the token of this request."
    )
    change_password: auth_api.SignInPayload = strawberry.mutation(
        resolver=auth_api.change_password,
        description="Change your password: all your sessions end, this one gets a new token.",
    )
    update_profile: members_api.MemberPayload = strawberry.mutation(
        resolver=members_api.update_profile,
        description="Change your own profile (only the fields sent change).",
    )
    set_member_role: members_api.MemberPayload = strawberry.mutation(
        resolver=members_api.set_member_role,
        description="Admins only: give a member a role; the member's sessions end.",
    )
    create_organization: organizations_api.CreateOrganizationPayload = strawberry.mutation(
        resolver=organizations_api.create_organization,
        description="Admins only: add an organisation.",
    )
    assign_member_organization: members_api.MemberPayload = strawberry.mutation(
        resolver=members_api.assign_member_organization,
        description="Admins only: set the organisation a member speaks for.",
    )
    create_community: communities_api.CommunityPayload = strawberry.mutation(
        resolver=communities_api.create_community,
        description="Global moderators and admins: open a community; you become its moderator.",
    )
    join_community: communities_api.JoinCommunityPayload = strawberry.mutation(
        resolver=communities_api.join_community,
        description="Join a public community, ask to join a private one, or accept an invitation.",
    )
    leave_community: communities_api.MembershipPayload = strawberry.mutation(
        resolver=communities_api.leave_community, description="Leave a community."
    )
    decide_join_request: communities_api.MembershipPayload = strawberry.mutation(
        resolver=communities_api.decide_join_request,
        description="Community moderators: accept or decline a request to join.",
    )
    invite_to_community: communities_api.MembershipPayload = strawberry.mutation(
        resolver=communities_api.invite_to_community,
        description="Community moderators: invite a member.",
    )
    remove_community_member: communities_api.MembershipPayload = strawberry.mutation(
        resolver=communities_api.remove_community_member,
        description="Community moderators: remove a member (audited); their live updates stop.",
    )
    set_community_role: communities_api.MembershipPayload = strawberry.mutation(
        resolver=communities_api.set_community_role,
        description="Community moderators: change a member's role in the community.",
    )
    create_thread: threads_api.ThreadPayload = strawberry.mutation(
        resolver=threads_api.create_thread,
        description="Open a thread in a community you belong to.",
    )
    create_post: threads_api.PostPayload = strawberry.mutation(
        resolver=threads_api.create_post,
        description="Reply in a thread; idempotent with `idempotencyKey`.",
    )
    edit_post: threads_api.PostPayload = strawberry.mutation(
        resolver=threads_api.edit_post,
        description="Edit your post if nobody edited it since `expectedVersion` (else EDIT_CONFLICT).",
    )
    react_to_post: threads_api.PostPayload = strawberry.mutation(
        resolver=threads_api.react_to_post,
        description="Give or take back a reaction (one of each kind per member).",
    )
    mark_thread_read: threads_api.ThreadPayload = strawberry.mutation(
        resolver=threads_api.mark_thread_read,
        description="Mark a thread read up to its last reply.",
    )
    moderate_thread: moderation_api.ModerationPayload = strawberry.mutation(
        resolver=moderation_api.moderate_thread,
        description="Community moderators: pin, unpin, lock, unlock or delete a thread, with a reason.",
    )
    move_thread: moderation_api.ModerationPayload = strawberry.mutation(
        resolver=moderation_api.move_thread,
        description="Community moderators: move a thread to another community they moderate.",
    )
    delete_post: moderation_api.ModerationPayload = strawberry.mutation(
        resolver=moderation_api.delete_post,
        description="Delete your post, or any post as a moderator (with a reason).",
    )
    flag_content: moderation_api.ModerationPayload = strawberry.mutation(
        resolver=moderation_api.flag_content, description="Ask moderators to look at a post."
    )
    resolve_flag: moderation_api.ModerationPayload = strawberry.mutation(
        resolver=moderation_api.resolve_flag,
        description="Community moderators: close a flag, with a note (audited).",
    )
    follow: notifications_api.FollowPayload = strawberry.mutation(
        resolver=notifications_api.follow,
        description="Follow a thread or community at a watch level.",
    )
    mark_notifications_read: notifications_api.MarkNotificationsReadPayload = strawberry.mutation(
        resolver=notifications_api.mark_notifications_read,
        description="Mark some or all of your notifications read.",
    )
    update_notification_preferences: deliveries_api.UpdateNotificationPreferencesPayload = (
        strawberry.mutation(
            resolver=deliveries_api.update_notification_preferences,
            description="Choose how each kind of notification reaches you: when by email, "
            "and whether by push.",
        )
    )
    follow_topic: topic_follows_api.TopicFollowPayload = strawberry.mutation(
        resolver=topic_follows_api.follow_topic,
        description="Follow a GCM objective, guiding principle, country or region: you are "
        "notified (FOLLOWED_TOPIC, by default in your weekly digest) when a resource or "
        "initiative tagged with it is published, a webinar on it is scheduled, or a call for "
        "practices on it opens.",
    )
    unfollow_topic: topic_follows_api.TopicFollowPayload = strawberry.mutation(
        resolver=topic_follows_api.unfollow_topic,
        description="Stop following a topic.",
    )
    register_push_subscription: push_api.RegisterPushSubscriptionPayload = strawberry.mutation(
        resolver=push_api.register_push_subscription,
        description="Register your browser's or app's Web Push subscription: notifications "
        "of the kinds you have pushed go to it (registering it again updates its keys).",
    )
    unregister_push_subscription: push_api.UnregisterPushSubscriptionPayload = strawberry.mutation(
        resolver=push_api.unregister_push_subscription,
        description="Stop pushing to one of your subscriptions.",
    )
    retry_delivery: deliveries_api.DeliveryPayload = strawberry.mutation(
        resolver=deliveries_api.retry_delivery,
        description="Admins: send a dead delivery again, with a fresh count of attempts (the "
        "same delivery id, so receivers that got it after all drop the duplicate).",
    )
    create_webhook_endpoint: webhooks_api.CreateWebhookEndpointPayload = strawberry.mutation(
        resolver=webhooks_api.create_webhook_endpoint,
        description="Admins: register an endpoint to be called, signed (Standard Webhooks), "
        "when the chosen events happen; its secret is shown once.",
    )
    redeliver_webhook: deliveries_api.DeliveryPayload = strawberry.mutation(
        resolver=webhooks_api.redeliver_webhook,
        description="Admins: call an endpoint again with one of its deliveries (same webhook-id).",
    )
    # --- support requests
    submit_support_request: support_api.SupportRequestPayload = strawberry.mutation(
        resolver=support_api.submit_support_request,
        description="Members of a government (organisation kind GOVERNMENT): ask for support.",
    )
    triage_support_request: support_api.SupportRequestPayload = strawberry.mutation(
        resolver=support_api.triage_support_request,
        description="Moderators: take a SUBMITTED request as its focal point (→ TRIAGED).",
    )
    propose_expert: support_api.SupportRequestPayload = strawberry.mutation(
        resolver=support_api.propose_expert,
        description="The focal point (or a moderator): propose an opted-in expert.",
    )
    respond_to_expert_proposal: support_api.SupportRequestPayload = strawberry.mutation(
        resolver=support_api.respond_to_expert_proposal,
        description="A proposed expert: accept (the first acceptance → MATCHED) or decline.",
    )
    change_support_request_status: support_api.SupportRequestPayload = strawberry.mutation(
        resolver=support_api.change_support_request_status,
        description="The focal point (or a moderator): start, complete or decline (with a "
        "reason); other steps answer INVALID_TRANSITION.",
    )
    post_support_message: support_messages_api.SupportMessagePayload = strawberry.mutation(
        resolver=support_messages_api.post_support_message,
        description="Write in a support request's private thread (anyone who sees the request).",
    )
    document_support_request: support_practice_api.DocumentSupportRequestPayload = (
        strawberry.mutation(
            resolver=support_practice_api.document_support_request,
            description="Members of the requesting government, its focal point and moderators: "
            "document a COMPLETED support request as a practice, an initiative DRAFT of yours "
            "prefilled from it and linked to it, which then goes through the normal review. "
            "Once per request: again, it answers the same draft (`alreadyDocumented`).",
        )
    )
    # --- curated knowledge: resources, peer review, relations
    create_resource: resources_api.ResourcePayload = strawberry.mutation(
        resolver=resources_api.create_resource,
        description="Create a resource as a DRAFT, for your organisation.",
    )
    update_resource: resources_api.ResourcePayload = strawberry.mutation(
        resolver=resources_api.update_resource,
        description="Edit your resource (only the fields sent change); editing a published one "
        "creates a revision to review.",
    )
    submit_for_review: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.submit_for_review,
        description="Authors: send a DRAFT (or CHANGES_REQUESTED) item to review.",
    )
    withdraw_item: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.withdraw_item,
        description="Authors: withdraw an item that is not yet decided.",
    )
    assign_reviewer: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.assign_reviewer,
        description="Moderators: ask a reviewer to review an item (refused on a conflict of "
        "interest: the author, the author's organisation, or declared).",
    )
    declare_conflict_of_interest: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.declare_conflict_of_interest,
        description="Reviewers: declare a conflict of interest with an item (ends your "
        "assignment to it).",
    )
    submit_review: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.submit_review,
        description="Assigned reviewers: decide, comment and fill in the checklist; the "
        "publishing rule then moves the item on.",
    )
    decide_review_item: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.decide_review_item,
        description="Moderators: decide an item alone, with a reason (audited).",
    )
    archive_item: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.archive_item,
        description="Moderators: archive an APPROVED or REJECTED item, with a reason (audited).",
    )
    send_back_to_review: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.send_back_to_review,
        description="Moderators: send a published item back to review; it stays visible, "
        '"under re-review" (audited).',
    )
    set_review_by: review_api.ReviewItemPayload = strawberry.mutation(
        resolver=review_api.set_review_by,
        description="Moderators: set when a published item is due a re-review.",
    )
    create_initiative: initiatives_api.InitiativePayload = strawberry.mutation(
        resolver=initiatives_api.create_initiative,
        description="Create an initiative as a DRAFT, optionally answering an open call.",
    )
    update_initiative: initiatives_api.InitiativePayload = strawberry.mutation(
        resolver=initiatives_api.update_initiative,
        description="Edit your initiative (only the fields sent change); editing a published one "
        "creates a revision to review.",
    )
    submit_translation: translation_actions.TranslationPayload = strawberry.mutation(
        resolver=translation_actions.submit_translation,
        description="Members who declared the language: translate an item's text fields (HUMAN, "
        "or MACHINE when a tool made it); a HUMAN translation shows at once, marked.",
    )
    verify_translation: translation_actions.TranslationPayload = strawberry.mutation(
        resolver=translation_actions.verify_translation,
        description="Reviewers who declared the language: mark another's translation VERIFIED.",
    )
    remove_translation: translation_actions.TranslationPayload = strawberry.mutation(
        resolver=translation_actions.remove_translation,
        description="Moderators: remove an item's translation into a language (every field).",
    )
    request_translation: translation_requests_api.RequestTranslationPayload = strawberry.mutation(
        resolver=translation_requests_api.request_translation,
        description="Signed-in members: ask to have an item you see in a language (one "
        "request per item and language, counting who asked; refused when a current "
        "translation into it exists).",
    )
    set_initiative_featured: initiatives_api.InitiativePayload = strawberry.mutation(
        resolver=initiatives_api.set_initiative_featured,
        description="Moderators: feature a published initiative (the flagship showcase), or not.",
    )
    create_call_for_practices: initiatives_api.CallForPracticesPayload = strawberry.mutation(
        resolver=initiatives_api.create_call_for_practices,
        description="Moderators: open a call for practices with a deadline.",
    )
    propose_relation: relations_api.RelationPayload = strawberry.mutation(
        resolver=relations_api.propose_relation,
        description="Propose how one resource relates to another (any member).",
    )
    decide_relation: relations_api.RelationPayload = strawberry.mutation(
        resolver=relations_api.decide_relation,
        description="Reviewers and moderators: confirm or reject a proposed relation.",
    )
    # --- webinars
    create_webinar: webinars_api.WebinarPayload = strawberry.mutation(
        resolver=webinars_api.create_webinar,
        description="Global moderators (anywhere) and community moderators (in their "
        "community): schedule a webinar; you become an organiser.",
    )
    update_webinar: webinars_api.WebinarPayload = strawberry.mutation(
        resolver=webinars_api.update_webinar,
        description="Organisers and moderators: change a webinar (only the fields sent change; "
        "registrants are told of a new schedule).",
    )
    set_webinar_status: webinars_api.WebinarPayload = strawberry.mutation(
        resolver=webinars_api.set_webinar_status,
        description="Organisers and moderators: go LIVE, END or CANCEL (else INVALID_TRANSITION).",
    )
    register_for_webinar: webinars_api.RegistrationPayload = strawberry.mutation(
        resolver=webinars_api.register_for_webinar,
        description="Take a seat, or a place on the waitlist when the webinar is full.",
    )
    cancel_registration: webinars_api.RegistrationPayload = strawberry.mutation(
        resolver=webinars_api.cancel_registration,
        description="Give up your seat (the waitlist's first gets it) or waitlist place.",
    )
    reset_calendar_feed: webinars_api.CalendarFeedPayload = strawberry.mutation(
        resolver=webinars_api.reset_calendar_feed,
        description="A new secret URL for your webinars' calendar (for calendar apps).",
    )
    send_chat_message: webinar_live_api.ChatMessagePayload = strawberry.mutation(
        resolver=webinar_live_api.send_chat_message,
        description="Write in a live webinar's chat (rate limited; slow mode if set).",
    )
    delete_chat_message: webinar_live_api.ChatMessagePayload = strawberry.mutation(
        resolver=webinar_live_api.delete_chat_message,
        description="Organisers and moderators: delete a chat message (an event for all).",
    )
    ask_question: webinar_live_api.QuestionPayload = strawberry.mutation(
        resolver=webinar_live_api.ask_question,
        description="Ask in a webinar's Q&A, optionally anonymously to other participants.",
    )
    upvote_question: webinar_live_api.QuestionPayload = strawberry.mutation(
        resolver=webinar_live_api.upvote_question,
        description="Upvote an open question (once per member).",
    )
    answer_question: webinar_live_api.QuestionPayload = strawberry.mutation(
        resolver=webinar_live_api.answer_question,
        description="Organisers, speakers and moderators: answer a question, live or in writing.",
    )
    dismiss_question: webinar_live_api.QuestionPayload = strawberry.mutation(
        resolver=webinar_live_api.dismiss_question,
        description="Organisers, speakers and moderators: dismiss an open question.",
    )
    # --- webinars: their lasting record in the knowledge base
    file_webinar_record: webinar_record_api.FileWebinarRecordPayload = strawberry.mutation(
        resolver=webinar_record_api.file_webinar_record,
        description="Organisers and moderators: file an ENDED webinar with its recording and "
        "answered questions as a resource DRAFT of yours, for the normal review; once per "
        "webinar (filing again answers the record already filed).",
    )
    link_webinar_resource: webinar_record_api.WebinarResourcePayload = strawberry.mutation(
        resolver=webinar_record_api.link_webinar_resource,
        description="Organisers and moderators: link a published resource to a webinar.",
    )
    unlink_webinar_resource: webinar_record_api.WebinarResourcePayload = strawberry.mutation(
        resolver=webinar_record_api.unlink_webinar_resource,
        description="Organisers and moderators: take a resource off a webinar's resources.",
    )


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws).")
class Subscription:
    thread_events: AsyncGenerator[events_api.ThreadEventMessage, None] = strawberry.subscription(
        resolver=events_api.thread_events,
        description="A thread's events: replays after `after`, then live; nothing lost, nothing "
        "twice. Ends when you may no longer read the thread.",
    )
    community_activity: AsyncGenerator[events_api.CommunityEventMessage, None] = (
        strawberry.subscription(
            resolver=events_api.community_activity,
            description="A community's events (new threads, activity, membership), resumable like "
            "`threadEvents`.",
        )
    )
    notification_received: AsyncGenerator[events_api.NotificationEventMessage, None] = (
        strawberry.subscription(
            resolver=events_api.notification_received,
            description="Your new notifications, resumable like `threadEvents`.",
        )
    )
    support_request_events: AsyncGenerator[support_events_api.SupportRequestEventMessage, None] = (
        strawberry.subscription(
            resolver=support_events_api.support_request_events,
            description="A support request's changes and messages, resumable like "
            "`threadEvents`. Ends when you may no longer see the request.",
        )
    )
    moderation_events: AsyncGenerator[moderation_events_api.ModerationEventMessage, None] = (
        strawberry.subscription(
            resolver=moderation_events_api.moderation_events,
            description="Moderators: new flags, join requests, items submitted for review and "
            "support requests, resumable like `threadEvents`. Global moderators and admins "
            "receive all; a community's moderators that community's flags and join requests. "
            "Refused to everyone else.",
        )
    )
    webinar_events: AsyncGenerator[webinar_events_api.WebinarEventMessage, None] = (
        strawberry.subscription(
            resolver=webinar_events_api.webinar_events,
            description="A webinar's chat, Q&A and status events, resumable like "
            "`threadEvents`. Registered participants, hosts and moderators only; ends when "
            "your registration is cancelled.",
        )
    )


@dataclass(frozen=True)
class Limits:
    """Per-document limits; defaults are the house plan's."""

    max_depth: int = 10
    max_tokens: int = 2_000
    max_aliases: int = 15
    max_cost: int = 10_000


class HubSchema(strawberry.Schema):
    """A schema whose operations each get their own context copy (fresh DataLoaders),
    also when many run on one WebSocket."""

    # The rules its AddValidationRules adds (the depth and alias limits): the compiler
    # validates a text with these very objects, so both share one cached validation.
    limit_rules: tuple[Any, ...] = ()

    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        _fork_context(kwargs)
        return await super().execute(query, *args, **kwargs)

    async def stream(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        _fork_context(kwargs)
        return await super().stream(query, *args, **kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Not strawberry's default (every error with its traceback): see log_client_errors."""
        log_client_errors(errors)


def _fork_context(kwargs: dict[str, Any]) -> None:
    context = kwargs.get("context_value")
    if isinstance(context, Context):
        kwargs["context_value"] = context.for_operation()


def limit_rules(limits: Limits) -> list[Any]:
    """The validation rules of the depth and alias limits (compiled documents keep them too)."""
    return [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]


def make_schema(
    limits: Limits = Limits(), measured_by: Sequence[Callable[[], SchemaExtension]] = ()
) -> HubSchema:
    """The schema with its limits. `measured_by`: extensions that see each operation from
    outside every other (they run first, and resume last: codes and masking are set)."""
    # The limit rules are built once: ValidationCache keys on the rule classes, so rules
    # created per request would never hit the cache.
    rules = limit_rules(limits)
    extensions: list[Callable[[], SchemaExtension]] = [
        *measured_by,
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ReportingParserCache(maxsize=CACHED_TEXTS),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHED_TEXTS),
        RequestShape,
        IntrospectionPolicy,
        lambda: QueryCost(maximum=limits.max_cost),
    ]
    made = HubSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[reference_api.GcmObjective],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=SharedEventExecutor,
    )
    made.limit_rules = tuple(rules)
    return made


schema = make_schema()
