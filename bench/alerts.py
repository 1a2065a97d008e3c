"""An alert storm (issue 24): 1 000 alerts over 50 alert groups, each alert its own webhook.

The real bot (``bot.local.LocalBot``: waitress, the alerts endpoint with its bearer token, the
outbox, SQLite unless ``--database-url``) runs with the scheduler ``serve`` runs, against the
Slack stand-in, which by default enforces Slack's posting limit of one ``chat.postMessage`` per
second per channel (429 with Retry-After beyond it). Client threads POST Alertmanager webhooks
(version 4) to ``/alerts/alertmanager`` as fast as the bot answers; every group's alerts have
their own fingerprints. This is worse than Alertmanager itself, which batches a group's alerts
into one notification per ``group_interval``.

Measured: how long the bot took to accept (commit and answer 200) all webhooks, the latency of
each, how many cases were made, how many messages were posted and updated until the outbox was
empty, and how long that took.

    .venv/bin/python bench/alerts.py
    .venv/bin/python bench/alerts.py --alerts 1000 --groups 50 --clients 8 --no-rate-limit
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.devkit.local import LocalBot
from bot.timers.scheduler import start_scheduler
from storage.models import Case, CaseEvent, OutboxMessage

TOKEN = "bench-alerts-token"
TRIAGE = "C0TRIAGE01"


def webhook(group: int, alert: int) -> bytes:
    labels = {
        "alertname": f"ModelQuality{group:02d}",
        "ai_system": "credit-scoring",
        "severity": "warning",
        "instance": f"scorer-{alert}",
    }
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="ModelQuality{group:02d}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "nonconformity-bot",
            "groupLabels": {"alertname": labels["alertname"]},
            "commonLabels": labels,
            "commonAnnotations": {"summary": f"Model quality check {group} failing"},
            "externalURL": "http://alertmanager.example:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": f"Model quality check {group} failing"},
                    "startsAt": "2026-11-30T08:55:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example:9090/graph",
                    "fingerprint": f"{group:04d}{alert:012d}",
                }
            ],
        }
    ).encode()


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return int(answer.status)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


def scalar(bot: LocalBot, query: Any) -> int:
    with bot.services.db.read() as session:
        return int(session.scalar(query) or 0)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bot.db'}"
        with LocalBot(database_url=url, alerts_token=TOKEN, workers=args.workers) as bot:
            if args.rate_limit:
                bot.standin.set_rate_limit(1)
            scheduler = start_scheduler(bot.services)
            try:
                endpoint = bot.base_url + "/alerts/alertmanager"
                # Alert n goes to group n mod groups: every group fires again and again.
                bodies = [webhook(n % args.groups, n) for n in range(args.alerts)]
                latencies: list[float] = []
                failures: list[int] = []
                lock = threading.Lock()
                cursor = iter(range(len(bodies)))

                def client() -> None:
                    while True:
                        with lock:
                            index = next(cursor, None)
                        if index is None:
                            return
                        started = time.perf_counter()
                        status = post(endpoint, bodies[index])
                        elapsed = time.perf_counter() - started
                        with lock:
                            latencies.append(elapsed)
                            if status != 200:
                                failures.append(status)

                started = time.perf_counter()
                threads = [threading.Thread(target=client) for _ in range(args.clients)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                accepted = time.perf_counter() - started
                pending = select(func.count()).where(OutboxMessage.status == "pending")
                wait_for(lambda: scalar(bot, pending) == 0, 900, "the outbox to empty")
                drained = time.perf_counter() - started
                calls = bot.standin.calls("chat.postMessage")
                updates = bot.standin.calls("chat.update")
                ordered = sorted(latencies)
                return {
                    "alerts": args.alerts,
                    "groups": args.groups,
                    "failures": len(failures),
                    "cases": scalar(bot, select(func.count()).select_from(Case)),
                    "accepted_s": accepted,
                    "per_second": args.alerts / accepted,
                    "p50_ms": statistics.median(ordered) * 1e3,
                    "p99_ms": ordered[max(0, round(0.99 * len(ordered)) - 1)] * 1e3,
                    "drained_s": drained,
                    "posted": sum(1 for c in calls if c.status == 200 and c.response.get("ok")),
                    "limited": sum(1 for c in calls if c.status == 429),
                    "updated": sum(1 for c in updates if c.response.get("ok")),
                    "triage_messages": len(bot.standin.messages(TRIAGE)),
                    "events": scalar(bot, select(func.count()).select_from(CaseEvent)),
                }
            finally:
                scheduler.shutdown(wait=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=8, help="waitress threads")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument(
        "--no-rate-limit", dest="rate_limit", action="store_false", help="no 1 post/s/channel"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("ncbot").setLevel(logging.CRITICAL)
    # As bench/ack_latency.py: the stand-in's default listen backlog (5) overflows when the
    # outbox's lanes call it at once, and it resets connections Slack would have accepted.
    ThreadingHTTPServer.request_queue_size = 128
    r = run(args)
    limit = "1 chat.postMessage/s per channel" if args.rate_limit else "no rate limit"
    print(
        f"{r['alerts']} alerts over {r['groups']} groups, {args.clients} clients; stand-in: {limit}"
    )
    print()
    print("| figure | value |")
    print("|---|---:|")
    for label, value in (
        ("webhooks refused or failed", r["failures"]),
        ("cases made", r["cases"]),
        ("time to accept every webhook (s)", f"{r['accepted_s']:.1f}"),
        ("webhooks accepted per second", f"{r['per_second']:.0f}"),
        ("webhook latency p50 / p99 (ms)", f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f}"),
        ("messages posted (chat.postMessage ok)", r["posted"]),
        ("messages updated in place (chat.update ok)", r["updated"]),
        ("posts refused with 429 and retried", r["limited"]),
        ("messages in the triage channel, threads included", r["triage_messages"]),
        ("audit events", r["events"]),
        ("time until the outbox was empty (s)", f"{r['drained_s']:.1f}"),
    ):
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
