"""DataLoaders, one set per operation, named for what they load. One IN query per batch."""

from __future__ import annotations

from functools import cached_property, partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from models.community import CommunityRole
from models.db import AnyRow
from models.notification import FollowTarget, WatchLevel
from models.review import PrincipleAnswer, ReviewItemKind
from models.translation import TranslatableKind
from resolvers import (
    calls,
    communities,
    initiatives,
    members,
    notifications,
    organizations,
    positions,
    reference,
    relations,
    resources,
    review_reads,
    support,
    support_messages,
    support_practice,
    support_proposals,
    threads,
    translations,
    webinar_access,
    webinar_chat,
    webinar_hosts,
    webinar_questions,
    webinar_record,
    webinar_registrations,
    webinars,
)
from resolvers.pagination import Page, PageRequest
from resolvers.policy import Viewer, WebinarAccess
from schema.loader_spans import batch_span


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], viewer: Viewer) -> None:
        self._sessions = sessions
        self._viewer = viewer

    @cached_property
    def member_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(batch_span(partial(members.members_by_ids, self._sessions, self._viewer)))

    @cached_property
    def organization_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(organizations.organizations_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def languages_by_member(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(members.languages_by_member, self._sessions)))

    @cached_property
    def expertise_by_member(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(members.expertise_by_member, self._sessions)))

    @cached_property
    def objective_by_number(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(batch_span(partial(reference.objectives_by_numbers, self._sessions)))

    @cached_property
    def principle_by_letter(self) -> DataLoader[str, AnyRow | None]:
        return DataLoader(batch_span(partial(reference.principles_by_letters, self._sessions)))

    @cached_property
    def reference_titles_by_key(self) -> DataLoader[tuple[str, str], list[AnyRow]]:
        return DataLoader(partial(reference.titles_by_keys, self._sessions))

    # --- communities, threads, posts

    @cached_property
    def community_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(communities.communities_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def viewer_role_by_community(self) -> DataLoader[int, CommunityRole | None]:
        return DataLoader(batch_span(partial(communities.roles_of, self._sessions, self._viewer)))

    @cached_property
    def objectives_by_community(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(communities.objectives_by_community, self._sessions)))

    @cached_property
    def languages_by_community(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(communities.languages_by_community, self._sessions)))

    @cached_property
    def thread_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(batch_span(partial(threads.threads_by_ids, self._sessions, self._viewer)))

    @cached_property
    def post_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(batch_span(partial(threads.posts_by_ids, self._sessions, self._viewer)))

    @cached_property
    def tags_by_thread(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(threads.tags_by_thread, self._sessions)))

    @cached_property
    def objectives_by_thread(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(threads.objectives_by_thread, self._sessions)))

    @cached_property
    def participants_by_thread(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(threads.participants_by_thread, self._sessions)))

    @cached_property
    def unread_by_thread(self) -> DataLoader[int, int]:
        return DataLoader(
            batch_span(partial(threads.unread_by_thread, self._sessions, self._viewer))
        )

    @cached_property
    def reactions_by_post(self) -> DataLoader[int, list[threads.ReactionSummary]]:
        return DataLoader(
            batch_span(partial(threads.reactions_by_post, self._sessions, self._viewer))
        )

    @cached_property
    def revisions_by_post(self) -> DataLoader[int, list[AnyRow]]:
        return DataLoader(batch_span(partial(threads.revisions_by_post, self._sessions)))

    @cached_property
    def follow_level_by_thread(self) -> DataLoader[int, WatchLevel | None]:
        return DataLoader(
            batch_span(
                partial(
                    notifications.follow_levels, self._sessions, self._viewer, FollowTarget.THREAD
                )
            )
        )

    @cached_property
    def follow_level_by_community(self) -> DataLoader[int, WatchLevel | None]:
        return DataLoader(
            batch_span(
                partial(
                    notifications.follow_levels,
                    self._sessions,
                    self._viewer,
                    FollowTarget.COMMUNITY,
                )
            )
        )

    @cached_property
    def readable_by_community(self) -> DataLoader[int, bool]:
        return DataLoader(batch_span(partial(communities.readable, self._sessions, self._viewer)))

    @cached_property
    def position_by_stream(self) -> DataLoader[str, int]:
        return DataLoader(batch_span(partial(positions.stream_positions, self._sessions)))

    @cached_property
    def notification_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(notifications.notifications_by_ids, self._sessions, self._viewer))
        )

    # --- support requests

    @cached_property
    def support_request_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(support.support_requests_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def objectives_by_support_request(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(support.objectives_by_request, self._sessions)))

    @cached_property
    def countries_by_support_request(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(support.countries_by_request, self._sessions)))

    @cached_property
    def languages_by_support_request(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(support.languages_by_request, self._sessions)))

    @cached_property
    def proposals_by_support_request(self) -> DataLoader[int, list[AnyRow]]:
        return DataLoader(
            batch_span(partial(support_proposals.proposals_by_request, self._sessions))
        )

    @cached_property
    def support_message_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(support_messages.messages_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def support_timeline_entry_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(support.timeline_entries_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def practice_by_support_request(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(support_practice.practices_by_request, self._sessions, self._viewer))
        )

    @cached_property
    def support_request_by_practice(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(support_practice.requests_by_practice, self._sessions, self._viewer))
        )

    # --- curated knowledge: resources and their reviews

    @cached_property
    def resource_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(resources.resources_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def objectives_by_resource(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(resources.objectives_by_resource, self._sessions)))

    @cached_property
    def principles_by_resource(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(resources.principles_by_resource, self._sessions)))

    @cached_property
    def countries_by_resource(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(resources.countries_by_resource, self._sessions)))

    @cached_property
    def regions_by_resource(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(resources.regions_by_resource, self._sessions)))

    @cached_property
    def languages_by_resource(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(resources.languages_by_resource, self._sessions)))

    @cached_property
    def themes_by_resource(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(resources.themes_by_resource, self._sessions)))

    @cached_property
    def relations_by_resource(self) -> DataLoader[int, list[AnyRow]]:
        return DataLoader(
            batch_span(partial(relations.relations_by_resource, self._sessions, self._viewer))
        )

    @cached_property
    def relation_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(relations.relations_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def reviews_by_resource(self) -> DataLoader[tuple[int, int | None], list[AnyRow]]:
        """Keyed by (resource id, author id): whether the viewer may read them depends on both."""
        return DataLoader(
            batch_span(
                partial(
                    review_reads.reviews_by_item,
                    self._sessions,
                    self._viewer,
                    ReviewItemKind.RESOURCE,
                )
            )
        )

    @cached_property
    def reviewers_by_resource(self) -> DataLoader[tuple[int, int | None], list[int]]:
        return DataLoader(
            batch_span(
                partial(
                    review_reads.reviewers_by_item,
                    self._sessions,
                    self._viewer,
                    ReviewItemKind.RESOURCE,
                )
            )
        )

    @cached_property
    def principle_answers_by_review(self) -> DataLoader[int, list[tuple[str, PrincipleAnswer]]]:
        return DataLoader(
            batch_span(partial(review_reads.principle_answers_by_review, self._sessions))
        )

    # --- curated knowledge: initiatives and calls for practices

    @cached_property
    def initiative_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(initiatives.initiatives_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def partners_by_initiative(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(initiatives.partners_by_initiative, self._sessions)))

    @cached_property
    def objectives_by_initiative(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(initiatives.objectives_by_initiative, self._sessions)))

    @cached_property
    def principles_by_initiative(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(initiatives.principles_by_initiative, self._sessions)))

    @cached_property
    def countries_by_initiative(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(initiatives.countries_by_initiative, self._sessions)))

    @cached_property
    def regions_by_initiative(self) -> DataLoader[int, list[str]]:
        return DataLoader(batch_span(partial(initiatives.regions_by_initiative, self._sessions)))

    @cached_property
    def resources_by_initiative(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(initiatives.resources_by_initiative, self._sessions)))

    @cached_property
    def reviews_by_initiative(self) -> DataLoader[tuple[int, int | None], list[AnyRow]]:
        return DataLoader(
            batch_span(
                partial(
                    review_reads.reviews_by_item,
                    self._sessions,
                    self._viewer,
                    ReviewItemKind.INITIATIVE,
                )
            )
        )

    @cached_property
    def reviewers_by_initiative(self) -> DataLoader[tuple[int, int | None], list[int]]:
        return DataLoader(
            batch_span(
                partial(
                    review_reads.reviewers_by_item,
                    self._sessions,
                    self._viewer,
                    ReviewItemKind.INITIATIVE,
                )
            )
        )

    @cached_property
    def call_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(batch_span(partial(calls.calls_by_ids, self._sessions)))

    @cached_property
    def objectives_by_call(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(calls.objectives_by_call, self._sessions)))

    # --- webinars

    @cached_property
    def webinar_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(webinars.webinars_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def objectives_by_webinar(self) -> DataLoader[int, list[int]]:
        return DataLoader(batch_span(partial(webinars.objectives_by_webinar, self._sessions)))

    @cached_property
    def languages_by_webinar(self) -> DataLoader[int, tuple[list[str], list[str]]]:
        return DataLoader(batch_span(partial(webinars.languages_by_webinar, self._sessions)))

    @cached_property
    def hosts_by_webinar(self) -> DataLoader[int, list[AnyRow]]:
        return DataLoader(batch_span(partial(webinar_hosts.hosts_by_webinar, self._sessions)))

    @cached_property
    def access_by_webinar(self) -> DataLoader[int, WebinarAccess]:
        return DataLoader(
            batch_span(partial(webinar_access.access_by_webinar, self._sessions, self._viewer))
        )

    @cached_property
    def waitlist_position_by_webinar(self) -> DataLoader[int, int | None]:
        return DataLoader(
            batch_span(
                partial(webinar_registrations.waitlist_positions, self._sessions, self._viewer)
            )
        )

    @cached_property
    def chat_message_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(webinar_chat.chat_messages_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def question_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(webinar_questions.questions_by_ids, self._sessions, self._viewer))
        )

    @cached_property
    def upvoted_by_question(self) -> DataLoader[int, bool]:
        return DataLoader(
            batch_span(partial(webinar_questions.upvoted_by_viewer, self._sessions, self._viewer))
        )

    # --- webinars: their record in the knowledge base

    @cached_property
    def record_by_webinar(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(
            batch_span(partial(webinar_record.records_by_webinar, self._sessions, self._viewer))
        )

    @cached_property
    def linked_resources_by_webinar(self) -> DataLoader[tuple[int, PageRequest], Page]:
        return DataLoader(
            batch_span(partial(webinar_record.linked_resource_pages, self._sessions, self._viewer))
        )

    @cached_property
    def linked_resource_count_by_webinar(self) -> DataLoader[int, int]:
        return DataLoader(
            batch_span(partial(webinar_record.linked_resource_counts, self._sessions, self._viewer))
        )

    # --- translations

    @cached_property
    def translations_by_item(
        self,
    ) -> DataLoader[tuple[TranslatableKind, int], list[AnyRow]]:
        return DataLoader(partial(translations.translations_by_items, self._sessions, self._viewer))
