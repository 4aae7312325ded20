"""DataLoaders, one set per operation, named for what they load. One IN query per batch."""

from __future__ import annotations

from functools import cached_property, partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from models.db import AnyRow
from resolvers import members, organizations, reference
from resolvers.policy import Viewer


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
