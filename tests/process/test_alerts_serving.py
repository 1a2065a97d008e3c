"""``serve`` and ``socket`` as an operator runs them: with ALERTS_TOKEN set, ``POST /alerts/…``
is served on PORT (beside ``/slack/events`` for ``serve``); without it, it does not exist."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import load_workspace, sample_path
from tests.scenarios import ALERTS_TOKEN, TRIAGE, ServeProcess, free_port, post_alert, wait_for

ROOT = Path(__file__).resolve().parents[2]
ALERT = {"system": "credit-scoring", "title": "Accuracy below the declared 0.85"}
WAIT = 30.0


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    standin = SlackStandIn().start()
    seed(standin, load_workspace(sample_path()))
    try:
        yield standin
    finally:
        standin.stop()


def started_serve(standin: SlackStandIn, folder: Path, env: dict[str, str]) -> ServeProcess:
    return ServeProcess(
        standin,
        database_url=f"sqlite:///{folder / 'bot.db'}",
        config=sample_path(),
        log=folder / "serve.log",
        env=env,
    ).start()


def cards(standin: SlackStandIn) -> list[object]:
    return [m for m in standin.messages(TRIAGE) if not m.is_reply]


def test_serve_with_alerts_token_opens_a_case_and_refuses_a_wrong_token(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    serve = started_serve(standin, tmp_path, {"ALERTS_TOKEN": ALERTS_TOKEN})
    try:
        assert post_alert(serve, ALERT, path="/alerts/generic", token="wrong")[0] == 401
        status, body = post_alert(serve, ALERT, path="/alerts/generic")
        assert (status, body["results"][0]["result"]) == (200, "opened")
        wait_for(lambda: cards(standin), WAIT, what="the case card")
    finally:
        serve.stop()
    assert serve.process.returncode == 0  # SIGTERM: the alert deliveries finished in time
    log = (tmp_path / "serve.log").read_text()
    assert ALERTS_TOKEN not in log
    assert "Traceback" not in log


def test_serve_without_alerts_token_has_no_alerts_endpoint(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    serve = started_serve(standin, tmp_path, {})
    try:
        assert post_alert(serve, ALERT, path="/alerts/generic")[0] == 404
    finally:
        serve.stop()


class Served:
    def __init__(self, port: int) -> None:
        self.base_url = f"http://127.0.0.1:{port}"


def test_socket_with_alerts_token_serves_alerts_on_port(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": standin.settings.bot_token,
        "SLACK_APP_TOKEN": standin.settings.app_token,
        "SLACK_API_URL": standin.api_url,
        "NCBOT_CONFIG": str(sample_path()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "ALERTS_TOKEN": ALERTS_TOKEN,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "METRICS_PORT": "0",
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "socket"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        standin.wait_socket_connected(timeout=WAIT)
        served = Served(port)

        def answered() -> int | None:
            try:
                return post_alert(served, ALERT, path="/alerts/generic")[0]  # type: ignore[arg-type]
            except OSError:
                return None  # not listening yet

        assert wait_for(answered, WAIT, what="the alerts endpoint on PORT") == 200
        wait_for(lambda: cards(standin), WAIT, what="the case card")
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
