"""The real Alertmanager (Debian's ``prometheus-alertmanager``) with a webhook receiver at the
bot: alerts posted to its API v2 become one case, a new alert in the group does not make a
second, a resolve is noted, and a receiver with the wrong token is refused.

Real processes and real time, on 127.0.0.1: Alertmanager on its own port with clustering off,
short group_wait and group_interval so that notifications come within seconds.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace
from storage.alerts import AlertGroup
from storage.models import Case
from tests.conftest import in_ci
from tests.scenarios import (
    ALERTS_TOKEN,
    alert_panel,
    case_events,
    case_row,
    free_port,
    wait_for,
)

BINARY = "prometheus-alertmanager"
WAIT = 60.0  # Alertmanager flushes every second here; a busy machine gets a minute


class Alertmanager:
    """One Alertmanager process configured to notify the bot, and its API v2."""

    def __init__(self, directory: Path, bot_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        webhook = bot_url + "/alerts/alertmanager"

        def receiver(name: str, token: str) -> dict[str, Any]:
            return {
                "name": name,
                "webhook_configs": [
                    {
                        "url": webhook,
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }

        config = {
            "route": {
                "receiver": "nonconformity-bot",
                "group_by": ["ai_system", "alertname"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
                "routes": [{"receiver": "impostor", "matchers": ['tenant="impostor"']}],
            },
            "receivers": [
                receiver("nonconformity-bot", ALERTS_TOKEN),
                receiver("impostor", "not-the-token"),
            ],
        }
        (directory / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self.log = (directory / "alertmanager.log").open("w")
        self.process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={directory / 'alertmanager.yml'}",
                f"--storage.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no gossip: one instance, no port taken
                "--log.level=debug",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, WAIT, what="Alertmanager to be ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"Alertmanager exited with {self.process.returncode}")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def post(self, *alerts: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url + "/api/v2/alerts",
            data=json.dumps(list(alerts)).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def alert(instance: str, *, resolved: bool = False, **labels: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": {
            "alertname": "ModelAccuracyLow",
            "ai_system": "credit-scoring",
            "severity": "critical",
            "instance": instance,
            **labels,
        },
        "annotations": {
            "summary": "Credit model accuracy below 0.85",
            "description": "Accuracy on labelled feedback fell to 0.79.",
        },
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=model_accuracy",
    }
    if resolved:
        body["endsAt"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    return body


@pytest.fixture
def bot(workspace: Workspace, sqlite_url: str) -> Iterator[LocalBot]:
    """The bot on the real clock: Alertmanager's notifications come in real time."""
    with LocalBot(workspace, database_url=sqlite_url, alerts_token=ALERTS_TOKEN) as local:
        yield local


@pytest.fixture
def alertmanager(bot: LocalBot, tmp_path: Path) -> Iterator[Alertmanager]:
    if shutil.which(BINARY) is None:
        reason = f"{BINARY} is not installed (apt-get install prometheus-alertmanager)"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    manager = Alertmanager(tmp_path, bot.base_url)
    try:
        yield manager
    finally:
        manager.stop()


def counted(bot: LocalBot, model: Any) -> int:
    with bot.services.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def group(bot: LocalBot) -> AlertGroup | None:
    with bot.services.db.read() as session:
        return session.scalars(select(AlertGroup)).first()


def test_alertmanager_alerts_open_one_case_note_the_resolve_and_a_wrong_token_is_refused(
    bot: LocalBot, alertmanager: Alertmanager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ncbot.alerts")
    alertmanager.post(alert("scorer-a"))
    wait_for(lambda: counted(bot, Case) == 1, WAIT, what="the case Alertmanager's alert opens")
    case = case_row(bot)
    assert (case.reporter_id, case.severity) == ("monitoring", "critical")
    assert case.title == "Credit model accuracy below 0.85"

    # A second alert in the same group: Alertmanager notifies again, with both alerts.
    alertmanager.post(alert("scorer-a"), alert("scorer-b"))
    wait_for(
        lambda: (g := group(bot)) is not None and len(g.fingerprints) == 2,
        WAIT,
        what="the repeat with the second alert",
    )
    assert counted(bot, Case) == 1
    # Sent right after the 200, not at the next sweep (no scheduler runs here): the card, and
    # the thread's one line about the alerts, brought up to date in place.
    wait_for(lambda: case_row(bot).card_ts, WAIT, what="the card, without a sweep")
    wait_for(
        lambda: "fired 2 times, 2 alerts in its group" in alert_panel(bot).text,
        WAIT,
        what="the alerts line to show the repeat",
    )

    alertmanager.post(alert("scorer-a", resolved=True), alert("scorer-b", resolved=True))
    wait_for(
        lambda: "alert_resolved" in [e.kind for e in case_events(bot)],
        WAIT,
        what="the resolve",
    )
    assert case_row(bot).state == "reported"  # noted, never closed
    assert (g := group(bot)) is not None and g.status == "resolved"

    # A receiver configured with the wrong token: refused with 401, nothing stored.
    alertmanager.post(alert("scorer-x", alertname="DriftHigh", tenant="impostor"))
    wait_for(
        lambda: any(getattr(r, "status", None) == 401 for r in caplog.records),
        WAIT,
        what="the bot to refuse the impostor's webhook",
    )
    assert counted(bot, AlertGroup) == 1
    assert counted(bot, Case) == 1
