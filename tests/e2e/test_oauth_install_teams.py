"""Only the workspaces and organisations ``SLACK_INSTALL_TEAMS`` names may install the bot
(issue 22's security finding): an install completed through ``/slack/install`` from anywhere
else is refused with a page, nothing of it stored, the token Slack just issued revoked; the bot
keeps working for the allowed installation; and an installation put in the database by other
means is never used, nor are its users ours, and ``doctor`` names it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import select, text

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.devkit.standin import SlackStandIn
from bot.ops.installs import TokenCipher
from bot.ops.workspace import Workspace
from storage import slack_tables
from storage.models import SlackInstall
from tests.conftest import SLACK_LIMITS_SCALE
from tests.e2e.test_doctor import doctor, sample
from tests.e2e.test_oauth_install import bearer
from tests.scenarios import (
    OFFICER,
    REPORTER,
    TRIAGE,
    install_with_oauth,
    report,
    settle,
    triage_messages,
    wait_for,
)
from tests.standin.test_standin_workspaces import installed

FOREIGN = "T0FOREIGN1"  # a workspace of another organisation
FOREIGN_ORG = "E0FOREIGN1"


@pytest.fixture
def oauth_bot(workspace: Workspace, database_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    """The bot with OAuth, SLACK_INSTALL_TEAMS naming the stand-in's workspace, installed
    there; on SQLite and on PostgreSQL."""
    with LocalBot(workspace, database_url=database_url, clock=clock, oauth=True) as local:
        assert local.install_teams is None  # the default: the stand-in's own workspace
        local.standin.set_limits(SLACK_LIMITS_SCALE)
        status, page = install_with_oauth(local)
        assert status == 200, page
        yield local


def stored_teams(bot: LocalBot) -> set[tuple[str | None, str | None]]:
    """Every workspace (and organisation) anything of an install was kept for."""
    with bot.services.db.read() as session:
        found = set()
        for table in ("slack_bots", "slack_installations"):
            rows = session.execute(text(f"SELECT enterprise_id, team_id FROM {table}")).all()
            found |= {(e, t) for e, t in rows}
        keys = set(session.scalars(select(SlackInstall.key)))
    found |= {(k.split(":")[0] or None, k.split(":")[1] or None) for k in keys}
    return found


def refused_install(
    bot: LocalBot, caplog: pytest.LogCaptureFixture, team: str, enterprise: str | None = None
) -> str:
    """Complete /slack/install as ``team`` (of ``enterprise``): check the refusal page and
    the one warning line; return the token Slack issued for it."""
    bot.standin.oauth.next_team, bot.standin.oauth.next_enterprise = team, enterprise
    before = len(bot.standin.calls("oauth.v2.access"))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        status, page = install_with_oauth(bot)
    assert status == 403, page
    assert "This workspace may not install this deployment" in page
    assert "SLACK_INSTALL_TEAMS" in page and page.lstrip().startswith("<!doctype html>")
    for record in caplog.records:
        assert record.exc_info is None, f"a traceback from {record.name}"
    warned = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [("ncbot.app", "install refused: not in SLACK_INSTALL_TEAMS")]
    [exchange] = bot.standin.calls("oauth.v2.access")[before:]
    assert exchange.response["ok"] and exchange.response["team"]["id"] == team
    return str(exchange.response["access_token"])


@pytest.mark.parametrize(
    ("team", "enterprise"),
    [(FOREIGN, None), ("T0FOREIGN2", FOREIGN_ORG)],
    ids=["another workspace", "a workspace of another organisation"],
)
def test_an_install_from_elsewhere_is_refused_stored_nowhere_and_its_token_revoked(
    oauth_bot: LocalBot, caplog: pytest.LogCaptureFixture, team: str, enterprise: str | None
) -> None:
    bot = oauth_bot
    [ours] = bot.standin.oauth.tokens()
    foreign = refused_install(bot, caplog, team, enterprise)

    # Revoked at once, with itself: Slack would send nothing more with it.
    [revoke] = bot.standin.calls("auth.revoke")
    assert bearer(revoke) == foreign and revoke.response == {"ok": True, "revoked": True}
    assert bot.standin.oauth.check(foreign) == "token_revoked"
    assert bot.standin.oauth.check(ours) is None
    # Nothing of it kept: no bot, no installation, no standing.
    assert stored_teams(bot) == {(None, bot.standin.team_id)}
    # Slack then tells that the app left that workspace: nothing of ours to stop.
    with caplog.at_level(logging.WARNING, logger="ncbot.installs"):
        assert bot.driver.app_uninstalled(team_id=team).status == 200
        wait_for(
            lambda: any(
                r.getMessage() == "uninstall outside SLACK_INSTALL_TEAMS ignored"
                for r in caplog.records
            ),
            what="the uninstall's listener",
        )
    assert stored_teams(bot) == {(None, bot.standin.team_id)}
    assert bot.services.installs is not None and not bot.services.installs.store.has_inactive()

    # The bot goes on with the allowed installation, every call with its token.
    before = len(bot.standin.calls())
    report(bot, user=REPORTER)
    settle(bot)
    bot.driver.app_home_opened(OFFICER)
    wait_for(
        lambda: any(c.method == "views.publish" for c in bot.standin.calls()[before:]),
        what="the App Home",
    )
    assert triage_messages(bot), "the case card was posted"
    calls = bot.standin.calls()[before:]
    assert {bearer(c) for c in calls} == {ours}
    assert all(c.response.get("ok") for c in calls)
    assert bot.services.people.installation.ids == {bot.standin.team_id}
    assert bot.services.people.is_external(team)


def test_when_slack_does_not_answer_the_revoke_the_install_is_still_refused(
    oauth_bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The revoke is owed, not a condition: Slack failing it (5xx) still shows the page and
    stores nothing; the failure is logged as an error, without the token."""
    bot = oauth_bot
    bot.standin.inject("auth.revoke", status=503, error="service_unavailable", times=5)
    bot.standin.oauth.next_team = FOREIGN
    with caplog.at_level(logging.INFO):
        status, page = install_with_oauth(bot)
    assert status == 403 and "may not install this deployment" in page
    assert stored_teams(bot) == {(None, bot.standin.team_id)}
    foreign = str(bot.standin.calls("oauth.v2.access")[-1].response["access_token"])
    assert bot.standin.calls("auth.revoke") and bot.standin.oauth.check(foreign) is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["could not revoke the token of a refused install: SlackApiError"]
    assert foreign not in caplog.text


def test_a_sibling_workspace_of_the_organisation_is_refused_when_only_one_is_named(
    workspace: Workspace, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On Grid, naming the workspace (T…) allows that workspace only, not its organisation's
    other workspaces (naming the organisation, E…, would)."""
    with SlackStandIn.grid() as standin:
        sibling = next(t for t in standin.settings.workspaces if t != standin.team_id)
        with LocalBot(
            workspace,
            database_url=sqlite_url,
            clock=FakeClock(),
            standin=standin,
            oauth=True,
            install_teams=standin.team_id,
        ) as bot:
            assert install_with_oauth(bot)[0] == 200
            foreign = refused_install(bot, caplog, sibling)
            assert standin.oauth.check(foreign) == "token_revoked"
            assert stored_teams(bot) == {(standin.settings.enterprise_id, standin.team_id)}


def test_an_installation_put_in_the_database_by_other_means_is_never_used(
    oauth_bot: LocalBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A foreign workspace's installation written straight into the tables, with a working
    token encrypted with our key: requests from that workspace are not authorized with it,
    no call carries it, its users are not ours, and doctor names it."""
    bot = oauth_bot
    installs = bot.services.installs
    assert installs is not None and bot.token_key is not None
    [ours] = bot.standin.oauth.tokens()
    foreign, _ = installed(bot.standin, FOREIGN)  # approved outside the bot's install flow
    cipher = TokenCipher(bot.token_key)
    planted = SQLAlchemyInstallationStore(
        client_id=bot.standin.oauth.client_id, engine=bot.services.db.engine
    )
    planted.metadata = slack_tables.SLACK_METADATA
    planted.bots, planted.installations = slack_tables.bots, slack_tables.installations
    planted.save(
        Installation(
            app_id=bot.standin.settings.app_id,
            team_id=FOREIGN,
            bot_token=cipher.encrypt(foreign),
            bot_id="B0FOREIGN1",
            bot_user_id="U0FOREIGNB",
            bot_scopes=list(bot.standin.settings.scopes),
            user_id="U0FOREIGN1",
            installed_at=bot.clock().timestamp() + 3600,  # the newest
        )
    )
    assert installs.store.foreign() == [f":{FOREIGN}"]
    assert installs.store.latest_bot() is not None
    assert installs.store.find_bot(enterprise_id=None, team_id=FOREIGN) is None
    assert installs.store.find_installation(enterprise_id=None, team_id=FOREIGN) is None

    before = len(bot.standin.calls())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ncbot.installs"):
        # a request naming the foreign workspace (its modal opens), and a report from ours
        opened = len(bot.standin.calls("views.open"))
        bot.driver.command(
            "/nonconformity", "report", user=OFFICER, channel=TRIAGE, team_id=FOREIGN
        )
        wait_for(lambda: len(bot.standin.calls("views.open")) > opened, what="the modal")
        report(bot, user=REPORTER)
        settle(bot)
        bot.driver.app_home_opened(OFFICER)
        wait_for(
            lambda: any(c.method == "views.publish" for c in bot.standin.calls()[before:]),
            what="the App Home",
        )
    ignored = [r for r in caplog.records if "outside SLACK_INSTALL_TEAMS" in r.getMessage()]
    assert len(ignored) == 1  # said once, though asked at every call
    calls = bot.standin.calls()[before:]
    assert calls and {bearer(c) for c in calls} == {ours}
    assert [b.team_id for b in installs.tokens.bots()] == [bot.standin.team_id]
    assert bot.services.people.installation.ids == {bot.standin.team_id}
    assert bot.services.people.is_external(FOREIGN)

    code, lines = doctor(
        monkeypatch,
        bot.standin,
        sample(tmp_path / "ws.yml"),
        bot.database_url,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=bot.standin.oauth.client_id,
        SLACK_CLIENT_SECRET=bot.standin.oauth.client_secret,
        TOKEN_ENCRYPTION_KEY=bot.token_key,
        SLACK_INSTALL_TEAMS=bot.standin.team_id,
    )
    assert code == 1
    assert (
        f"✗ installations: kept outside SLACK_INSTALL_TEAMS ({bot.standin.team_id}), never "
        f"used: :{FOREIGN}"
    ) in "\n".join(lines), lines
    assert f"SLACK_INSTALL_TEAMS: {bot.standin.team_id}" in "\n".join(lines)
    assert foreign not in "\n".join(lines)  # no token shown
