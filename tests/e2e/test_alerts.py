"""Alerts from model monitoring open cases (issue 24): Alertmanager's webhook and the generic
JSON, posted over real HTTP to the running bot, which talks to the Slack stand-in."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.alerts.config import AlertsConfig
from bot.cases.domain import Severity
from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace
from handlers.timeline import timeline_lines
from storage.alerts import AlertGroup
from storage.models import Case, CaseEvent, OutboxMessage
from tests.cli.test_audit_verify import audit_verify
from tests.e2e.test_export import assert_valid
from tests.e2e.test_export_cli import run_export
from tests.scenarios import (
    ALERTS_TOKEN,
    OFFICER,
    TRIAGE,
    alert_panel,
    alertmanager_webhook,
    case_card,
    case_events,
    case_row,
    decide,
    post_alert,
    settle,
    thread_replies,
    wait_for,
    write_workspace,
)

WAIT = 30.0  # generous: a busy machine must not fail these


@pytest.fixture
def alert_bot(workspace: Workspace, sqlite_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    with LocalBot(
        workspace, database_url=sqlite_url, clock=clock, alerts_token=ALERTS_TOKEN
    ) as local:
        yield local


@pytest.fixture
def any_db_alert_bot(
    workspace: Workspace, database_url: str, clock: FakeClock
) -> Iterator[LocalBot]:
    with LocalBot(
        workspace, database_url=database_url, clock=clock, alerts_token=ALERTS_TOKEN
    ) as local:
        yield local


def count(bot: LocalBot, model: Any) -> int:
    with bot.services.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def results(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["result"], r["case"]) for r in body["results"]]


def fire(bot: LocalBot, **webhook: Any) -> list[tuple[str, str | None]]:
    status, body = post_alert(bot, alertmanager_webhook(**webhook))
    assert status == 200, body
    return results(body)


def fire_repeat_and_resolve(bot: LocalBot) -> None:
    """One case's whole alert story: it fires, a second alert joins the group, it resolves."""
    fire(bot)
    fire(bot, fingerprints=("a1b2c3d4e5f60718", "0000000000000002"))
    fire(bot, status="resolved")
    settle(bot, WAIT)


def test_a_firing_alert_opens_a_case_reported_by_monitoring_with_its_evidence(
    any_db_alert_bot: LocalBot,
) -> None:
    bot = any_db_alert_bot
    assert fire(bot) == [("opened", "NC-1")]

    case = case_row(bot)
    assert (case.reporter_id, case.reporter_team, case.state) == (
        "monitoring",
        "alertmanager",
        "reported",
    )
    assert case.title == "Credit model accuracy below 0.85"
    assert case.severity == "critical"
    assert case.evidence_url == "http://prometheus.example:9090/graph?g0.expr=model_accuracy"
    assert "Accuracy on labelled feedback was 0.79" in case.description
    fired = next(e for e in case_events(bot) if e.kind == "alert_fired")
    evidence = fired.payload["data"]
    assert fired.actor_id == "monitoring"
    assert evidence["alerts"][0]["labels"]["instance"] == "scorer-0"
    assert evidence["alerts"][0]["annotations"]["summary"] == "Credit model accuracy below 0.85"
    assert evidence["alerts"][0]["generator_url"].startswith("http://prometheus.example")

    settle(bot, WAIT)
    card = case_card(bot)
    assert "monitoring (an automated report)" in str(card.blocks)
    assert "<@monitoring>" not in str(card.blocks)
    assert "fired 1 time, 1 alert in its group" in alert_panel(bot).text
    # Nobody to DM: no conversation was opened with "monitoring".
    assert not [c for c in bot.standin.calls("conversations.open") if "monitoring" in str(c)]


def test_retries_and_repeats_make_no_second_case_and_move_one_line(alert_bot: LocalBot) -> None:
    bot = alert_bot
    fire(bot)
    settle(bot, WAIT)
    before = len(thread_replies(bot))
    panel = alert_panel(bot)

    assert fire(bot) == [("repeated", "NC-1")]  # Alertmanager's retry of the same webhook
    assert fire(bot) == [("repeated", "NC-1")]
    both = ("a1b2c3d4e5f60718", "ffff000011112222")
    assert fire(bot, fingerprints=both) == [("repeated", "NC-1")]
    settle(bot, WAIT)

    assert count(bot, Case) == 1
    assert len(thread_replies(bot)) == before  # no new messages: the line moved instead
    now = bot.standin.message(TRIAGE, panel.ts)
    assert "fired 4 times, 2 alerts in its group" in now.text
    assert now.update_count >= 1
    # The trail records what was new (the second alert), not every repeat.
    repeated = [e for e in case_events(bot) if e.kind == "alert_repeated"]
    assert [e.payload["data"]["new_fingerprints"] for e in repeated] == [["ffff000011112222"]]


def test_a_resolve_is_noted_in_the_thread_and_never_closes_the_case(alert_bot: LocalBot) -> None:
    bot = alert_bot
    fire(bot)
    settle(bot, WAIT)
    assert fire(bot, status="resolved") == [("resolved", "NC-1")]
    settle(bot, WAIT)

    assert case_row(bot).state == "reported"
    assert "Resolved" in alert_panel(bot).text
    kinds = [e.kind for e in case_events(bot) if e.kind.startswith("alert_")]
    assert kinds == ["alert_fired", "alert_resolved"]
    assert fire(bot) == [("repeated", "NC-1")]  # firing again while open: the same case
    assert count(bot, Case) == 1


def test_after_dismissal_the_group_stays_quiet_until_it_resolved_and_fires_again(
    alert_bot: LocalBot,
) -> None:
    bot = alert_bot
    fire(bot)
    settle(bot, WAIT)
    decide(bot, "case_acknowledge", OFFICER)
    decide(bot, "case_dismiss", OFFICER, {"reason": "Within the declared accuracy."})
    # The dismissal reason, which a person who reported would get by DM, is in the thread.
    wait_for(
        lambda: [m for m in thread_replies(bot) if "*not a non-conformity*" in m.text],
        WAIT,
        what="the dismissal reason in the thread",
    )

    assert fire(bot) == [("quiet", "NC-1")]
    assert fire(bot) == [("quiet", "NC-1")]
    settle(bot, WAIT)
    quiet = [m for m in thread_replies(bot) if "stays quiet" in m.text]
    assert len(quiet) == 1
    assert count(bot, Case) == 1

    assert fire(bot, status="resolved") == [("resolved", "NC-1")]
    assert fire(bot) == [("opened", "NC-2")]
    assert case_row(bot, 2).reporter_id == "monitoring"
    kinds = [e.kind for e in case_events(bot, 1) if e.kind.startswith("alert_")]
    assert kinds == ["alert_fired", "alert_suppressed", "alert_resolved"]


def test_an_alert_for_a_system_the_catalogue_does_not_know_is_posted_in_triage(
    alert_bot: LocalBot,
) -> None:
    bot = alert_bot
    assert fire(bot, system="fraud-detector") == [("unknown_system", None)]
    assert fire(bot, system="fraud-detector") == [("unknown_system", None)]
    settle(bot, WAIT)
    posts = [m for m in bot.standin.messages(TRIAGE) if "fraud-detector" in m.text]
    assert len(posts) == 1
    assert "catalogue does not know" in posts[0].text
    assert count(bot, Case) == 0

    webhook = alertmanager_webhook()
    for alert in webhook["alerts"]:
        del alert["labels"]["ai_system"]
    del webhook["commonLabels"]["ai_system"]
    status, body = post_alert(bot, webhook)
    assert (status, results(body)) == (200, [("unknown_system", None)])
    settle(bot, WAIT)
    assert [m for m in bot.standin.messages(TRIAGE) if "no `ai_system` label" in m.text]


REFUSALS: list[tuple[str, dict[str, Any], int]] = [
    ("no token", {"token": None}, 401),
    ("a wrong token", {"token": "not-the-token"}, 401),
    ("malformed JSON", {"raw": b'{"version": "4", '}, 400),
    ("a JSON array", {"raw": b"[]"}, 400),
    ("payload version 3", {"body": alertmanager_webhook(version="3")}, 422),
    ("no alerts", {"body": {**alertmanager_webhook(), "alerts": []}}, 422),
    ("a generic alert without a title", {"body": {"system": "x"}, "path": "/alerts/generic"}, 422),
    (
        "a generic alert with a link that is no URL",
        {"body": {"system": "x", "title": "y", "link": "javascript:1"}, "path": "/alerts/generic"},
        422,
    ),
]


@pytest.mark.parametrize(("what", "request_", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_requests_are_refused_with_one_log_line_and_nothing_stored(
    alert_bot: LocalBot,
    caplog: pytest.LogCaptureFixture,
    what: str,
    request_: dict[str, Any],
    status: int,
) -> None:
    bot = alert_bot
    request = dict(request_)
    body = request.pop("body", alertmanager_webhook())
    with caplog.at_level(logging.INFO, logger="ncbot.alerts"):
        answer, _ = post_alert(bot, body, **request)
    assert answer == status, what
    lines = [r for r in caplog.records if r.name == "ncbot.alerts"]
    assert [r.getMessage() for r in lines] == ["alert refused"]
    assert getattr(lines[0], "status") == status  # noqa: B009 (set through ``extra``)
    assert ALERTS_TOKEN not in caplog.text
    assert (count(bot, Case), count(bot, AlertGroup), count(bot, OutboxMessage)) == (0, 0, 0)


def test_without_an_alerts_token_the_endpoints_do_not_exist(bot: LocalBot) -> None:
    assert post_alert(bot, alertmanager_webhook())[0] == 404
    assert count(bot, AlertGroup) == 0


def test_a_generic_alert_opens_a_case_and_dedupes_on_system_and_title(
    alert_bot: LocalBot,
) -> None:
    bot = alert_bot
    alert = {
        "system": "credit-scoring",
        "title": "Fairness gap over 5 points",
        "description": "Approval gap between age groups is 7.2 points.",
        "severity": "urgent",  # not a severity: the default (high) is taken
        "link": "https://grafana.example/d/fairness",
    }
    status, body = post_alert(bot, alert, path="/alerts/generic")
    assert (status, results(body)) == (200, [("opened", "NC-1")])
    assert post_alert(bot, alert, path="/alerts/generic")[1]["results"][0]["result"] == "repeated"
    other = {**alert, "dedupe_key": "fairness-weekly"}
    assert results(post_alert(bot, other, path="/alerts/generic")[1]) == [("opened", "NC-2")]
    case = case_row(bot)
    assert (case.severity, case.evidence_url, case.reporter_team) == (
        "high",
        "https://grafana.example/d/fairness",
        "generic",
    )


@pytest.fixture
def mapped_workspace(workspace: Workspace) -> Workspace:
    alerts = AlertsConfig(
        severity_map={"warning": Severity.MEDIUM, "critical": Severity.HIGH},
        default_severity=Severity.LOW,
    )
    return workspace.model_copy(update={"alerts": alerts})


def test_severities_follow_the_workspace_map_and_default(
    mapped_workspace: Workspace, sqlite_url: str, clock: FakeClock
) -> None:
    with LocalBot(
        mapped_workspace, database_url=sqlite_url, clock=clock, alerts_token=ALERTS_TOKEN
    ) as bot:
        fire(bot, group_key="g-critical", severity="critical")
        fire(bot, group_key="g-warning", severity="warning")
        fire(bot, group_key="g-none", severity=None)
        assert [case_row(bot, n).severity for n in (1, 2, 3)] == ["high", "medium", "low"]


def test_alert_events_read_as_sentences_and_audit_verify_covers_them(
    alert_bot: LocalBot,
) -> None:
    bot = alert_bot
    fire_repeat_and_resolve(bot)
    lines = timeline_lines(bot.services, case_row(bot))
    assert any("an alert from monitoring opened the case" in line for line in lines)
    assert any("the monitoring alert fired again" in line for line in lines)
    assert any("monitoring reported the alert resolved" in line for line in lines)
    assert any("reported by monitoring (an automated report)" in line for line in lines)

    intact = audit_verify(bot, "NC-1")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    fired = next(e for e in case_events(bot) if e.kind == "alert_fired")
    with bot.services.db.engine.begin() as connection:
        connection.execute(
            update(CaseEvent)
            .where(CaseEvent.id == fired.id)
            .values(payload={**fired.payload, "data": {"labels": "rewritten"}})
        )
    broken = audit_verify(bot, "NC-1")
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"NC-1: BROKEN at event {fired.seq}: changed")


def test_concurrent_deliveries_of_one_group_open_one_case(any_db_alert_bot: LocalBot) -> None:
    bot = any_db_alert_bot
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def deliver() -> None:
        start.wait()
        status, body = post_alert(bot, alertmanager_webhook())
        assert status == 200, body
        with lock:
            outcomes.append(body["results"][0]["result"])

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(outcomes) == ["opened"] + ["repeated"] * 7
    assert count(bot, Case) == 1


def test_an_escalation_to_the_reporter_of_an_alert_goes_to_the_thread(
    tmp_path: Any, sqlite_url: str, clock: FakeClock
) -> None:
    workspace = write_workspace(
        tmp_path / "workspace.yml",
        {
            "sweep_interval": "2s",
            "policies": {"default": [{"after": "5m", "notify": ["reporter"]}]},
        },
    )
    with LocalBot(
        workspace, database_url=sqlite_url, clock=clock, alerts_token=ALERTS_TOKEN
    ) as bot:
        fire(bot)
        settle(bot, WAIT)
        clock.advance(timedelta(minutes=6))
        bot.sweep()
        settle(bot, WAIT)
        escalated = [e for e in case_events(bot) if e.kind == "escalated"]
        assert len(escalated) == 1
        assert escalated[0].payload["data"]["users"] == []  # nobody to DM
        # The thread hears it: the escalation's own line there, naming no one to DM.
        (line,) = [m for m in thread_replies(bot) if "*Escalation level 1*" in m.text]
        assert "Notified: —." in line.text
        assert not [c for c in bot.standin.calls("conversations.open") if "monitoring" in str(c)]


def test_the_dossier_of_an_alert_case_names_monitoring_and_holds_the_alert_events(
    alert_bot: LocalBot, tmp_path: Any
) -> None:
    bot = alert_bot
    fire_repeat_and_resolve(bot)
    out = tmp_path / "NC-1.json"
    result = run_export(bot, "NC-1", "--format", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert_valid(document)
    assert document["case"]["reporter"] == "monitoring"
    kinds = [e["kind"] for e in document["timeline"]]
    assert [k for k in kinds if k.startswith("alert_")] == [
        "alert_fired",
        "alert_repeated",
        "alert_resolved",
    ]
    fired = next(e for e in document["timeline"] if e["kind"] == "alert_fired")
    assert fired["actor"] == "monitoring"
    assert fired["data"]["alerts"][0]["labels"]["ai_system"] == "credit-scoring"
    assert document["audit"]["intact"] is True


def test_a_storm_of_repeats_edits_the_line_at_most_every_ten_seconds(
    alert_bot: LocalBot, clock: FakeClock
) -> None:
    bot = alert_bot
    fire(bot)
    settle(bot, WAIT)
    panel = alert_panel(bot)
    for _ in range(30):  # three repeats a second for half a minute
        for _repeat in range(3):
            assert fire(bot) == [("repeated", "NC-1")]
        clock.advance(timedelta(seconds=1))
        bot.services.outbox.deliver_due()
    settle(bot, WAIT)

    with bot.services.db.read() as session:
        # The edits that reached Slack, at the times they were due (an update queued while the
        # line itself was still on its way may wait for a newer one and then be skipped).
        updates = session.scalars(
            select(OutboxMessage.not_before)
            .where(OutboxMessage.kind == "panel_update", OutboxMessage.status == "sent")
            .order_by(OutboxMessage.id)
        ).all()
    assert 2 <= len(updates) <= 4, updates  # 90 repeats in 30 s: an edit per 10 s at most
    assert all(
        later - earlier >= timedelta(seconds=10) for earlier, later in itertools.pairwise(updates)
    )
    assert "fired 91 times" in bot.standin.message(TRIAGE, panel.ts).text
