"""The typed context every resolver receives: viewer, database, per-operation loaders."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import strawberry
from broadcaster import Broadcast

from models.db import Database
from resolvers.auth import AuthConfig
from resolvers.languages import preferences
from resolvers.policy import ANONYMOUS, Viewer
from resolvers.push_subscriptions import PushConfig
from resolvers.review_rules import ReviewRule
from resolvers.search import Answer
from resolvers.search_cache import SearchCache
from resolvers.webhooks import AddressRules
from schema.loaders import Loaders
from subscriptions.events import EventPublisher


@dataclass
class Context:
    """Built once per HTTP request and once per WebSocket; `for_operation()` gives every
    operation its own DataLoaders, so nothing cached is shared between operations or viewers."""

    db: Database
    auth: AuthConfig
    development: bool
    viewer: Viewer = ANONYMOUS
    client_address: str = "unknown"
    connection_params: dict[str, Any] | None = None
    broadcast: Broadcast | None = None
    # The publishing rule of peer review (from the settings).
    review_rule: ReviewRule = field(default_factory=ReviewRule)
    # Where webhooks may point (from the settings).
    webhook_rules: AddressRules = field(default_factory=AddressRules)
    # Where push endpoints may point, and the VAPID public key (from the settings).
    push: PushConfig = field(default_factory=PushConfig)
    # The process's cache of search answers (None: every search computes its answer).
    search_cache: SearchCache[Answer] | None = None
    # The languages the request asked for (`Accept-Language`, or `language` in the WebSocket's
    # `connection_init`), most wanted first; empty: the viewer's declared languages decide.
    requested_languages: tuple[str, ...] = ()
    # The trusted document the operation runs (`hub documents push`), if it is one.
    document_id: str | None = None
    _languages: tuple[str, ...] | None = None

    async def languages(self) -> tuple[str, ...]:
        """The request's preferred languages, decided once: those it asked for, else the
        viewer's declared languages, else none (every text in its original language)."""
        if self._languages is None:
            chosen = self.requested_languages
            if not chosen and self.viewer.member_id is not None:
                declared = await self.loaders.languages_by_member.load(self.viewer.member_id)
                chosen = preferences(declared)
            self._languages = chosen
        return self._languages

    def languages_at_hand(self) -> tuple[str, ...] | None:
        """`languages()` when deciding them needs no query; None: the signed-in viewer's
        declared languages are still to be loaded."""
        if self._languages is None and (self.requested_languages or not self.viewer.is_signed_in):
            self._languages = self.requested_languages
        return self._languages

    @property
    def language_key(self) -> Hashable:
        """What the languages of answers depend on: results are shared only within one."""
        return self._languages

    @property
    def events(self) -> EventPublisher:
        """Publishes committed events to live subscribers."""
        if self.broadcast is None:
            raise RuntimeError("this context has no broadcast: create_app() wires one")
        return EventPublisher(self.broadcast)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db.reads, self.viewer)

    def reset_loaders(self) -> None:
        """Forget what this operation's loaders cached: a subscription resolves every event
        with fresh loaders, so each event shows the state as it is now."""
        self.__dict__.pop("loaders", None)

    def for_operation(self) -> Context:
        return replace(self)


Info = strawberry.Info[Context, None]
