"""Settings from the environment: sensible defaults, URLs normalised, and a bad value named
without echoing it (some settings are secrets)."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.ops.settings import SLACK_DEFAULT_API_URL, load_settings

VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "DATABASE_URL",
    "NCBOT_CONFIG",
    "PORT",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "TOKEN_ENCRYPTION_KEY",
    "SLACK_INSTALL_TEAMS",
)
SECRET = "xoxb-TOP-SECRET-VALUE-4242"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_nothing_set_gives_the_documented_defaults() -> None:
    settings = load_settings()
    assert settings.SLACK_API_URL == SLACK_DEFAULT_API_URL == "https://slack.com/api/"
    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.PORT == 3000
    assert settings.SLACK_BOT_TOKEN is None and settings.NCBOT_CONFIG is None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9999/api", "http://127.0.0.1:9999/api/"], ids=["bare", "slash"]
)
def test_the_api_url_works_with_and_without_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SLACK_API_URL", url)
    assert load_settings().SLACK_API_URL == "http://127.0.0.1:9999/api/"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_is_read_as_psycopg_3(
    monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://bot:pw@db:5432/ncbot")
    assert load_settings().DATABASE_URL == "postgresql+psycopg://bot:pw@db:5432/ncbot"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", f"mysql://root:{SECRET}@db/ncbot"),
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("SLACK_API_URL", f"ftp://{SECRET}"),
        ("SLACK_APP_TOKEN", SECRET),
    ],
)
def test_an_invalid_setting_is_named_and_its_value_never_shown(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(f"{name} ")
    assert "\n" not in message
    assert value not in message and SECRET not in message


@pytest.mark.parametrize("value", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_a_required_secret_that_is_missing_or_empty_is_named(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("SLACK_SIGNING_SECRET", value)
    settings = load_settings()
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET "):
        settings.require("SLACK_SIGNING_SECRET")


def test_a_secret_is_hidden_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", SECRET)
    settings = load_settings()
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert settings.secret("SLACK_BOT_TOKEN") == SECRET


def test_each_command_requires_only_what_it_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    """``db upgrade`` needs no Slack token: loading settings without one is fine."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    settings = load_settings()
    settings.require("DATABASE_URL")
    with pytest.raises(ConfigError, match=r"^SLACK_BOT_TOKEN "):
        settings.require("SLACK_BOT_TOKEN")


def test_with_oauth_no_bot_token_is_needed_but_the_secret_the_key_and_the_teams_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY is not set"):
        load_settings().require_slack_token()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    with pytest.raises(ConfigError, match="SLACK_INSTALL_TEAMS is not set"):
        load_settings().require_slack_token()
    monkeypatch.setenv("SLACK_INSTALL_TEAMS", " T0ALPHA001, E0GRIDORG1 ")
    settings = load_settings()
    assert settings.install_teams.ids == {"T0ALPHA001", "E0GRIDORG1"}
    assert settings.oauth and settings.SLACK_BOT_TOKEN is None
    settings.require_slack_token()  # no SLACK_BOT_TOKEN asked for


def test_a_token_encryption_key_that_is_no_fernet_key_is_named_not_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", SECRET)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "TOKEN_ENCRYPTION_KEY is invalid" in str(refused.value)
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    "value", [SECRET, "T0ALPHA001,xoxb-1", "t0alpha001", "C0CHANNEL1", "U0USER0001", " , "]
)
def test_slack_install_teams_takes_only_workspace_and_organisation_ids(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SLACK_INSTALL_TEAMS", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith("SLACK_INSTALL_TEAMS is invalid")
    assert SECRET not in str(refused.value)


def test_an_organisation_id_allows_its_workspaces_and_its_org_wide_install() -> None:
    from bot.ops.identity import InstallTeams

    teams = InstallTeams.parse("T0ALPHA001,E0GRIDORG1")
    assert teams.allows(None, "T0ALPHA001")
    assert teams.allows("E0GRIDORG1", "T0ANYWS001")
    assert teams.allows("E0GRIDORG1", None, is_enterprise_install=True)
    assert not teams.allows(None, "T0FOREIGN1")
    assert not teams.allows("E0OTHERORG", "T0FOREIGN1")
    # a workspace named alone does not let its organisation install org-wide
    only_workspace = InstallTeams.parse("T0ALPHA001")
    assert not only_workspace.allows("E0GRIDORG1", None, is_enterprise_install=True)
    assert not only_workspace.allows("E0GRIDORG1", "T0ALPHA001", is_enterprise_install=True)
