"""Only Slack may talk to the bot: a forged or stale request gets 401 and changes nothing, and a
bot without a signing secret refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import build_app
from bot.devkit.local import LocalBot
from bot.devkit.standin import SlackDriver, SlackStandIn
from bot.devkit.standin.driver import VERIFICATION_TOKEN, sign
from bot.ops.workspace import sample_path
from storage.models import Case, OutboxMessage
from tests.scenarios import GENERAL, GOOD_REPORT, REPORTER

FORM = "application/x-www-form-urlencoded"


def command_body(bot: LocalBot, text: str = "report Scores drift") -> bytes:
    """A ``/nonconformity`` request as Slack sends it, with a live trigger and response_url."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": bot.standin.team_id,
        "team_domain": bot.standin.settings.team_domain,
        "channel_id": GENERAL,
        "channel_name": "general",
        "user_id": REPORTER,
        "user_name": bot.standin.user_name(REPORTER),
        "command": "/nonconformity",
        "text": text,
        "api_app_id": bot.standin.settings.app_id,
        "is_enterprise_install": "false",
        "response_url": bot.standin.issue_response_url(channel=GENERAL, user=REPORTER),
        "trigger_id": bot.standin.issue_trigger(user=REPORTER),
    }
    return urllib.parse.urlencode(fields).encode()


@pytest.fixture(autouse=True)
def _forget_startup_calls(bot: LocalBot) -> None:
    bot.standin.reset_calls()  # auth.test at startup


def nothing_happened(bot: LocalBot) -> None:
    time.sleep(0.1)  # a listener would have called Slack by now
    assert bot.standin.calls() == []
    assert bot.standin.response_posts() == []
    with bot.services.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_command_signed_with_the_wrong_secret_is_refused(bot: LocalBot) -> None:
    forger = SlackDriver(bot.standin, bot.events_url, "not-the-signing-secret")
    response = forger.command(
        "/nonconformity", "report Scores drift", user=REPORTER, channel=GENERAL
    )
    assert response.status == 401
    nothing_happened(bot)


def test_a_request_without_signature_headers_is_refused(bot: LocalBot) -> None:
    body = command_body(bot)
    response = bot.driver.raw(body, FORM, signature="")
    assert response.status == 401
    nothing_happened(bot)


def test_a_body_changed_after_signing_is_refused(bot: LocalBot) -> None:
    signed = command_body(bot, "help")
    timestamp = int(time.time())
    signature = sign(bot.signing_secret, timestamp, signed)
    tampered = signed.replace(b"text=help", b"text=report+Scores+drift")
    assert tampered != signed
    response = bot.driver.raw(tampered, FORM, timestamp=timestamp, signature=signature)
    assert response.status == 401
    nothing_happened(bot)


def test_a_forged_view_submission_stores_no_case(bot: LocalBot) -> None:
    response = bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
    assert response.status == 200
    deadline = time.monotonic() + 5
    while not bot.standin.calls("views.open") and time.monotonic() < deadline:
        time.sleep(0.02)
    view = bot.driver.last_view(REPORTER)
    bot.standin.reset_calls()

    forger = SlackDriver(bot.standin, bot.events_url, "guessed")
    forged = forger.submit(view["id"], user=REPORTER, values=GOOD_REPORT)

    assert forged.status == 401
    nothing_happened(bot)


@pytest.mark.parametrize("age", [301, 600, 86_400])
def test_a_correctly_signed_request_older_than_five_minutes_is_refused(
    bot: LocalBot, age: int
) -> None:
    """A captured request replayed later: valid signature, stale timestamp."""
    response = bot.driver.raw(command_body(bot), FORM, timestamp=int(time.time()) - age)
    assert response.status == 401
    nothing_happened(bot)


def test_a_request_from_the_future_is_refused(bot: LocalBot) -> None:
    response = bot.driver.raw(command_body(bot), FORM, timestamp=int(time.time()) + 600)
    assert response.status == 401
    nothing_happened(bot)


def test_a_fresh_correctly_signed_request_is_accepted(bot: LocalBot) -> None:
    """The counterpart of the refusals above: the same body, signed right, is answered."""
    response = bot.driver.raw(command_body(bot, "help"), FORM, timestamp=int(time.time()) - 30)
    assert response.status == 200
    assert "/nonconformity report" in response.text


def test_the_app_refuses_to_build_without_a_signing_secret(bot: LocalBot) -> None:
    with pytest.raises(ValueError, match="signing secret"):
        build_app(bot.services, signing_secret="")


def serve_with_empty_signing_secret(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    with SlackStandIn() as standin:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))},
            "SLACK_BOT_TOKEN": standin.settings.bot_token,
            "SLACK_SIGNING_SECRET": "",
            "SLACK_API_URL": standin.api_url,
            "NCBOT_CONFIG": str(sample_path()),
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
        done = subprocess.run(
            [str(Path(sys.executable).with_name("nonconformity-bot")), "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    return done


def test_serve_with_an_empty_signing_secret_exits_2_naming_it(tmp_path: Path) -> None:
    done = serve_with_empty_signing_secret(tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "nonconformity-bot: SLACK_SIGNING_SECRET is not set (or empty); set it in the environment"
    )


def test_serve_with_an_empty_signing_secret_prints_one_line(tmp_path: Path) -> None:
    done = serve_with_empty_signing_secret(tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
