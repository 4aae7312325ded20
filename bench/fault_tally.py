"""What a fault scenario delivered, against what the database says was committed: expected
vs delivered, duplicates, out of order, lost, answers that lied, and latency around the fault.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

import asyncpg
from fault_clients import Answer, Subscriber, Writer

AFTER_FAULT = 2.0  # seconds after the fault ends that still count as "around" it


@dataclass(frozen=True)
class Committed:
    """The thread's stream and posts as stored once the scenario is over."""

    seqs: list[int]
    # idempotency key -> (post's global ID, created_at as epoch seconds)
    posts: dict[str, tuple[str, float]]


async def committed(dsn: str, thread_key: int) -> Committed:
    connection = await asyncpg.connect(dsn)
    try:
        seqs = await connection.fetch(
            "SELECT seq FROM event WHERE stream = $1 ORDER BY seq", f"thread:{thread_key}"
        )
        posts = await connection.fetch(
            "SELECT idempotency_key, id, created_at FROM post WHERE thread_id = $1"
            " AND idempotency_key IS NOT NULL",
            thread_key,
        )
    finally:
        await connection.close()
    return Committed(
        [int(r["seq"]) for r in seqs],
        {
            r["idempotency_key"]: (_post_id(int(r["id"])), r["created_at"].timestamp())
            for r in posts
        },
    )


def _post_id(key: int) -> str:
    return base64.urlsafe_b64encode(f"Post:{key}".encode()).decode()


@dataclass
class Tally:
    scenario: str
    subscribers: int
    events: int = 0
    expected: int = 0
    delivered: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    lost: int = 0
    answers: int = 0
    lied: int = 0
    failures_answered: int = 0
    unanswered: int = 0
    given_up: int = 0
    resubscriptions: int = 0
    baseline_ms: float = 0.0
    around_fault_ms: float = 0.0
    slowest_write_s: float = 0.0
    drain_s: float = 0.0
    closes: Counter[int] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any((self.lost, self.duplicates, self.out_of_order, self.lied))

    def line(self) -> str:
        closes = ",".join(f"{code}x{n}" for code, n in sorted(self.closes.items())) or "-"
        verdict = "FAIL" if self.failed else "ok"
        return (
            f"{self.scenario:<18} {verdict:<4} subs {self.subscribers:>4}  events "
            f"{self.events:>4}  expected {self.expected:>7}  delivered {self.delivered:>7}  "
            f"dup {self.duplicates}  ooo {self.out_of_order}  lost {self.lost}  "
            f"lied {self.lied}/{self.answers}  (failures {self.failures_answered}, "
            f"unanswered {self.unanswered}, given up {self.given_up})  "
            f"latency p50 {self.baseline_ms:.0f} ms, around fault max {self.around_fault_ms:.0f}"
            f" ms (+{self.around_fault_ms - self.baseline_ms:.0f})  slowest write "
            f"{self.slowest_write_s:.1f} s  drain {self.drain_s:.1f} s  resubscribed "
            f"{self.resubscriptions}  closes {closes}"
        )


def count_deliveries(tally: Tally, subscribers: list[Subscriber], seqs: list[int]) -> None:
    expected = set(seqs)
    tally.events = len(seqs)
    tally.expected = len(seqs) * len(subscribers)
    for subscriber in subscribers:
        seen: set[int] = set()
        highest = 0
        for seq, _, _ in subscriber.received:
            tally.delivered += 1
            if seq in seen:
                tally.duplicates += 1
                continue
            if seq < highest:
                tally.out_of_order += 1
            seen.add(seq)
            highest = max(highest, seq)
        tally.lost += len(expected - seen)
        tally.resubscriptions += subscriber.connections - 1
        tally.closes.update(subscriber.closes)
        tally.notes.extend(subscriber.problems[:3])


def measure_latency(
    tally: Tally, subscribers: list[Subscriber], fault: tuple[float, float]
) -> None:
    """Baseline: median delivery latency of events committed before the fault; around the
    fault: the slowest delivery of an event committed during it or just after."""
    start, end = fault
    before: list[float] = []
    around: list[float] = []
    for subscriber in subscribers:
        firsts: dict[int, tuple[float, float]] = {}
        for seq, arrived, occurred in subscriber.received:
            firsts.setdefault(seq, (arrived, occurred))
        for arrived, occurred in firsts.values():
            latency = (arrived - occurred) * 1000
            if occurred < start:
                before.append(latency)
            elif occurred <= end + AFTER_FAULT:
                around.append(latency)
    tally.baseline_ms = median(before) if before else math.nan
    tally.around_fault_ms = max(around) if around else math.nan


def check_answers(tally: Tally, writers: list[Writer], stored: Committed) -> None:
    """A success whose post is not stored (or is another), or a failure answered by the very
    attempt that stored the post, is an answer that lied."""
    for writer in writers:
        tally.unanswered += writer.unanswered
        tally.given_up += len(writer.given_up)
        tally.slowest_write_s = max([tally.slowest_write_s, *(s for _, s in writer.write_seconds)])
        for answer in writer.answers:
            tally.answers += 1
            if _lied(answer, stored.posts.get(answer.key)):
                tally.lied += 1
                tally.notes.append(f"lied: {answer}")
            if answer.error is not None:
                tally.failures_answered += 1


def _lied(answer: Answer, post: tuple[str, float] | None) -> bool:
    if answer.post_id is not None:
        return post is None or post[0] != answer.post_id
    return post is not None and answer.sent <= post[1] <= answer.at
