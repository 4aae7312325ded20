"""DataLoaders, one set per operation, named for what they load. One IN query per batch."""

from __future__ import annotations

from functools import cached_property, partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from models.community import CommunityRole
from models.db import AnyRow
from models.notification import FollowTarget, WatchLevel
from resolvers import (
    communities,
    members,
    notifications,
    organizations,
    positions,
    reference,
    threads,
    webinar_access,
    webinar_chat,
    webinar_hosts,
    webinar_questions,
    webinar_registrations,
    webinars,
)
from resolvers.policy import Viewer, WebinarAccess


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], viewer: Viewer) -> None:
        self._sessions = sessions
        self._viewer = viewer

    @cached_property
    def member_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(members.members_by_ids, self._sessions, self._viewer))

    @cached_property
    def organization_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(organizations.organizations_by_ids, self._sessions, self._viewer))

    @cached_property
    def languages_by_member(self) -> DataLoader[int, list[str]]:
        return DataLoader(partial(members.languages_by_member, self._sessions))

    @cached_property
    def expertise_by_member(self) -> DataLoader[int, list[int]]:
        return DataLoader(partial(members.expertise_by_member, self._sessions))

    @cached_property
    def objective_by_number(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(reference.objectives_by_numbers, self._sessions))

    # --- communities, threads, posts

    @cached_property
    def community_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(communities.communities_by_ids, self._sessions, self._viewer))

    @cached_property
    def viewer_role_by_community(self) -> DataLoader[int, CommunityRole | None]:
        return DataLoader(partial(communities.roles_of, self._sessions, self._viewer))

    @cached_property
    def objectives_by_community(self) -> DataLoader[int, list[int]]:
        return DataLoader(partial(communities.objectives_by_community, self._sessions))

    @cached_property
    def languages_by_community(self) -> DataLoader[int, list[str]]:
        return DataLoader(partial(communities.languages_by_community, self._sessions))

    @cached_property
    def thread_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(threads.threads_by_ids, self._sessions, self._viewer))

    @cached_property
    def post_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(threads.posts_by_ids, self._sessions, self._viewer))

    @cached_property
    def tags_by_thread(self) -> DataLoader[int, list[str]]:
        return DataLoader(partial(threads.tags_by_thread, self._sessions))

    @cached_property
    def objectives_by_thread(self) -> DataLoader[int, list[int]]:
        return DataLoader(partial(threads.objectives_by_thread, self._sessions))

    @cached_property
    def participants_by_thread(self) -> DataLoader[int, list[int]]:
        return DataLoader(partial(threads.participants_by_thread, self._sessions))

    @cached_property
    def unread_by_thread(self) -> DataLoader[int, int]:
        return DataLoader(partial(threads.unread_by_thread, self._sessions, self._viewer))

    @cached_property
    def reactions_by_post(self) -> DataLoader[int, list[threads.ReactionSummary]]:
        return DataLoader(partial(threads.reactions_by_post, self._sessions, self._viewer))

    @cached_property
    def revisions_by_post(self) -> DataLoader[int, list[AnyRow]]:
        return DataLoader(partial(threads.revisions_by_post, self._sessions))

    @cached_property
    def follow_level_by_thread(self) -> DataLoader[int, WatchLevel | None]:
        return DataLoader(
            partial(notifications.follow_levels, self._sessions, self._viewer, FollowTarget.THREAD)
        )

    @cached_property
    def follow_level_by_community(self) -> DataLoader[int, WatchLevel | None]:
        return DataLoader(
            partial(
                notifications.follow_levels, self._sessions, self._viewer, FollowTarget.COMMUNITY
            )
        )

    @cached_property
    def position_by_stream(self) -> DataLoader[str, int]:
        return DataLoader(partial(positions.stream_positions, self._sessions))

    @cached_property
    def notification_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(notifications.notifications_by_ids, self._sessions, self._viewer))

    # --- webinars

    @cached_property
    def webinar_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(webinars.webinars_by_ids, self._sessions, self._viewer))

    @cached_property
    def objectives_by_webinar(self) -> DataLoader[int, list[int]]:
        return DataLoader(partial(webinars.objectives_by_webinar, self._sessions))

    @cached_property
    def languages_by_webinar(self) -> DataLoader[int, tuple[list[str], list[str]]]:
        return DataLoader(partial(webinars.languages_by_webinar, self._sessions))

    @cached_property
    def hosts_by_webinar(self) -> DataLoader[int, list[AnyRow]]:
        return DataLoader(partial(webinar_hosts.hosts_by_webinar, self._sessions))

    @cached_property
    def access_by_webinar(self) -> DataLoader[int, WebinarAccess]:
        return DataLoader(partial(webinar_access.access_by_webinar, self._sessions, self._viewer))

    @cached_property
    def waitlist_position_by_webinar(self) -> DataLoader[int, int | None]:
        return DataLoader(
            partial(webinar_registrations.waitlist_positions, self._sessions, self._viewer)
        )

    @cached_property
    def chat_message_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(webinar_chat.chat_messages_by_ids, self._sessions, self._viewer))

    @cached_property
    def question_by_id(self) -> DataLoader[int, AnyRow | None]:
        return DataLoader(partial(webinar_questions.questions_by_ids, self._sessions, self._viewer))

    @cached_property
    def upvoted_by_question(self) -> DataLoader[int, bool]:
        return DataLoader(
            partial(webinar_questions.upvoted_by_viewer, self._sessions, self._viewer)
        )
