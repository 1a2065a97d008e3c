"""``GET /metrics`` after an end-to-end case: requests and acks by kind, cases by state and
severity, escalations and reminders, the outbox, overdue timers, Slack API calls by method and
outcome, sweep duration. Counters are per process, so each test compares before and after."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.devkit.local import LocalBot
from bot.ops.metrics import REGISTRY, MetricsServer
from bot.timers.scheduler import start_scheduler
from storage import outbox as outbox_rows
from tests.scenarios import report, settle, wait_for, walk_to

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics(bot: LocalBot) -> Iterator[MetricsServer]:
    server = MetricsServer(bot.services.db, bot.clock, host="127.0.0.1", port=0)
    server.collector.ttl = 0  # each scrape reads afresh
    yield server
    server.stop()


def scrape(server: MetricsServer) -> Samples:
    url = f"http://127.0.0.1:{server.port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.headers.get_content_type() == "text/plain"
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_after_a_case_reported_assessed_and_approved(
    bot: LocalBot, metrics: MetricsServer
) -> None:
    before = {
        kind: counter("ncbot_request_seconds_count", kind=kind)
        for kind in ("command", "action", "view")
    }
    acks = counter("ncbot_ack_seconds_count", kind="view")
    posts = counter("ncbot_slack_api_calls_total", method="chat.postMessage", error="ok")
    sent = counter("ncbot_outbox_delivered_total", kind="partner_notice", outcome="sent")
    tiered = {
        (method, tier): counter("ncbot_slack_api_calls_by_tier_total", method=method, tier=tier)
        for method, tier in (("chat.update", "tier3"), ("chat.postMessage", "special"))
    }

    walk_to(bot, "measure_approved")
    settle(bot)
    samples = scrape(metrics)

    assert value(samples, "ncbot_cases", state="measure_approved", severity="high") == 1
    assert value(samples, "ncbot_database_up") == 1
    assert value(samples, "ncbot_outbox_depth") == 0
    assert value(samples, "ncbot_outbox_oldest_unsent_seconds") == 0
    assert value(samples, "ncbot_outbox_failed") == 0
    # one command, a report modal and four steps (modals and buttons)
    assert value(samples, "ncbot_request_seconds_count", kind="command") == before["command"] + 1
    assert value(samples, "ncbot_request_seconds_count", kind="view") >= before["view"] + 3
    assert value(samples, "ncbot_request_seconds_count", kind="action") >= before["action"] + 4
    assert value(samples, "ncbot_ack_seconds_count", kind="view") >= acks + 3
    assert value(samples, "ncbot_ack_seconds_bucket", kind="view", le="3.0") == value(
        samples, "ncbot_ack_seconds_count", kind="view"
    )
    ok_posts = value(samples, "ncbot_slack_api_calls_total", method="chat.postMessage", error="ok")
    assert ok_posts >= posts + 3 + 1  # three partner notices, the card, the thread...
    partner = value(samples, "ncbot_outbox_delivered_total", kind="partner_notice", outcome="sent")
    assert partner == sent + 3
    # what the case cost, by Slack's rate-limit tier (issue 23): the card edited as it moved,
    # and the card, the thread and three partner notices posted
    edited = value(
        samples, "ncbot_slack_api_calls_by_tier_total", method="chat.update", tier="tier3"
    )
    assert edited >= tiered[("chat.update", "tier3")] + 3
    posted = value(
        samples, "ncbot_slack_api_calls_by_tier_total", method="chat.postMessage", tier="special"
    )
    assert posted >= tiered[("chat.postMessage", "special")] + 3 + 1


def test_escalations_reminders_and_overdue_timers(bot: LocalBot, metrics: MetricsServer) -> None:
    escalations = counter("ncbot_escalations_sent_total")
    reminders = counter("ncbot_reminders_sent_total", timer="approval_pending")

    walk_to(bot, "measure_proposed")  # case 1 waits for approval
    assert report(bot).status == 200  # case 2 waits for someone to acknowledge it
    wait_for(
        lambda: scrape(metrics).get(
            ("ncbot_cases", frozenset({("state", "reported"), ("severity", "high")}))
        ),
        what="case 2",
    )
    settle(bot)
    bot.clock.advance(timedelta(hours=25))
    samples = scrape(metrics)
    assert value(samples, "ncbot_timers_overdue") == 2
    assert value(samples, "ncbot_sweep_lag_seconds") > 20 * 3600  # the escalation was due at 30 min

    bot.sweep()
    settle(bot)
    samples = scrape(metrics)
    assert value(samples, "ncbot_escalations_sent_total") >= escalations + 1
    assert value(samples, "ncbot_reminders_sent_total", timer="approval_pending") == reminders + 1
    assert value(samples, "ncbot_sweep_lag_seconds") == 0
    assert value(samples, "ncbot_cases", state="measure_proposed", severity="high") == 1
    assert value(samples, "ncbot_cases", state="reported", severity="high") == 1


def test_an_unsent_message_shows_its_age_and_slack_errors_are_counted(
    bot: LocalBot, metrics: MetricsServer
) -> None:
    with bot.services.db.transaction() as session:
        outbox_rows.enqueue(
            session,
            dedupe_key="metrics-test",
            kind="dm",
            target="U0OFFICER1",
            now=bot.clock() - timedelta(minutes=10),
            payload={"text": "x"},
        )
    samples = scrape(metrics)
    assert value(samples, "ncbot_outbox_depth") == 1
    assert 599 <= value(samples, "ncbot_outbox_oldest_unsent_seconds") <= 601

    errors = counter("ncbot_slack_api_calls_total", method="users.info", error="http_503")
    missing = counter("ncbot_slack_api_calls_total", method="users.info", error="user_not_found")
    bot.standin.inject("users.info", status=503)
    for user in ("U0OFFICER1", "U0NOBODY99"):
        with pytest.raises(Exception):  # noqa: B017 - the SDK's SlackApiError
            bot.services.client.users_info(user=user)
    samples = scrape(metrics)
    assert value(samples, "ncbot_slack_api_calls_total", method="users.info", error="http_503") == (
        errors + 1
    )
    assert value(
        samples, "ncbot_slack_api_calls_total", method="users.info", error="user_not_found"
    ) == (missing + 1)


def test_the_scheduler_times_each_sweep(bot: LocalBot, metrics: MetricsServer) -> None:
    sweeps = counter("ncbot_sweeps_total")
    scheduler = start_scheduler(bot.services)
    try:
        wait_for(lambda: counter("ncbot_sweeps_total") > sweeps, what="a sweep")
    finally:
        scheduler.shutdown(wait=True)
    samples = scrape(metrics)
    assert value(samples, "ncbot_sweep_seconds_count") >= sweeps + 1
    assert value(samples, "ncbot_sweep_seconds_sum") > 0


def test_gauges_are_cached_between_scrapes(bot: LocalBot, metrics: MetricsServer) -> None:
    metrics.collector.ttl = 60
    scrape(metrics)
    assert report(bot).status == 200
    wait_for(lambda: bot.standin.messages("C0TRIAGE01"), what="the card")
    time.sleep(0.05)
    assert value(scrape(metrics), "ncbot_cases", state="reported", severity="high") == 0
    metrics.collector.ttl = 0
    assert value(scrape(metrics), "ncbot_cases", state="reported", severity="high") == 1
