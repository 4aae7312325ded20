"""Every Prometheus metric of the hub, named in this one module (the house plan: domain code
records nothing itself beyond what libraries' hooks see, except the counters named here).

It sits in the lowest layer that records one (live delivery), so that every layer above may
import it. The values are read by `app/metrics.py`, which serves `/metrics`. With several
worker processes (`hub serve --workers N`), prometheus-client's multiprocess mode is on
(`PROMETHEUS_MULTIPROC_DIR`, set by `hub serve`): counters and histograms are summed over the
workers, gauges are summed over the live ones. Labels are bounded: no IDs, no free text."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# --- requests (recorded by app/metrics.py from the GraphQL execution's hooks)
OPERATIONS = Counter(
    "hub_graphql_operations",
    "GraphQL operations by name (the client's, bounded), type and outcome "
    "(ok, user_error, request_error, internal).",
    ["operation", "type", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "hub_graphql_operation_seconds",
    "Time to answer a GraphQL query or mutation (subscriptions: to set up).",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STATEMENTS = Histogram(
    "hub_sql_statements_per_operation",
    "SQL statements one GraphQL operation ran.",
    buckets=(1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144),
)
SQL_SECONDS = Histogram(
    "hub_sql_seconds_per_operation",
    "Database time of one GraphQL operation (sum over its statements).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
POOL_CONNECTIONS = Gauge(
    "hub_db_pool_connections",
    "Database connections of the pool (in_use, size), and callers waiting for one (waiting: "
    "PostgreSQL's pool; the pool is exhausted when it stays above 0).",
    ["state"],
    multiprocess_mode="livesum",
)
LIVE_SUBSCRIPTIONS = Gauge(
    "hub_live_subscriptions",
    "Subscriptions following their stream live, by kind of stream (thread, community, "
    "member, support, webinar).",
    ["stream"],
    multiprocess_mode="livesum",
)
WEBSOCKETS = Gauge(
    "hub_websocket_connections",
    "Open WebSocket connections.",
    multiprocess_mode="livesum",
)
WEBSOCKET_CLOSES = Counter(
    "hub_websocket_closes",
    "WebSocket connections ended, by close code's meaning (normal, going_away, no_status, "
    "abnormal, internal, service_restart: a graceful shutdown's 1012, try_again, bad_request, "
    "unauthorized, forbidden, init_timeout, subscriber_exists, too_many_init, other), or "
    "rejected before the handshake completed.",
    ["reason"],
)
SHUTDOWN_SECONDS = Histogram(
    "hub_shutdown_drain_seconds",
    "A graceful shutdown: from the first socket closed with 1012 (Service Restart) to the last "
    "connection ended and the application stopping. Counted once per shutdown that had sockets "
    "open; with several workers, read it after the restart (multiprocess mode keeps it).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# --- live delivery
LIVE_LAG_SECONDS = Histogram(
    "hub_live_delivery_lag_seconds",
    "From an event's write (in its transaction) to its frames being handed to the sockets.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_PUBLISHED = Counter(
    "hub_events_published",
    "Events handed to the broker after their commit, by outcome.",
    ["outcome"],
)
LIVE_REPAIRS = Counter(
    "hub_live_repairs", "Streams whose subscribers replayed events the broker lost."
)
SLOW_READERS = Counter(
    "hub_slow_reader_handoffs",
    "Subscriptions that fell behind their stream and went on replaying at their own pace.",
)
BROKER_RECONNECTS = Counter(
    "hub_broker_reconnects", "Broker listening connections reopened after a loss.", ["broker"]
)
GAPS_REPAIRED = Counter(
    "hub_gaps_repaired",
    "Times a stream's follower replayed from the log after a gap (broker loss, slow reader).",
)
RESYNCS = Counter(
    "hub_resync_required", "Subscriptions told to resync (their cursor is older than the log)."
)

# --- the rest
RATE_LIMITED = Counter(
    "hub_rate_limit_refusals", "Requests refused by a rate limit, by what was limited.", ["limit"]
)
SEARCH_CACHE = Counter("hub_search_cache", "Search answers by cache result.", ["result"])
RESPONSE_CACHE = Counter(
    "hub_response_cache",
    "GraphQL answers by response cache result (hit; miss: computed and kept; uncacheable: "
    "computed, not for keeping; behind: the client has seen a write this process has not).",
    ["result"],
)
RESPONSE_CACHE_DROPS = Counter(
    "hub_response_cache_drops",
    "Times a process dropped its whole response cache, by reason (gap: the broker may have "
    "lost an invalidation; missing: a write version never arrived; everything: a raw write).",
    ["reason"],
)
REMINDERS_SENT = Counter("hub_webinar_reminders_sent", "Webinar reminders sent.")

# --- delivery (the outbox's workers: app/delivery.py)
DELIVERIES = Counter(
    "hub_deliveries",
    "Delivery attempts by channel (email, digest, push, webhook, fanout: a job telling the "
    "followers of topics) and outcome (sent, dropped: the recipient may no longer receive it, "
    "retry, dead: no attempt left, lost: the lease ended first and another worker took it "
    "over, lease_over: not attempted, the round ran past its lease and another worker may "
    "have it, progressed: a fan-out job wrote a batch and has more to do).",
    ["channel", "outcome"],
)
OLDEST_UNDELIVERED_SECONDS = Gauge(
    "hub_oldest_undelivered_seconds",
    "Age of the oldest delivery still waiting to be sent (0: none), as a worker last saw it.",
    multiprocess_mode="livemax",
)
