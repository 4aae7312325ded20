"""Configuration: every `HUB_*` environment variable (and `.env`), read once into `Settings`."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from resolvers.auth import AuthConfig
from resolvers.review_rules import ReviewRule
from resolvers.webhooks import AddressRules

DEFAULT_SECRET_KEY = "development-only-secret-change-me"  # noqa: S105 - refused in production
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./hub.db"

Environment = Literal["development", "production", "test"]


class Settings(BaseSettings):
    """Typed settings of one hub process. Defaults run locally with no services."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = "development"
    database_url: str = DEFAULT_DATABASE_URL
    broadcast_url: str = "memory://"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    # Comma-separated in the environment: HUB_ALLOWED_ORIGINS=https://hub.example.org,https://...
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    token_ttl_hours: int = Field(default=24 * 14, ge=1)
    login_attempts_per_address: int = Field(default=30, ge=1)
    login_attempts_per_account: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_delay_seconds: float = Field(default=1.0, gt=0)

    max_body_bytes: int = Field(default=100_000, ge=1_000)
    max_query_depth: int = Field(default=10, ge=1)
    max_query_tokens: int = Field(default=2_000, ge=10)
    max_aliases: int = Field(default=15, ge=0)
    # Fields an operation may select, counting once per item of every paginated list.
    max_query_cost: int = Field(default=10_000, ge=100)
    statement_timeout_ms: int = Field(default=5_000, ge=100)
    # Connections one process may hold: pool_size kept open, max_overflow more under load.
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=5, ge=0)
    ws_connection_init_timeout_seconds: float = Field(default=10.0, gt=0)
    ws_max_subscriptions: int = Field(default=20, ge=1)
    ws_per_message_deflate: bool = False
    # Live frames a subscription may have waiting for its socket; past that it stops being
    # fed by its stream's group and replays from the event log at the reader's pace.
    ws_live_outbox_limit: int = Field(default=1000, ge=1)
    # uvicorn's WebSocket protocol: wsproto holds the least per idle socket (35 against 41 KB
    # per subscription with websockets-sansio in bench/fanout.py).
    ws_implementation: Literal["wsproto", "websockets-sansio", "websockets"] = "wsproto"
    # How long `hub serve --workers N` waits for a worker to answer its supervisor before
    # killing it as hung (uvicorn's default is 5 s): importing the hub takes ~14 s of wall time
    # at a load average of 10 (30 s seen at 15), and workers killed at 5 s were started again
    # for ever. The answer comes from a thread of its own, so a worker whose event loop is
    # stuck still answers: a long wait costs nothing; a worker that exits is seen at once.
    worker_healthcheck_seconds: int = Field(default=60, ge=1)
    # Keepalive pings uvicorn sends each WebSocket (and the wait for its pong before closing
    # it): they find dead peers and keep proxies from closing idle sockets, but at 10,000
    # sockets one process spends 14-34% of its time on them at 20 s (bench/fanout.py).
    # 0 turns them off (graphql-ws clients may still ping at the protocol's level).
    ws_ping_interval_seconds: float = Field(default=20.0, ge=0)
    ws_ping_timeout_seconds: float = Field(default=20.0, gt=0)
    # Search answers each process keeps, valid until the next write that may change one
    # (resolvers/search_cache.py); 0 turns the cache off.
    search_cache_entries: int = Field(default=1000, ge=0)
    # Persisted operations (app/documents.py): only trusted documents (`hub documents push`)
    # run, other texts only for moderators and admins; texts each process remembers by hash
    # for Apollo's automatic persisted queries; trusted documents each process keeps in memory.
    trusted_documents_only: bool = False
    persisted_query_entries: int = Field(default=1000, ge=0)
    trusted_document_entries: int = Field(default=5000, ge=0)
    # Trusted documents of the supported set answered by a compiled plan (app/compiled.py).
    compile_trusted_documents: bool = True
    # Plain texts (not persisted, not trusted) of the supported set, compiled once the executor
    # has answered one without an error, and answered by their plan from then on; at most this
    # many texts' verdicts kept per process (app/compiled.py, `CompiledTexts`).
    compile_texts: bool = True
    compiled_text_entries: int = Field(default=256, ge=0)
    # The response cache (app/response_cache.py): bytes of shared answers each process keeps
    # (0 turns it off), the longest any answer is kept, how long a write version may be missing
    # (its broker message lost) before the whole cache is dropped, and what `Cache-Control`
    # lets a CDN do with anonymous GET answers (max-age, stale-while-revalidate).
    response_cache_max_bytes: int = Field(default=32_000_000, ge=0)
    response_cache_ttl_seconds: float = Field(default=300.0, gt=0)
    response_cache_missing_seconds: float = Field(default=2.0, ge=0)
    # How often a process reads the write version while the broker is quiet, to learn of
    # writes nobody announced (`hub` commands); 0: never.
    response_cache_poll_seconds: float = Field(default=5.0, ge=0)
    response_cache_max_age_seconds: int = Field(default=5, ge=0)
    response_cache_stale_seconds: int = Field(default=30, ge=0)
    # How long the event log keeps events; a cursor older than that gets ResyncRequired.
    event_retention_days: int = Field(default=30, ge=1)
    # Peer review's publishing rule: approvals needed, of which from UN_SYSTEM reviewers, and
    # months until a published item is due a re-review.
    review_min_approvals: int = Field(default=2, ge=1)
    review_min_un_system_approvals: int = Field(default=1, ge=0)
    review_by_months: int = Field(default=24, ge=1)
    # How often each process compares the log's heads with what reached its live subscribers,
    # to repair publishes the broker lost (subscriptions/heads.py; 0: never).
    live_repair_interval_seconds: float = Field(default=1.0, ge=0)
    # Webinar reminders: how often the in-process job looks for due reminders (0: never).
    webinar_reminder_interval_seconds: float = Field(default=60.0, ge=0)
    # Delivery (issue 14): the outbox's workers run in every `hub serve` process (and alone
    # as `hub worker`); how often each looks for due deliveries (0: not in `hub serve`), how
    # many it claims at once and for how long, and the retries before a delivery is dead.
    delivery_poll_seconds: float = Field(default=1.0, ge=0)
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    # Deliveries one worker sends at once. While a round sends, the worker keeps one of the
    # pool's connections for their outcomes (app/outcome_writer.py): with a pool of one, a
    # webhook's or a fan-out job's reads in that round wait for a connection.
    delivery_concurrency: int = Field(default=8, ge=1, le=64)
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    # Followers a fan-out job (something published on followed topics) tells per transaction.
    delivery_fanout_batch_size: int = Field(default=1000, ge=1, le=5000)
    # Email: smtp://user:password@host:port (smtps:// for TLS, ?starttls=1 to upgrade); without
    # it mail is written to the Maildir at `maildir_path` (`hub mail list` shows it).
    smtp_url: SecretStr | None = None
    maildir_path: str = "./mail"
    mail_from: str = "Migration Network Hub <hub@localhost>"
    # Links in mail: the web client's pages, and this hub's own address (unsubscribe links).
    web_base_url: str = "http://localhost:3000"
    public_url: str = "http://127.0.0.1:8000"
    # Webhooks may call loopback, link-local and private addresses only when this is set (a
    # deployment whose consumers live on its own network); http only outside production.
    webhook_allow_private_addresses: bool = False
    # Web Push: the hub's VAPID private key (`hub push keygen` makes one; the public key that
    # clients subscribe with is derived from it); without it push is off. The subject names
    # who runs the hub for push services to reach (mailto: or https:).
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = Field(default="mailto:hub@localhost", pattern=r"^(mailto:|https://)")
    # How long a push service keeps a message for an offline device.
    push_ttl_seconds: int = Field(default=24 * 60 * 60, ge=0, le=28 * 24 * 60 * 60)
    # Tests and development only (refused in production): accept push subscriptions whose
    # endpoint is http:// or a loopback or private address, such as a push service on 127.0.0.1.
    push_allow_local_endpoints: bool = False
    # Whether each operation is recorded in the Prometheus metrics (its log line is written
    # either way); off only to measure what recording costs (bench/observability.py).
    metrics_enabled: bool = True
    # /metrics: loopback, these addresses, and whoever sends `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None
    # The console's third-party files (`hub console install`); default ~/.cache/hub-console.
    console_assets_dir: str | None = None
    metrics_allowed_addresses: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Production refuses SQLite and memory://, which reach one machine and one process; a trial
    # on one process (and the tests of production behaviour) may allow them explicitly.
    allow_process_local: bool = False
    broadcast_namespace_override: str | None = Field(
        default=None, validation_alias="HUB_BROADCAST_NAMESPACE"
    )

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict):
            for name in ("allowed_origins", "metrics_allowed_addresses"):
                value = data.get(name)
                if isinstance(value, str):
                    data[name] = [v.strip() for v in value.split(",") if v.strip()]
        return data

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
            problems.append(
                "set HUB_SECRET_KEY to a random value of at least 32 characters "
                '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if not self.allowed_origins or "*" in self.allowed_origins:
            problems.append(
                "set HUB_ALLOWED_ORIGINS to the comma-separated origins of your web clients "
                "(for example: https://hub.example.org); '*' is not allowed in production"
            )
        if self.push_allow_local_endpoints:
            problems.append("HUB_PUSH_ALLOW_LOCAL_ENDPOINTS is for tests and development only")
        if not self.allow_process_local:
            problems += self._process_local_problems()
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    def _process_local_problems(self) -> list[str]:
        problems = []
        if self.database_url.startswith("sqlite"):
            problems.append(
                "HUB_DATABASE_URL is SQLite, a file on this machine: set it to PostgreSQL "
                "(for example: postgresql+asyncpg://hub@db.example.org/hub)"
            )
        if self.broker_is_process_local:
            problems.append(
                "HUB_BROADCAST_URL is memory://, which reaches only this process (live updates "
                "written on one worker never reach the others): set it to redis://... or "
                "postgres://..."
            )
        if problems:
            problems.append("or set HUB_ALLOW_PROCESS_LOCAL=1 for a trial on one process")
        return problems

    @property
    def broker_is_process_local(self) -> bool:
        return self.broadcast_url.startswith("memory")

    @property
    def broadcast_namespace(self) -> str:
        """Channel prefix at the broker: one per database, so that deployments (and test runs)
        sharing a Redis never mix their streams. HUB_BROADCAST_NAMESPACE overrides it."""
        if self.broadcast_namespace_override is not None:
            return self.broadcast_namespace_override
        database = make_url(self.database_url).render_as_string(hide_password=True)
        return "hub:" + hashlib.sha256(database.encode()).hexdigest()[:10] + ":"

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def review_rule(self) -> ReviewRule:
        return ReviewRule(
            min_approvals=self.review_min_approvals,
            min_un_system_approvals=self.review_min_un_system_approvals,
            review_by_months=self.review_by_months,
        )

    def webhook_rules(self) -> AddressRules:
        return AddressRules(
            allow_http=self.env != "production", allow_private=self.webhook_allow_private_addresses
        )

    def push_rules(self) -> AddressRules:
        """Push endpoints follow the webhooks' rules, with no exception in production."""
        local = self.push_allow_local_endpoints
        return AddressRules(allow_http=local, allow_private=local)

    def vapid_key(self) -> str | None:
        return self.vapid_private_key.get_secret_value() if self.vapid_private_key else None

    def auth_config(self) -> AuthConfig:
        return AuthConfig(
            secret_key=self.secret_key.get_secret_value().encode(),
            token_ttl=timedelta(hours=self.token_ttl_hours),
            login_attempts_per_address=self.login_attempts_per_address,
            login_attempts_per_account=self.login_attempts_per_account,
            login_window=timedelta(seconds=self.login_window_seconds),
            login_delay=timedelta(seconds=self.login_delay_seconds),
        )
