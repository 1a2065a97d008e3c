"""Socket Mode end to end: the stand-in hands out a WebSocket URL, pushes slash-command envelopes
and reads back the acknowledgements, as Slack does for a bot without a public URL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.devkit.local import seed
from bot.devkit.standin import Call, SlackStandIn
from bot.messages import t
from bot.ops.runtime import start_runtime
from bot.ops.settings import Settings
from bot.ops.socket_mode import SocketModeRunner
from bot.ops.workspace import load_workspace, sample_path
from bot.services import Services
from bot.views import ids
from tests.scenarios import GENERAL, PATIENCE, REPORTER

ROOT = Path(__file__).resolve().parents[2]


def slash_command(standin: SlackStandIn, text: str, user: str = REPORTER) -> dict[str, Any]:
    """The envelope payload: the fields of ``slash_command.json``, a fresh trigger and URL."""
    return {
        "token": "verification-token-not-for-use",
        "team_id": standin.team_id,
        "team_domain": standin.settings.team_domain,
        "channel_id": GENERAL,
        "channel_name": "general",
        "user_id": user,
        "user_name": standin.user_name(user),
        "command": "/nonconformity",
        "text": text,
        "api_app_id": standin.settings.app_id,
        "is_enterprise_install": "false",
        "response_url": standin.issue_response_url(channel=GENERAL, user=user),
        "trigger_id": standin.issue_trigger(user=user),
    }


@pytest.fixture(scope="module")
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as s:
        seed(s, load_workspace(sample_path()))
        yield s


@pytest.fixture(scope="module")
def socket_bot(
    standin: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """The bot in Socket Mode, connected to the stand-in, on the SDK's threads.

    One per module: closing slack-sdk's builtin client takes up to 3 s (its reader holds a lock
    through a 3-s receive timeout), which is fine for a process but not for every test.
    """
    settings = Settings(
        SLACK_BOT_TOKEN=SecretStr(standin.settings.bot_token),
        SLACK_APP_TOKEN=SecretStr(standin.settings.app_token),
        SLACK_API_URL=standin.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('socket') / 'bot.db'}",
    )
    workspace = load_workspace(sample_path())
    services = start_runtime(settings, workspace=workspace).services
    runner = SocketModeRunner(services, app_token=standin.settings.app_token).start()
    try:
        standin.wait_socket_connected()
        yield services
    finally:
        runner.stop()
        services.db.dispose()


def test_help_is_answered_in_the_acknowledgement_envelope(
    standin: SlackStandIn, socket_bot: Services
) -> None:
    envelope_id = standin.socket_send("slash_commands", slash_command(standin, "help"))
    ack = standin.wait_socket_ack(envelope_id, timeout=PATIENCE)
    assert ack["envelope_id"] == envelope_id
    assert ack["payload"]["text"] == t("help.text", socket_bot.lang)
    connection = standin.calls("apps.connections.open")[0]
    assert connection.status == 200
    assert connection.response["ok"] is True


def test_report_acknowledges_and_opens_the_modal_within_the_trigger(
    standin: SlackStandIn, socket_bot: Services
) -> None:
    payload = slash_command(standin, "report drift")
    sent = time.monotonic()
    envelope_id = standin.socket_send("slash_commands", payload)
    ack = standin.wait_socket_ack(envelope_id, timeout=PATIENCE)
    assert ack["envelope_id"] == envelope_id
    assert not ack.get("payload")  # an empty ack: the answer is the modal
    deadline = sent + 3.0  # the trigger_id's lifetime
    while not _views_opened(standin, payload["trigger_id"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    (opened,) = _views_opened(standin, payload["trigger_id"])
    assert opened.response["ok"] is True, opened.response
    assert opened.response["view"]["callback_id"] == ids.REPORT_CALLBACK
    assert standin.open_views(REPORTER), "no modal is open for the reporter"


def _views_opened(standin: SlackStandIn, trigger_id: str) -> list[Call]:
    return [c for c in standin.calls("views.open") if c.args.get("trigger_id") == trigger_id]


def test_the_socket_command_runs_until_sigterm_and_stops_cleanly(tmp_path: Path) -> None:
    standin = SlackStandIn().start()
    seed(standin, load_workspace(sample_path()))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": standin.settings.bot_token,
        "SLACK_APP_TOKEN": standin.settings.app_token,
        "SLACK_API_URL": standin.api_url,
        "NCBOT_CONFIG": str(sample_path()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    env.pop("SLACK_SIGNING_SECRET", None)  # Socket Mode needs none
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "socket"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        standin.wait_socket_connected(timeout=20)
        envelope_id = standin.socket_send("slash_commands", slash_command(standin, "help"))
        assert "/nonconformity report" in standin.wait_socket_ack(envelope_id)["payload"]["text"]
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        standin.stop()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_the_socket_command_names_a_missing_app_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "socket"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "nonconformity-bot: SLACK_APP_TOKEN is not set (or empty); set it in the environment"
    ]
