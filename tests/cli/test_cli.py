"""``nonconformity-bot`` as an operator runs it: a bad setting or workspace file is one line and
exit code 2, ``db upgrade`` migrates a fresh file, and ``serve`` answers Slack and the load
balancer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from bot.devkit.standin import SlackDriver, SlackStandIn
from bot.ops.workspace import sample_path
from storage.migrate import head_revision

CLI = str(Path(sys.executable).with_name("nonconformity-bot"))
SECRET = "xoxb-VERY-SECRET-TOKEN-0042"
SIGNING_SECRET = "signing-secret-for-the-cli-tests"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=SECRET) as running:
        yield running


def environment(standin: SlackStandIn, tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))}
    env.pop("DATABASE_URL", None)
    env.pop("PORT", None)
    env.update(
        {
            "SLACK_BOT_TOKEN": SECRET,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.api_url,
            "NCBOT_CONFIG": str(sample_path()),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        }
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def refused(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """Exit 2, no traceback, no secret, and the last line names what is wrong."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("nonconformity-bot: ")
    for name in names:
        assert name in last, last
    return last


BAD_SETTINGS = [
    (["db", "upgrade"], {"DATABASE_URL": f"mysql://root:{SECRET}@db/x"}, "DATABASE_URL"),
    (["serve"], {"PORT": "abc"}, "PORT"),
    (["serve"], {"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
    (["serve"], {"SLACK_API_URL": "slack.example"}, "SLACK_API_URL"),
    (
        ["serve"],
        {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "TOKEN_ENCRYPTION_KEY": SECRET},
        "TOKEN_ENCRYPTION_KEY",
    ),
    (["serve"], {"SLACK_CLIENT_ID": "1.2", "SLACK_INSTALL_TEAMS": SECRET}, "SLACK_INSTALL_TEAMS"),
]
FERNET_KEY = (
    "IFWUrDwYBg6o5uvW0_bmNkr9J1gLc3CqG7fHYmfDP8o="  # a valid key: only the secret is missing
)
SERVE_MISSING: list[tuple[dict[str, str | None], str]] = [
    ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
    ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": "   "}, "SLACK_SIGNING_SECRET"),
    ({"NCBOT_CONFIG": None}, "NCBOT_CONFIG"),
    ({"SLACK_BOT_TOKEN": "xoxb-wrong-token"}, "SLACK_BOT_TOKEN"),
    # With OAuth (issue 22) no SLACK_BOT_TOKEN, but the client secret and the encryption key.
    (
        {"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "1.2", "TOKEN_ENCRYPTION_KEY": FERNET_KEY},
        "SLACK_CLIENT_SECRET",
    ),
    (
        {"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"},
        "TOKEN_ENCRYPTION_KEY",
    ),
    # ... and where it may be installed (SLACK_INSTALL_TEAMS).
    (
        {
            "SLACK_BOT_TOKEN": None,
            "SLACK_CLIENT_ID": "1.2",
            "SLACK_CLIENT_SECRET": "s",
            "TOKEN_ENCRYPTION_KEY": FERNET_KEY,
        },
        "SLACK_INSTALL_TEAMS",
    ),
]


def run_all(runs: list[tuple[list[str], dict[str, str]]]) -> list[subprocess.CompletedProcess[str]]:
    """Run the commands side by side (each is a fresh interpreter: about a second to start)."""
    started = [
        (
            args,
            subprocess.Popen(
                [CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
        )
        for args, env in runs
    ]
    done = []
    for args, process in started:
        out, err = process.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return done


def test_an_invalid_setting_is_one_line_naming_it(standin: SlackStandIn, tmp_path: Path) -> None:
    runs = [(args, environment(standin, tmp_path, **env)) for args, env, _ in BAD_SETTINGS]
    for done, (_, _, name) in zip(run_all(runs), BAD_SETTINGS, strict=True):
        refused(done, name)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_serve_without_a_setting_it_needs_exits_2_naming_it(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    runs = [(["serve"], environment(standin, tmp_path, **env)) for env, _ in SERVE_MISSING]
    for done, (_, name) in zip(run_all(runs), SERVE_MISSING, strict=True):
        refused(done, name)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_serve_without_a_setting_prints_only_one_line(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    done = run(["serve"], environment(standin, tmp_path, SLACK_BOT_TOKEN=None))
    refused(done, "SLACK_BOT_TOKEN")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_serve_with_a_bad_workspace_file_names_file_key_and_line(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    config = tmp_path / "workspace.yml"
    config.write_text(
        sample_path().read_text(encoding="utf-8").replace("role: distributor", "role: reseller")
    )
    line = next(
        n for n, text in enumerate(config.read_text().splitlines(), 1) if "reseller" in text
    )
    done = run(["serve"], environment(standin, tmp_path, NCBOT_CONFIG=str(config)))
    last = refused(done, str(config), "catalogue.partners.0.role", f"line {line}")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert last.startswith(f"nonconformity-bot: {config}: line {line}: catalogue.partners.0.role")


def test_db_upgrade_migrates_a_fresh_sqlite_file(standin: SlackStandIn, tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "ncbot.db"
    database.parent.mkdir()
    env = environment(standin, tmp_path, DATABASE_URL=f"sqlite:///{database}")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "NCBOT_CONFIG"):
        env.pop(name)  # db upgrade needs only the database

    done = run(["db", "upgrade"], env)

    assert done.returncode == 0, done.stderr
    assert f"database at revision {head_revision()}" in done.stdout
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert {"cases", "case_events", "outbox", "counters"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    assert run(["db", "upgrade"], env).returncode == 0  # and again: nothing to do


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize("slash", [True, False], ids=["api url with slash", "without slash"])
def test_serve_answers_healthz_and_a_signed_help_command(
    standin: SlackStandIn, tmp_path: Path, slash: bool
) -> None:
    port = free_port()
    api_url = standin.api_url if slash else standin.api_url.rstrip("/")
    env = environment(standin, tmp_path, SLACK_API_URL=api_url, PORT=str(port), HOST="127.0.0.1")
    server = subprocess.Popen(
        [CLI, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = None
        deadline = time.monotonic() + 20
        while health is None and time.monotonic() < deadline:
            assert server.poll() is None, server.communicate()[1]
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                    health = (answer.status, answer.read())
            except OSError:
                time.sleep(0.05)
        assert health is not None and health[0] == 200, health
        assert b'"ok": true' in health[1]
        assert standin.calls("auth.test")[0].response["ok"] is True  # the API URL was used

        driver = SlackDriver(standin, base + "/slack/events", SIGNING_SECRET)
        standin.add_user("U0REPORTR1")
        standin.add_channel("C0GENERAL1", name="general", members=["U0REPORTR1"])
        started = time.monotonic()
        response = driver.command("/nonconformity", "help", user="U0REPORTR1", channel="C0GENERAL1")
        assert time.monotonic() - started < 3.0  # Slack's acknowledgement limit
        assert response.status == 200
        assert "/nonconformity report" in response.text

        forged = SlackDriver(standin, base + "/slack/events", "wrong").command(
            "/nonconformity", "help", user="U0REPORTR1", channel="C0GENERAL1"
        )
        assert forged.status == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    _, stderr = server.communicate()
    assert SECRET not in stderr and SIGNING_SECRET not in stderr
