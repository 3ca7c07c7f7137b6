"""Prometheus metrics of the webhook (GET /metrics) and of a broadcast; names start neuraltalk_.

Metrics() is made at start-up, with a registry of its own. With PROMETHEUS_MULTIPROC_DIR set
(`neuraltalk serve --workers N` sets it for its workers) each process writes its values to files
in that folder and exposition() adds up those of every worker, whichever one is asked.
broadcast_text() is what `neuraltalk broadcast` prints at its end, in the same text format.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4"  # the text exposition format, version 0.0.4
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
FOLD_EVERY = 1.0  # seconds between two additions of the answers noted to the metrics
FOLD_AT = 1024  # answers noted before they are added anyway
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 4.5, 10.0)


class Metrics:
    """The webhook's counters, histograms and gauges."""

    def __init__(self) -> None:
        self.folder = os.environ.get(MULTIPROC_VARIABLE) or None
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "neuraltalk_requests", "Requests to /wechat by kind (message, event, handshake) "
            "and outcome (ok, late, busy, refused, failed)", ["kind", "outcome"], registry=r,
        )  # fmt: skip
        self.reply_seconds = Histogram(
            "neuraltalk_reply_seconds", "Time from a request's arrival to its answer, by kind",
            ["kind"], buckets=LATENCY, registry=r,
        )  # fmt: skip
        self.retries_joined = Counter(
            "neuraltalk_retries_joined", "WeChat's retries answered with the first attempt's "
            "reply (in this process or another)", registry=r,
        )  # fmt: skip
        self.store_write_seconds = Histogram(
            "neuraltalk_store_write_seconds", "A follower's write to the store, until committed",
            ["op"], buckets=LATENCY, registry=r,
        )  # fmt: skip
        self.store_write_failures = Counter(
            "neuraltalk_store_write_failures", "Followers' writes the store did not take in time",
            ["op"], registry=r,
        )  # fmt: skip
        self.redis_errors = Counter(
            "neuraltalk_redis_errors", "Calls to Redis (redis.url) that failed", registry=r
        )
        self._unfolded: list[tuple[str, str, float]] = []  # answers not yet in the metrics
        self._answered: dict[tuple[str, str], Counter] = {}
        self._timed: dict[str, Histogram] = {}
        self.archive_generation = Gauge(
            "neuraltalk_archive_generation", "The number of the index generation being served",
            multiprocess_mode="livemax", registry=r,
        )  # fmt: skip
        self.archive_issues = Gauge(
            "neuraltalk_archive_issues", "Issues in the index being served",
            multiprocess_mode="livemax", registry=r,
        )  # fmt: skip
        self.archive_entries = Gauge(
            "neuraltalk_archive_entries", "Entries in the index being served",
            multiprocess_mode="livemax", registry=r,
        )  # fmt: skip

    def answered(self, kind: str, outcome: str, seconds: float) -> None:
        """One request to /wechat answered: counted by kind and outcome, its time observed.

        Noted here, and added to the metrics in batches (fold: every FOLD_EVERY seconds while
        the server runs, every FOLD_AT answers, and before each exposition), so that a request
        runs none of prometheus_client's code, which cost under load more than its own
        microseconds. With workers, another worker's answers reach /metrics within a second."""
        unfolded = self._unfolded
        unfolded.append((kind, outcome, seconds))
        if len(unfolded) >= FOLD_AT:
            self.fold()

    async def keep_folding(self, every: float = FOLD_EVERY) -> None:
        """Fold every `every` seconds, until cancelled."""
        while True:
            await asyncio.sleep(every)
            self.fold()

    def fold(self) -> None:
        """Add the answers noted since the last fold to the counters (once per kind and
        outcome) and the histogram (their labelled children kept, so each is looked up once)."""
        unfolded, self._unfolded = self._unfolded, []
        counts: dict[tuple[str, str], int] = {}
        for kind, outcome, seconds in unfolded:
            counts[kind, outcome] = counts.get((kind, outcome), 0) + 1
            timing = self._timed.get(kind)
            if timing is None:
                timing = self._timed[kind] = self.reply_seconds.labels(kind)
            timing.observe(seconds)
        for (kind, outcome), n in counts.items():
            count = self._answered.get((kind, outcome))
            if count is None:
                count = self._answered[kind, outcome] = self.requests.labels(kind, outcome)
            count.inc(n)

    def exposition(self) -> bytes:
        """Every metric in the text format: this process's, or with workers all of theirs."""
        self.fold()
        if self.folder is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.folder)
        return generate_latest(registry)

    @contextmanager
    def store_write(self, op: str) -> Iterator[None]:
        """Time a follower's write; an exception (or a timeout) counts as a failure."""
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.store_write_failures.labels(op).inc()
            raise
        finally:
            self.store_write_seconds.labels(op).observe(time.perf_counter() - started)


def broadcast_text(issue: str, channel: str, sent: int, failed: int, in_doubt: int) -> str:
    """A broadcast's outcome in the Prometheus text format, for a node_exporter textfile."""
    registry = CollectorRegistry()
    labels = ["issue", "channel"]
    values = (
        ("neuraltalk_broadcast_sent", "Messages sent in this run", sent),
        ("neuraltalk_broadcast_failed", "Messages WeChat refused in this run", failed),
        ("neuraltalk_broadcast_in_doubt", "Deliveries of the campaign in doubt", in_doubt),
    )
    for name, help_text, value in values:
        gauge = Gauge(name, help_text, labels, registry=registry)
        gauge.labels(issue, channel).set(value)
    return generate_latest(registry).decode("utf-8")
