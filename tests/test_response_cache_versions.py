"""The response cache's bookkeeping (app/response_cache.py), without a server: what may be
kept, what drops it, the size bound, and the order in which write versions are applied."""

from __future__ import annotations

from app.response_cache import ResponseCache
from models.reads import Reads
from models.writes import EVERY_TABLE


def _reads(*tables: str, clock: bool = False) -> Reads:
    return Reads(tables=set(tables), clock=clock)


def _synced_cache(max_bytes: int = 10_000, missing_seconds: float = 60.0) -> ResponseCache:
    cache = ResponseCache(max_bytes, ttl_seconds=60, missing_seconds=missing_seconds)
    cache.synced(10)
    return cache


def test_an_answer_computed_across_a_write_is_not_kept():
    cache = _synced_cache()
    snapshot = cache.snapshot()
    cache.write(11, frozenset({"post"}))  # committed while the answer was being computed
    assert not cache.put("k", snapshot, _reads("thread", "post"), b"{}", '"e"')
    assert cache.put("k", cache.snapshot(), _reads("thread", "post"), b"{}", '"e"')
    cache.write(12, frozenset({"member"}))  # a table it did not read
    assert cache.get("k") is not None
    cache.write(13, frozenset({EVERY_TABLE}))  # raw SQL: any table
    assert cache.get("k") is None


def test_answers_that_read_the_clock_are_not_kept():
    cache = _synced_cache()
    assert not cache.put("k", cache.snapshot(), _reads("webinar", clock=True), b"{}", '"e"')


def test_the_cache_keeps_at_most_its_size_least_recently_used_out_first():
    cache = _synced_cache(max_bytes=8 * 1200)
    for key in "abcdefghi":  # one more than fits
        cache.put(key, cache.snapshot(), _reads("thread"), b"x" * 800, '"e"')
    assert cache.get("a") is None
    assert cache.get("i") is not None
    assert len(cache) * 1200 <= 8 * 1200


def test_versions_are_applied_in_order_and_a_missing_one_drops_everything():
    cache = _synced_cache(missing_seconds=0)
    cache.write(12, frozenset({"post"}))  # 11 has not come (yet)
    assert cache.applied == 10
    cache.put("k", cache.snapshot(), _reads("thread"), b"{}", '"e"')
    # a client who saw 12 is behind here; once 11 is given up on, everything is dropped
    assert cache.behind(12) is False  # missing_seconds=0: 11 is given up on at once
    assert cache.applied == 12
    assert len(cache) == 0


def test_versions_arriving_out_of_order_move_the_applied_version_on():
    cache = _synced_cache()
    cache.write(12, frozenset({"post"}))
    assert cache.behind(12)
    cache.write(11, frozenset({"thread"}))
    assert cache.applied == 12
    assert not cache.behind(12)


def test_a_write_nobody_announced_is_found_in_the_database_and_drops_everything():
    cache = _synced_cache(missing_seconds=0)
    cache.put("k", cache.snapshot(), _reads("thread"), b"{}", '"e"')
    # when the database's version is ahead of every announcement (a `hub` command wrote)
    cache.heard_of(11)
    # then what was kept may predate that write: dropped, and the version is caught up
    assert len(cache) == 0
    assert cache.applied == 11
