"""Viewer-specific fields (schema/viewer_fields.py), found by walking the schema: a field that
looks at the viewer is either listed there (a document selecting it is never shared) or
reviewed here as using the viewer only to ask the policy what the viewer's audience may see."""

from __future__ import annotations

import re

# Fields whose resolver looks at the viewer only to ask the policy what the viewer's audience
# may see (or to pass it to a loader that does): reviewed, their answers are the same for the
# whole audience. Anything else that looks at the viewer must be in VIEWER_SPECIFIC_FIELDS.
AUDIENCE_ONLY = frozenset(
    {
        "CallForPractices.initiatives",
        "Community.members",
        "Community.joinRequests",
        "GcmObjective.resourceCount",
        "GcmObjective.resources",
        "GcmObjective.initiativeCount",
        "GcmObjective.initiatives",
        "GcmObjective.expertCount",
        "GcmObjective.experts",
        "Initiative.revisions",
        "Initiative.reviews",
        "Initiative.reviewers",
        "Post.reactions",  # its `reactedByViewer` is listed
        "Query.members",
        "Query.organizations",
        "Query.community",
        "Query.communities",
        "Query.threads",
        "Query.moderationQueue",
        "Query.auditLog",
        "Query.moderationCursor",
        "Query.deliveries",
        "Query.webhookEndpoints",
        "Query.search",
        "Query.supportRequests",
        "Query.suggestedExperts",
        "Query.resources",
        "Query.staleContent",
        "Query.initiatives",
        "Query.relationProposals",
        "Query.webinars",
        "Resource.revisions",
        "Resource.reviews",
        "Resource.reviewers",
        "Review.reviewer",
        "SupportRequest.timeline",
        "SupportRequest.messages",
        "SupportRequest.documentedPractice",
        "Thread.posts",
        "WebhookEndpoint.deliveries",
        "Webinar.chatMessages",
        "Webinar.questions",
        "Webinar.record",
    }
)
LOOKS_AT_THE_VIEWER = re.compile(r"(?<!re)viewer|\bme\b|\bmy_|by_me\b|to_me\b", re.I)
NAMED_FOR_THE_VIEWER = re.compile(r"(?<!re)viewer|unread|^my[A-Z]|ByMe|ToMe|^me$", re.I)


def test_every_field_that_depends_on_the_viewer_is_known():
    import inspect

    from graphql import GraphQLObjectType

    from app.main import _limits
    from app.settings import Settings
    from schema import make_schema
    from schema.viewer_fields import VIEWER_SPECIFIC_FIELDS

    schema = make_schema(_limits(Settings(_env_file=None, secret_key="x" * 48)))  # type: ignore[call-arg]
    unknown = []
    for type_name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        if type_name in ("Mutation", "Subscription"):
            continue  # never cached; their payloads' fields are still checked below
        for field_name, field in graphql_type.fields.items():
            coordinate = f"{type_name}.{field_name}"
            definition = field.extensions.get("strawberry-definition")
            resolver = getattr(definition, "base_resolver", None)
            source = inspect.getsource(resolver.wrapped_func) if resolver else ""
            arguments_for_viewer = any(NAMED_FOR_THE_VIEWER.search(a) for a in field.args)
            suspicious = (
                LOOKS_AT_THE_VIEWER.search(source)
                or NAMED_FOR_THE_VIEWER.search(field_name)
                or arguments_for_viewer
            )
            if suspicious and coordinate not in VIEWER_SPECIFIC_FIELDS | AUDIENCE_ONLY:
                unknown.append(coordinate)
    assert unknown == [], (
        f"{unknown}: list each in schema/viewer_fields.py or, if reviewed, AUDIENCE_ONLY"
    )
    stale = AUDIENCE_ONLY & VIEWER_SPECIFIC_FIELDS
    assert not stale
