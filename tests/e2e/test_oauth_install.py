"""Issue 22: installing with OAuth, tokens encrypted at rest, every call with the installation's
token (requests, the outbox, the App Home), a forged ``state`` refused, and an uninstall that
stops every send, what was owed failing with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.cases.report_input import ReportInput
from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import Workspace
from storage.models import OutboxMessage, PartnerNotice
from tests.conftest import SLACK_LIMITS_SCALE
from tests.scenarios import (
    APPROVER,
    OFFICER,
    REPORTER,
    browser_get,
    case_row,
    click_step,
    install_with_oauth,
    report,
    settle,
    triage_messages,
    wait_for,
    walk_to,
)


@pytest.fixture
def oauth_bot(workspace: Workspace, database_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    """The bot over HTTP with OAuth (not installed yet), on SQLite and on PostgreSQL."""
    with LocalBot(workspace, database_url=database_url, clock=clock, oauth=True) as local:
        local.standin.set_limits(SLACK_LIMITS_SCALE)
        yield local


def bearer(call: Any) -> str:
    return str(call.headers.get("authorization", "")).removeprefix("Bearer ")


def test_nothing_is_sent_before_the_app_is_installed(oauth_bot: LocalBot) -> None:
    response = oauth_bot.driver.app_home_opened(OFFICER)
    assert response.status == 200
    assert oauth_bot.standin.calls("views.publish") == []


def test_an_install_gives_a_working_bot_whose_calls_carry_the_new_token(
    oauth_bot: LocalBot,
) -> None:
    status, page = install_with_oauth(oauth_bot)
    assert status == 200, page
    [exchange] = oauth_bot.standin.calls("oauth.v2.access")
    token = str(exchange.response["access_token"])
    assert token.startswith("xoxb-oauth-")

    # At rest the token is ciphertext: the database alone does not give it away.
    with oauth_bot.services.db.read() as session:
        stored = [str(v) for v in session.scalars(text("SELECT bot_token FROM slack_bots"))]
    assert stored and all(v.startswith("fernet:") and token not in v for v in stored)

    before = len(oauth_bot.standin.calls())
    report(oauth_bot)  # a command (Bolt's client), the modal, then the outbox's posts
    settle(oauth_bot)
    oauth_bot.driver.app_home_opened(OFFICER)
    wait_for(lambda: oauth_bot.standin.calls("views.publish"), what="views.publish")
    calls = oauth_bot.standin.calls()[before:]
    methods = {call.method for call in calls}
    assert {"views.open", "chat.postMessage", "views.publish"} <= methods
    assert {bearer(call) for call in calls} == {token}
    assert all(call.response.get("ok") for call in calls), [
        (c.method, c.response) for c in calls if not c.response.get("ok")
    ]
    assert triage_messages(oauth_bot), "the case card was posted"


def test_a_forged_state_is_refused(oauth_bot: LocalBot) -> None:
    status, _ = browser_get(
        oauth_bot.base_url + "/slack/oauth_redirect?code=stolen-code&state=forged-state"
    )
    assert status == 400
    assert oauth_bot.standin.calls("oauth.v2.access") == []
    with oauth_bot.services.db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM slack_bots")) == 0


def test_the_install_link_leads_to_slacks_approval_page(oauth_bot: LocalBot) -> None:
    status, _ = browser_get(oauth_bot.base_url + "/slack/install")
    assert status == 302


@pytest.mark.parametrize("how", ["app_uninstalled", "tokens_revoked"])
def test_an_uninstall_stops_every_send_and_what_was_owed_fails_with_the_reason(
    oauth_bot: LocalBot, how: str
) -> None:
    assert install_with_oauth(oauth_bot)[0] == 200
    report(oauth_bot, user=REPORTER)
    settle(oauth_bot)
    quiet(oauth_bot, REPORTER)
    response = getattr(oauth_bot.driver, how)()
    assert response.status == 200
    deactivated(oauth_bot, how)

    before = len(oauth_bot.standin.calls())
    # Something is owed after the uninstall: a second report queued straight through the
    # service (no person can reach the bot any more), and the App Home of someone.
    oauth_bot.driver.app_home_opened(OFFICER)
    _queue_a_report(oauth_bot)
    oauth_bot.services.outbox.deliver_due()
    oauth_bot.services.home.shutdown()
    assert oauth_bot.standin.calls()[before:] == [], "nothing sent with a dead token"
    with oauth_bot.services.db.read() as session:
        failed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "failed")
        ).all()
    assert failed and {row.last_error for row in failed} == {how}

    # Installed again, the bot works again, with the new token; what failed stays failed.
    assert install_with_oauth(oauth_bot)[0] == 200
    token = str(oauth_bot.standin.calls("oauth.v2.access")[-1].response["access_token"])
    oauth_bot.driver.app_home_opened(APPROVER)
    wait_for(
        lambda: [c for c in oauth_bot.standin.calls("views.publish") if bearer(c) == token],
        what="an App Home published with the new token",
    )


def held_back(bot: LocalBot) -> bool:
    """Every partner notice was tried once and answered 429."""
    with bot.services.db.read() as session:
        channels = {n.channel for n in session.scalars(select(PartnerNotice))}
    refused = {
        c.args.get("channel") for c in bot.standin.calls("chat.postMessage") if c.status == 429
    }
    return bool(channels) and channels <= refused


def quiet(bot: LocalBot, user: str) -> None:
    """What a request sets going after its answer has finished: the name of who acted looked
    up (users.info), the App Homes published. Else a call resolved before the uninstall would
    still be in flight across it (Slack refuses it: the token is already revoked)."""
    wait_for(
        lambda: any(c.args.get("user") == user for c in bot.standin.calls("users.info")),
        what="the name of who acted",
    )
    wait_for(bot.services.home.idle, what="the App Homes")


def deactivated(bot: LocalBot, reason: str) -> None:
    """The event's listener runs after the ack: wait until it has deactivated the install."""
    installs = bot.services.installs
    assert installs is not None
    wait_for(lambda: installs.store.inactive_reason() == reason, what="the deactivation")


def _queue_a_report(bot: LocalBot) -> None:
    data = ReportInput.model_validate(
        {
            "system_id": "credit-scoring",
            "title": "Scores drift",
            "description": "Approval rates dropped.",
            "requirements": ["art10"],
            "risk": "yes",
            "severity": "high",
        }
    )
    bot.services.cases.report(
        data, reporter_id=REPORTER, reporter_team=bot.standin.team_id, submission_key="T:V2"
    )


def test_partner_notices_owed_at_the_uninstall_show_as_failed_with_the_reason(
    oauth_bot: LocalBot, clock: FakeClock
) -> None:
    """Notices queued at approval, held back by Slack (429), when the app is uninstalled: they
    are never sent with the dead token; each notice reads failed, with why."""
    assert install_with_oauth(oauth_bot)[0] == 200
    walk_to(oauth_bot, "measure_proposed")
    channels = [p.channel for p in oauth_bot.workspace.catalogue.partners if p.channel]
    assert channels
    for channel in channels:
        oauth_bot.standin.inject("chat.postMessage", channel=channel, retry_after=600, times=9)
    version = case_row(oauth_bot).version
    click_step(oauth_bot, "measure_approve", APPROVER)  # queues the notices
    wait_for(lambda: case_row(oauth_bot).version == version + 1, what="the approval")
    wait_for(lambda: held_back(oauth_bot), what="Slack holding every notice back")
    quiet(oauth_bot, APPROVER)
    assert oauth_bot.driver.app_uninstalled().status == 200
    deactivated(oauth_bot, "app_uninstalled")

    before = len(oauth_bot.standin.calls())
    clock.advance(timedelta(minutes=11))
    oauth_bot.services.outbox.deliver_due()
    assert oauth_bot.standin.calls()[before:] == [], "nothing sent with a dead token"
    with oauth_bot.services.db.read() as session:
        notices = session.scalars(select(PartnerNotice)).all()
    assert notices and {(n.status, n.failure) for n in notices} == {("failed", "app_uninstalled")}


def test_the_sweep_refreshes_a_rotating_token_before_it_expires_when_nothing_calls_slack(
    workspace: Workspace, sqlite_url: str, clock: FakeClock
) -> None:
    with (
        SlackStandIn(token_rotation=True, token_ttl=12 * 3600) as standin,
        LocalBot(
            workspace, database_url=sqlite_url, clock=clock, standin=standin, oauth=True
        ) as bot,
    ):
        assert install_with_oauth(bot)[0] == 200
        [first] = standin.oauth.tokens()
        expiry = standin.oauth.grants[first].expires_at
        assert expiry is not None
        clock.now = datetime.fromtimestamp(expiry, UTC) - timedelta(hours=3)
        bot.sweep()
        assert standin.oauth.refreshes == []  # not due yet: two hours before expiry
        clock.advance(timedelta(hours=1, minutes=1))
        before = len(standin.calls())
        bot.sweep()
        assert [c.method for c in standin.calls()[before:]] == ["oauth.v2.access"]
        assert len(standin.oauth.refreshes) == 1
        bot.sweep()
        assert len(standin.oauth.refreshes) == 1  # the new token is good for 12 hours
