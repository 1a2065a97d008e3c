"""Prometheus metrics: what the bot is doing, on a port of its own (``METRICS_PORT``).

Counters and histograms live in one registry of this module and are updated where things
happen (requests, Slack calls, sweeps, timers). The gauges that describe the database (cases by
state and severity, the outbox, overdue timers) are read when Prometheus scrapes, with grouped
COUNT/MIN queries on indexed columns, and cached for a few seconds so that several scrapers or
a fast scrape interval cost one query set, whatever the number of cases.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Case, OutboxMessage, Timer

log = logging.getLogger("ncbot.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "ncbot_request_seconds",
    "Slack requests from arrival until the listener finished (ack and the work after it)",
    ["kind"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "ncbot_ack_seconds",
    "Slack requests from arrival until the ack; Slack gives up after 3 s",
    ["kind"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "ncbot_slack_api_calls",
    "Slack Web API calls by method and outcome (ok, Slack's error code, http_5xx, ratelimited, "
    "or the network exception's name)",
    ["method", "error"],
    registry=REGISTRY,
)
SLACK_CALLS_BY_TIER = Counter(
    "ncbot_slack_api_calls_by_tier",
    "Slack Web API calls by method and Slack's rate-limit tier (tier1-tier4, special); divided "
    "by the cases reported it is what a case costs against the workspace's limits",
    ["method", "tier"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "ncbot_slack_api_rate_limited",
    "Slack Web API calls answered 429 (each is tried again after Retry-After)",
    ["method"],
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "ncbot_slack_token_refreshes",
    "Rotating bot tokens refreshed (OAuth installs), by outcome: ok or Slack's error code",
    ["outcome"],
    registry=REGISTRY,
)
ESCALATIONS = Counter(
    "ncbot_escalations_sent",
    "Escalation levels fired for unacknowledged cases",
    registry=REGISTRY,
)
REMINDERS = Counter(
    "ncbot_reminders_sent",
    "Reminders fired (pending approval, overdue measure, notice receipt, Art. 73 deadline)",
    ["timer"],
    registry=REGISTRY,
)
OUTBOX_DELIVERED = Counter(
    "ncbot_outbox_delivered",
    "Outbox messages by kind and outcome (sent, retry, failed)",
    ["kind", "outcome"],
    registry=REGISTRY,
)
SWEEP_SECONDS = Histogram(
    "ncbot_sweep_seconds",
    "One scheduler sweep: due timers fired and due outbox messages delivered",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
    registry=REGISTRY,
)
SWEEPS = Counter(
    "ncbot_sweeps",
    "Sweeps finished (rate() of it going to zero means the scheduler stopped)",
    registry=REGISTRY,
)
REFUSED = Counter(
    "ncbot_requests_refused",
    "Requests on the Slack path refused before Bolt saw them: unsigned, bad timestamp, stale "
    "timestamp, bad signature (a wrong SLACK_SIGNING_SECRET, or forgeries), body too large",
    ["reason"],
    registry=REGISTRY,
)


def observe_request(kind: str, seconds: float) -> None:
    REQUEST_SECONDS.labels(kind=kind).observe(seconds)


def observe_ack(kind: str, seconds: float) -> None:
    ACK_SECONDS.labels(kind=kind).observe(seconds)


def count_slack_call(method: str, error: str, tier: str) -> None:
    SLACK_CALLS.labels(method=method, error=error).inc()
    SLACK_CALLS_BY_TIER.labels(method=method, tier=tier).inc()
    if error == "ratelimited":
        SLACK_RATE_LIMITED.labels(method=method).inc()


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time, cached for ``ttl`` seconds."""

    def __init__(self, db: Database, clock: Callable[[], datetime], *, ttl: float = 10.0) -> None:
        self.db = db
        self.clock = clock
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: list[GaugeMetricFamily] = []
        self._read_at = float("-inf")

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # read lazily: registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl:
                try:
                    self._cached = self._read()
                except Exception as exc:
                    log.warning(
                        "metrics: database not readable", extra={"error": type(exc).__name__}
                    )
                    self._cached = [_gauge("ncbot_database_up", "Database readable", 0.0)]
                self._read_at = time.monotonic()
            yield from self._cached

    def _read(self) -> list[GaugeMetricFamily]:
        now = self.clock()
        started = time.perf_counter()
        with self.db.read() as session:
            by_state = session.execute(
                select(Case.state, Case.severity, func.count()).group_by(Case.state, Case.severity)
            ).all()
            by_status = session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(("pending", "failed")))
                .group_by(OutboxMessage.status)
            ).all()
            oldest_unsent = session.scalar(
                select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
            )
            overdue = session.execute(
                select(func.count(), func.min(Timer.due_at)).where(
                    Timer.status == "pending", Timer.due_at <= now
                )
            ).one()
        cases = GaugeMetricFamily(
            "ncbot_cases", "Cases by state and severity", labels=["state", "severity"]
        )
        for state, severity, count in by_state:
            cases.add_metric([state, severity], float(count))
        outbox = dict(by_status)
        return [
            _gauge("ncbot_database_up", "Database readable", 1.0),
            cases,
            _gauge(
                "ncbot_outbox_depth",
                "Messages owed to Slack, not yet sent",
                outbox.get("pending", 0),
            ),
            _gauge(
                "ncbot_outbox_failed",
                "Messages Slack refused for good: a person must act (invite the bot, fix the "
                "channel)",
                outbox.get("failed", 0),
            ),
            _gauge(
                "ncbot_outbox_oldest_unsent_seconds",
                "Age of the oldest message not yet sent (0 when none)",
                _age(now, oldest_unsent),
            ),
            _gauge("ncbot_timers_overdue", "Timers due but not yet fired", overdue[0] or 0),
            _gauge(
                "ncbot_sweep_lag_seconds",
                "How long the most overdue timer has waited for a sweep (0 when none)",
                _age(now, overdue[1]),
            ),
            _gauge(
                "ncbot_metrics_query_seconds",
                "Time the database gauges took to read",
                time.perf_counter() - started,
            ),
        ]


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


class MetricsServer:
    """``GET /metrics`` on its own host and port, in a daemon thread."""

    def __init__(self, db: Database, clock: Callable[[], datetime], *, host: str, port: int):
        self.collector = DatabaseCollector(db, clock)
        REGISTRY.register(self.collector)
        try:
            server, thread = start_http_server(port, addr=host, registry=REGISTRY)
        except Exception:
            REGISTRY.unregister(self.collector)
            raise
        self._server: WSGIServer = server
        self._thread: Any = thread

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        REGISTRY.unregister(self.collector)
