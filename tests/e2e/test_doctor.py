"""``nonconformity-bot doctor`` against the Slack stand-in: one line per check with ✓/✗ and
the fix, exit code 0 only when everything passes; ``serve`` logs the same failures at start
and still starts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.devkit.standin.methods import DEFAULT_SCOPES
from bot.ops.settings import Settings
from bot.ops.workspace import load_workspace, sample_path
from storage.db import Database
from storage.migrate import upgrade
from tests.scenarios import ServeProcess, wait_for


def sample(path: Path, change: Any = None) -> Path:
    """The sample workspace, changed by ``change(data)``, written to ``path``."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as slack:
        seed(slack, load_workspace(sample_path()))
        yield slack


def doctor(
    monkeypatch: pytest.MonkeyPatch,
    standin: SlackStandIn,
    config: Path,
    database_url: str,
    **env: str,
) -> tuple[int, list[str]]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    values = {
        "SLACK_BOT_TOKEN": standin.settings.bot_token,
        "SLACK_SIGNING_SECRET": "doctor-test-signing-secret",
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": database_url,
        "NCBOT_CONFIG": str(config),
        **env,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = main(["doctor"])
    return code, out.getvalue().splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("✗")]


def test_a_workspace_set_up_right_passes_every_check(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated)
    assert code == 0, "\n".join(lines)
    assert failures(lines) == []
    assert lines[-1].endswith(" passed, 0 failed")
    text = "\n".join(lines)
    assert "✓ settings: present and valid (HTTP)" in text
    assert "✓ database: reachable, migrated to head" in text
    assert "✓ Slack token: valid for team T0TEAM0001 as bot user U0BOT00001" in text
    assert "✓ scopes: all 11 scopes manifest.yml asks for are granted" in text
    assert "✓ triage channel #nc-triage (C0TRIAGE01): the bot is a member" in text
    for partner, channel in [
        ("acme-dist", "C0ACMEDIST"),
        ("northwind", "C0NORTHWND"),
        ("eu-import", "C0EUIMPORT"),
        ("nl-ams", "C0AUTHORTY"),
    ]:
        assert (
            f"✓ partner channel of {partner} #ext-{partner} ({channel}): the bot is a member"
            in text
        )
    assert "✓ role members: all 5 exist in Slack" in text
    assert "✓ user groups: all 1 exist (S0APPROVRS)" in text
    assert any(line.startswith("✓ escalation targets: all ") for line in lines)
    assert standin.settings.bot_token not in text


def test_a_missing_scope_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, migrated: str, tmp_path: Path
) -> None:
    scopes = [s for s in DEFAULT_SCOPES if s != "usergroups:read"]
    with SlackStandIn(scopes=scopes) as standin:
        seed(standin, load_workspace(sample_path()))
        code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated)
    assert code == 1
    bad = failures(lines)
    assert bad[0] == (
        "✗ scopes: the token lacks usergroups:read — fix: add them under OAuth & Permissions "
        "(or update the app from manifest.yml), reinstall the app, and copy the new token"
    )
    # and what that scope is for fails too, saying so
    assert any(line.startswith("✗ user groups: cannot be listed (missing_scope)") for line in bad)


def test_a_partner_channel_the_bot_was_never_invited_to_is_named(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    standin.add_channel(
        "C0NORTHWND", name="ext-northwind", members=["U0PARTNER1"], bot_is_member=False
    )
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated)
    assert code == 1
    assert failures(lines) == [
        "✗ partner channel of northwind #ext-northwind (C0NORTHWND): the bot is not a member "
        "— fix: in Slack, open that channel and type /invite @nonconformity-bot"
    ]
    assert (
        "✓ partner channel of acme-dist #ext-acme-dist (C0ACMEDIST): the bot is a member" in lines
    )


def test_a_partner_without_team_in_a_channel_shared_with_two_organisations_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    standin.add_channel(
        "C0NORTHWND",
        name="ext-northwind",
        members=["U0PARTNER1"],
        is_ext_shared=True,
        connected_teams=["T0PARTNER1", "T0THIRD001"],
    )
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated)
    assert code == 0, "\n".join(lines)
    warnings = [line for line in lines if line.startswith("⚠")]
    assert warnings == [
        "⚠ partner channel of northwind (C0NORTHWND): shared with 2 other organisations "
        "(T0PARTNER1, T0THIRD001) and the partner names no team: only its contacts can "
        "acknowledge receipt — fix: add team: <the partner's workspace ID> to partner northwind "
        "in the workspace file, or list its contacts"
    ]

    def with_team(data: dict[str, Any]) -> None:
        for partner in data["catalogue"]["partners"]:
            if partner["id"] == "northwind":
                partner["team"] = "T0PARTNER1"

    _, lines = doctor(monkeypatch, standin, sample(tmp_path / "team.yml", with_team), migrated)
    assert not [line for line in lines if line.startswith("⚠")]


def test_the_triage_channel_and_an_escalation_channel_without_the_bot(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    standin.add_channel("C0TRIAGE01", name="nc-triage", bot_is_member=False)
    standin.add_channel("C0MANAGERS", name="managers", bot_is_member=False)
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated)
    assert code == 1
    bad = "\n".join(failures(lines))
    assert "✗ triage channel #nc-triage (C0TRIAGE01): the bot is not a member" in bad
    assert (
        "✗ escalation channel (policy default, level 2) #managers (C0MANAGERS): the bot is not "
        "a member" in bad
    )


def test_an_unknown_user_group_in_a_policy(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    def unknown_group(data: dict[str, Any]) -> None:
        data["escalation"]["policies"]["critical"][1]["notify"] = ["S0NOSUCHGP", "C0MANAGERS"]

    config = sample(tmp_path / "ws.yml", unknown_group)
    code, lines = doctor(monkeypatch, standin, config, migrated)
    assert code == 1
    assert failures(lines) == [
        "✗ user group S0NOSUCHGP: does not exist (or is disabled) — fix: check the ID in the "
        "workspace file (Slack: the group's menu → Copy group ID)"
    ]


def test_an_unknown_role_member_and_an_unknown_escalation_user(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    def strangers(data: dict[str, Any]) -> None:
        data["roles"]["approvers"].append("U0NOBODY01")
        data["escalation"]["policies"]["default"][0]["notify"] = ["U0GHOST001"]

    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml", strangers), migrated)
    assert code == 1
    bad = failures(lines)
    assert bad[0].startswith("✗ role member U0NOBODY01: unknown to Slack (user_not_found) — fix:")
    assert bad[1].startswith(
        "✗ escalation target U0GHOST001 (policy default, level 1): unknown to Slack "
        "(user_not_found)"
    )


def test_a_database_not_migrated_says_to_upgrade(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    empty = Database(url)
    empty.ping()  # the file exists, without any table
    empty.dispose()
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), url)
    assert code == 1
    assert failures(lines) == [
        next(line for line in lines if line.startswith("✗ database: schema at revision none"))
    ]
    assert failures(lines)[0].endswith(
        "— fix: run `nonconformity-bot db upgrade` (serve also migrates when it starts)"
    )


def test_a_refused_token_stops_the_slack_checks(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    code, lines = doctor(
        monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated, SLACK_BOT_TOKEN="xoxb-revoked"
    )
    assert code == 1
    assert failures(lines) == [
        "✗ Slack token: refused by Slack (invalid_auth) — fix: reinstall the app to the workspace "
        "and copy the Bot User OAuth Token into SLACK_BOT_TOKEN"
    ]
    assert not any("channel" in line for line in lines)
    assert "xoxb-revoked" not in "\n".join(lines)


def test_invalid_settings_are_a_failed_check_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), "mysql://db/bot")
    assert code == 1
    assert lines == [
        "✗ settings: DATABASE_URL is invalid: Value error, must be a sqlite:/// or "
        "postgresql:// URL — fix: correct that variable in the environment",
        "0 passed, 1 failed",
    ]


def test_serve_logs_a_failed_check_and_starts_anyway(tmp_path: Path) -> None:
    config = sample(tmp_path / "ws.yml")
    log = tmp_path / "serve.log"
    with SlackStandIn() as standin:
        seed(standin, load_workspace(config))
        standin.add_channel("C0EUIMPORT", name="ext-eu-import", bot_is_member=False)
        bot = ServeProcess(
            standin, database_url=f"sqlite:///{tmp_path / 'bot.db'}", config=config, log=log
        )
        try:
            bot.start()
            wait_for(lambda: "startup checks done" in log.read_text(), what="the startup checks")
        finally:
            bot.stop()
    text = log.read_text()
    assert (
        "startup check failed: ✗ partner channel of eu-import #ext-eu-import (C0EUIMPORT): the "
        "bot is not a member — fix: in Slack, open that channel and type /invite "
        "@nonconformity-bot" in text
    )
    assert "failed=1" in text


def test_a_missing_sqlite_file_is_reported_not_created(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, tmp_path: Path
) -> None:
    path = tmp_path / "typo.db"
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), f"sqlite:///{path}")
    assert code == 1
    assert failures(lines) == [
        f"✗ database: the SQLite file {path} does not exist — fix: check DATABASE_URL, or create "
        "it with `nonconformity-bot db upgrade`"
    ]
    assert not path.exists()


@pytest.mark.postgres
def test_an_empty_postgresql_database_says_to_upgrade_and_passes_after(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, tmp_path: Path
) -> None:
    from tests.conftest import drop_postgres, postgres_url

    url = postgres_url()
    try:
        config = sample(tmp_path / "ws.yml")
        code, lines = doctor(monkeypatch, standin, config, url)
        assert code == 1
        assert [line.split(" — ")[0] for line in failures(lines)] == [
            next(line.split(" — ")[0] for line in lines if line.startswith("✗ database: schema"))
        ]
        db = Database(url)
        upgrade(db)
        db.dispose()
        assert doctor(monkeypatch, standin, config, url)[0] == 0
    finally:
        drop_postgres(url)


def test_the_provider_is_named_in_the_doctors_report(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml"), migrated)
    assert code == 0, "\n".join(lines)
    assert "✓ provider: Example AI B.V. (compliance@example.com)" in lines


def test_partners_without_a_named_provider_fail_naming_provider_name(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    def no_name(data: dict[str, Any]) -> None:
        data["provider"] = {"contact": "compliance@example.com"}

    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml", no_name), migrated)
    assert code == 1
    [line] = [line for line in failures(lines) if line.startswith("✗ provider")]
    assert "provider.name is missing" in line and "fix: add provider:" in line

    def no_provider(data: dict[str, Any]) -> None:
        del data["provider"]

    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws2.yml", no_provider), migrated)
    assert code == 1 and any("provider.name is missing" in line for line in failures(lines))


def test_a_provider_block_with_an_unknown_key_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    def typo(data: dict[str, Any]) -> None:
        data["provider"]["e-mail"] = "x@example.com"

    code, lines = doctor(monkeypatch, standin, sample(tmp_path / "ws.yml", typo), migrated)
    assert code == 1
    assert any("provider.e-mail: Extra inputs are not permitted" in line for line in lines), lines


def test_with_oauth_before_any_install_the_doctor_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    code, lines = doctor(
        monkeypatch,
        standin,
        sample(tmp_path / "ws.yml"),
        migrated,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=standin.oauth.client_id,
        SLACK_CLIENT_SECRET=standin.oauth.client_secret,
        TOKEN_ENCRYPTION_KEY=key,
        SLACK_INSTALL_TEAMS=standin.team_id,
    )
    assert code == 1
    text = "\n".join(lines)
    assert (
        "✓ settings: present and valid (HTTP, installed with OAuth; SLACK_INSTALL_TEAMS: "
        f"{standin.team_id})"
    ) in text
    assert f"✓ installations: every stored installation is in {standin.team_id}" in text
    assert "✗ Slack token: no installation to use (not_installed)" in text
    assert "/slack/install" in text
    assert key not in text and standin.oauth.client_secret not in text
