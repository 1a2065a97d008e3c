"""Several workspaces of one provider on one deployment, each installed through the same
``/slack/install`` (issue 22): the reporter in workspace A, the triage channel in workspace B,
staff in both. The stand-in is strict like Slack — a token sees only its own workspace's
channels and users and what is shared with it — so a call made with the wrong installation's
token fails; here every call must succeed, and we check whose token each carried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.delivery.slack_api import TokenUnavailable
from bot.devkit.local import LocalBot
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import Workspace
from storage.models import SlackRoute
from tests.conftest import SLACK_LIMITS_SCALE
from tests.e2e.test_doctor import doctor, failures, sample
from tests.e2e.test_oauth_install import bearer
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    GOOD_REPORT,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    REPORTER,
    TRIAGE,
    case_card,
    case_row,
    decide,
    install_with_oauth,
    notices_in,
    settle,
    thread_replies,
    wait_for,
)

A, B = "T0TEAM0001", "T0TEAMBBB1"  # A: the reporter's workspace; B: triage's
ALPHA_CHANNEL = "C0ALPHAENG"  # where the reporter types the command, in A
PARTNER_CHANNELS = ("C0ACMEDIST", "C0NORTHWND", "C0EUIMPORT")  # A's Slack Connect channels


@pytest.fixture
def two(workspace: Workspace, database_url: str) -> Iterator[tuple[LocalBot, str, str]]:
    """The bot installed in A then in B; the triage channel and the triage staff in B, the
    reporter and the approvers in A; on SQLite and PostgreSQL. Yields the bot and A's and
    B's tokens."""
    with SlackStandIn() as standin:
        standin.set_limits(SLACK_LIMITS_SCALE)
        standin.add_workspace(B, "bravo")
        local = LocalBot(
            workspace,
            database_url=database_url,
            clock=FakeClock(),
            standin=standin,
            oauth=True,
        )
        with local:
            for user in (OFFICER, OFFICER2):
                standin.add_user(user, team_id=B, real_name=f"Officer {user}")
            standin.add_channel(
                TRIAGE, name="nc-triage", members=[OFFICER, OFFICER2, APPROVER], team=B
            )
            standin.add_channel(ALPHA_CHANNEL, name="engineering", members=[REPORTER], team=A)
            tokens = []
            for team in (A, B):
                standin.oauth.next_team = team
                status, page = install_with_oauth(local)
                assert status == 200, page
                tokens.append(str(standin.calls("oauth.v2.access")[-1].response["access_token"]))
            yield local, tokens[0], tokens[1]


def test_each_call_carries_the_token_of_the_installation_its_channel_or_user_belongs_to(
    two: tuple[LocalBot, str, str],
) -> None:
    bot, alpha, bravo = two
    assert bot.standin.oauth.team_of(alpha) == A and bot.standin.oauth.team_of(bravo) == B
    before = len(bot.standin.calls())

    # the reporter reports from A: the modal opens with A's token (the request's workspace)
    opened = len(bot.standin.calls("views.open"))
    response = bot.driver.command("/nonconformity", "report", user=REPORTER, channel=ALPHA_CHANNEL)
    assert response.status == 200, response.body
    wait_for(lambda: len(bot.standin.calls("views.open")) > opened, what="the report modal")
    view = bot.driver.last_view(REPORTER)
    report_modal = bot.standin.calls("views.open")[opened:]
    assert {bearer(c) for c in report_modal} == {alpha}  # from the reporter's request in A
    assert (bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT).status) == 200
    case_card(bot)
    wait_for(lambda: thread_replies(bot), what="the first step")
    settle(bot)
    case = case_row(bot)
    assert (case.reporter_id, case.reporter_team) == (REPORTER, A)

    # triage staff of B and approvers of A are ours: none of their steps is refused
    steps_from = len(bot.standin.calls("views.open"))
    decide(bot, "case_acknowledge", OFFICER)
    decide(bot, "case_confirm", OFFICER, ASSESSMENT)
    decide(bot, "measure_choose_withdraw", OFFICER, {**MEASURE_PLAN, "owner": OFFICER2})
    decide(bot, "measure_approve", APPROVER)
    assert case_row(bot).state == "measure_approved"
    wait_for(lambda: all(notices_in(bot, c) for c in PARTNER_CHANNELS), what="the notices")
    bot.driver.app_home_opened(REPORTER)
    bot.driver.app_home_opened(OFFICER)
    wait_for(
        lambda: (
            {REPORTER, OFFICER}
            <= {c.args.get("user_id") for c in bot.standin.calls("views.publish")}
        ),
        what="both App Homes",
    )
    settle(bot)
    ours = bot.services.people.installation
    assert ours.setup == "several workspaces"
    assert ours.team_id == B and {A, B} <= ours.ids  # the triage channel's first
    assert not bot.services.people.is_external(A) and not bot.services.people.is_external(B)
    assert bot.services.people.is_external("T0PARTNER1")

    calls = bot.standin.calls()[before:]
    sent = [c for c in calls if bearer(c) in (alpha, bravo)]

    def tokens(method: str, **where: Any) -> set[str]:
        found = {
            bearer(c)
            for c in sent
            if c.method == method and all(c.args.get(k) == v for k, v in where.items())
        }
        assert found, (method, where)
        return found

    # the step modals open for the officer in B: B's token (the request's workspace)
    assert {bearer(c) for c in bot.standin.calls("views.open")[steps_from:]} == {bravo}
    assert tokens("chat.postMessage", channel=TRIAGE) == {bravo}
    assert tokens("chat.update", channel=TRIAGE) == {bravo}
    for channel in PARTNER_CHANNELS:  # A's Slack Connect channels
        assert tokens("chat.postMessage", channel=channel) == {alpha}
    assert tokens("views.publish", user_id=REPORTER) == {alpha}
    assert tokens("views.publish", user_id=OFFICER) == {bravo}
    # Nothing the bot wanted failed: only the look-ups of which token sees what were refused.
    refused = [(c.method, c.response.get("error")) for c in sent if not c.response.get("ok")]
    assert {m for m, _ in refused} <= {"conversations.info", "users.info"}, refused
    assert {e for _, e in refused} <= {"channel_not_found", "user_not_found"}, refused

    # Each channel's installation was found once and is kept for every replica.
    with bot.services.db.read() as session:
        routes = {r.target: r.install_key for r in session.scalars(select(SlackRoute))}
    assert routes[TRIAGE] == f":{B}" and routes[PARTNER_CHANNELS[0]] == f":{A}"
    lookups = [c for c in calls if c.method == "conversations.info" and c.args.get("channel")]
    assert len([c for c in lookups if c.args["channel"] == TRIAGE and bearer(c) == bravo]) >= 1


def test_a_restarted_replica_uses_the_routes_found_before(
    two: tuple[LocalBot, str, str],
) -> None:
    """What one process found is read by the next from the database: no look-up again."""
    bot, _, bravo = two
    installs = bot.services.installs
    assert installs is not None
    assert installs.tokens("chat.postMessage", {"channel": TRIAGE}) == bravo
    installs.tokens._routes.clear()  # a fresh process knows nothing but the database
    before = len(bot.standin.calls("conversations.info"))
    assert installs.tokens("chat.postMessage", {"channel": TRIAGE}) == bravo
    assert len(bot.standin.calls("conversations.info")) == before


def test_one_workspace_uninstalling_stops_only_what_goes_there(
    two: tuple[LocalBot, str, str],
) -> None:
    """B (triage's) removes the app: what goes to its channels fails with the reason, and is
    never tried with A's token; A's installation goes on working."""
    bot, alpha, _ = two
    installs = bot.services.installs
    assert installs is not None
    installs.tokens("chat.postMessage", {"channel": TRIAGE})  # the route is known
    assert bot.driver.app_uninstalled(team_id=B).status == 200
    wait_for(lambda: installs.store.inactive_reason() == "app_uninstalled", what="deactivation")

    with pytest.raises(TokenUnavailable) as refused:
        installs.tokens("chat.postMessage", {"channel": TRIAGE})
    assert refused.value.reason == "app_uninstalled"
    assert installs.tokens("views.publish", {"user_id": REPORTER}) == alpha

    before = len(bot.standin.calls())
    bot.driver.app_home_opened(REPORTER, team_id=A)
    wait_for(
        lambda: [c for c in bot.standin.calls()[before:] if c.method == "views.publish"],
        what="the reporter's App Home, from A",
    )
    published = [c for c in bot.standin.calls()[before:] if c.method == "views.publish"]
    assert {(bearer(c), c.response["ok"]) for c in published} == {(alpha, True)}


def test_doctor_says_the_bot_is_installed_in_several_workspaces(
    two: tuple[LocalBot, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bot, _, _ = two
    assert bot.token_key is not None
    code, lines = doctor(
        monkeypatch,
        bot.standin,
        sample(tmp_path / "ws.yml"),
        bot.database_url,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=bot.standin.oauth.client_id,
        SLACK_CLIENT_SECRET=bot.standin.oauth.client_secret,
        TOKEN_ENCRYPTION_KEY=bot.token_key,
        SLACK_INSTALL_TEAMS=f"{A},{B}",
    )
    setup = [line for line in lines if "Slack setup" in line]
    assert setup == [
        f"✓ Slack setup: 2 installations: single workspace {B} (the triage channel's); "
        f"single workspace {A}"
    ], lines
    assert code == 0, failures(lines)
