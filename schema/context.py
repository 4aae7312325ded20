"""The typed context every resolver receives: viewer, database, per-operation loaders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import strawberry
from broadcaster import Broadcast

from models.db import Database
from resolvers.auth import AuthConfig
from resolvers.policy import ANONYMOUS, Viewer
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
    # The process's cache of search answers (None: every search computes its answer).
    search_cache: SearchCache[Answer] | None = None

    @property
    def events(self) -> EventPublisher:
        """Publishes committed events to live subscribers."""
        if self.broadcast is None:
            raise RuntimeError("this context has no broadcast: create_app() wires one")
        return EventPublisher(self.broadcast)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db.sessions, self.viewer)

    def reset_loaders(self) -> None:
        """Forget what this operation's loaders cached: a subscription resolves every event
        with fresh loaders, so each event shows the state as it is now."""
        self.__dict__.pop("loaders", None)

    def for_operation(self) -> Context:
        return replace(self)


Info = strawberry.Info[Context, None]
