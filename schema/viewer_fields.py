"""The fields whose value depends on who the viewer is, not only on what their audience may
see: a document selecting one is answered for each viewer alone, never from a shared result
(the response cache, app/response_cache.py; live groups, schema/fanout.py).

tests/test_viewer_fields.py walks the schema: every field whose resolver looks at the viewer,
or whose name says it is about the viewer, is either listed here or reviewed there as using
the viewer only through the policy (which the audience decides)."""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# "Type.field" coordinates.
VIEWER_SPECIFIC_FIELDS = frozenset(
    {
        "Query.viewer",
        "Query.notifications",
        "Query.notificationCursor",
        "Query.unreadNotificationCount",
        "Query.reviewQueue",  # `assignedToMe`
        "Community.viewerRole",
        "Community.viewerWatchLevel",
        "Thread.unreadCount",
        "Thread.viewerWatchLevel",
        "ReactionCount.reactedByViewer",
        "Member.email",
        "Member.notificationPreferences",
        "Member.pushSubscriptions",  # the member's own, null for others
        "Member.follows",  # the member's own, null for others
        "Query.translationRequests",  # open requests a signed-in member may see; none for others
        "TranslationRequest.requestedByMe",
        "Webinar.viewer",
        "WebinarQuestion.viewer",
        "MarkNotificationsReadPayload.unreadCount",
        "SignInPayload.viewer",
    }
)

# Matched by name alone (a selection does not say its parent type without the schema): a field
# of another type spelt like one of these only makes a document uncacheable, never shared.
VIEWER_SPECIFIC_NAMES = frozenset(c.split(".", 1)[1] for c in VIEWER_SPECIFIC_FIELDS)


def selected_names(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> set[str]:
    """Every field name selected under `selection_set`, through fragments (each once)."""
    names: set[str] = set()
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
            names |= selected_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            names |= selected_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                names |= selected_names(fragment.selection_set, fragments, seen)
    return names


def selects_viewer_specific(operation: OperationDefinitionNode, document: DocumentNode) -> bool:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return bool(selected_names(operation.selection_set, fragments, set()) & VIEWER_SPECIFIC_NAMES)
