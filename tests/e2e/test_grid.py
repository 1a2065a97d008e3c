"""A whole case on Enterprise Grid (issue 21), once with the app installed in one workspace of
the organisation and once installed org-wide.

The reporter types ``/nonconformity report`` in the research workspace; triage works in the
acceptance workspace; everyone of ours has a ``W…`` id and Slack names our organisation
(``E…``) as their team. Partners read their notices in Slack Connect channels: Northwind is an
Enterprise organisation of its own, listed in the catalogue by its workspace (``T…``) while
Slack names its organisation; EU Import is a plain workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.delivery.slack_api import acting_workspace, make_client
from bot.devkit.local import LocalBot, seed
from bot.devkit.standin import SlackStandIn
from bot.errors import ConfigError
from bot.ops.identity import Installation
from bot.ops.workspace import parse_workspace, sample_path
from bot.views import ids
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import SLACK_LIMITS_SCALE
from tests.e2e.test_doctor import doctor, failures
from tests.e2e.test_oauth_install import bearer
from tests.scenarios import (
    ASSESSMENT,
    DONE_EVIDENCE,
    GOOD_REPORT,
    MEASURE_PLAN,
    PARTNER_USER,
    case_card,
    case_events,
    case_row,
    decide,
    install_with_oauth,
    notice_rows,
    notices_in,
    refusal_after,
    settle,
    thread_replies,
    wait_for,
)

ORG, ACCEPTANCE, RESEARCH_WS = "E0ORG00001", "T0TEAM0001", "T0TEAM0002"
REPORTER, OFFICER, OFFICER2 = "W0REPORTR1", "W0OFFICER1", "W0OFFICER2"
APPROVER, ACME_CONTACT = "W0APPROVE1", "W0ACMECON1"
RESEARCH = "C0RESEARCH"  # a channel of the research workspace
NORTHWIND, EU_IMPORT, ACME = "C0NORTHWND", "C0EUIMPORT", "C0ACMEDIST"
NORTHWIND_WS, NORTHWIND_ORG, NORTHWIND_USER = "T0NORTHWND", "E0NORTHWND", "W0NORTHWD1"


def grid_workspace_text(northwind_team: str = NORTHWIND_WS) -> str:
    """The sample workspace with Grid user ids, and Northwind named by ``northwind_team``."""
    text = sample_path().read_text().replace("U0", "W0")
    northwind = "{id: northwind, name: Northwind Bank, role: deployer, channel: C0NORTHWND}"
    assert northwind in text
    return text.replace(northwind, northwind[:-1] + f", team: {northwind_team}}}")


def grid_workspace(northwind_team: str = NORTHWIND_WS) -> Any:
    return parse_workspace(grid_workspace_text(northwind_team), "grid.yml")


@contextmanager
def grid_bot(
    tmp_path: Path, org_wide: bool, northwind_team: str = NORTHWIND_WS, oauth: bool = False
) -> Iterator[LocalBot]:
    """The bot on a Grid stand-in: the reporter in the research workspace, Northwind an
    Enterprise organisation of its own in a Slack Connect channel. ``oauth``: installed
    through ``/slack/install`` (for the organisation, when ``org_wide``), not a static token."""
    with SlackStandIn.grid(org_wide=org_wide) as standin:
        standin.set_limits(SLACK_LIMITS_SCALE)
        local = LocalBot(
            grid_workspace(northwind_team),
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            clock=FakeClock(),
            standin=standin,
            oauth=oauth,
        )
        with local:
            if oauth:
                status, page = install_with_oauth(local)
                assert status == 200, page
            standin.add_user(REPORTER, team_id=RESEARCH_WS, real_name="Rita Reporter")
            standin.add_channel(RESEARCH, name="research", members=[REPORTER], team=RESEARCH_WS)
            standin.add_user(
                NORTHWIND_USER,
                team_id=NORTHWIND_WS,
                enterprise_id=NORTHWIND_ORG,
                real_name="Nora Northwind",
            )
            standin.add_channel(
                NORTHWIND,
                name="ext-northwind",
                members=[OFFICER, NORTHWIND_USER],
                is_ext_shared=True,
            )
            yield local


@pytest.fixture(
    params=[(False, False), (True, False), (True, True)],
    ids=["Grid workspace install", "org-wide install", "org-wide install with OAuth"],
)
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalBot]:
    org_wide, oauth = request.param
    with grid_bot(tmp_path, org_wide=org_wide, oauth=oauth) as local:
        yield local


def report_from_research(bot: LocalBot) -> None:
    opened = len(bot.standin.calls("views.open"))
    response = bot.driver.command("/nonconformity", "report", user=REPORTER, channel=RESEARCH)
    assert response.status == 200, response.body
    wait_for(lambda: len(bot.standin.calls("views.open")) > opened, what="the report modal")
    view = bot.driver.last_view(REPORTER)
    submitted = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)
    assert (submitted.status, submitted.body) == (200, b""), submitted.body
    case_card(bot)
    wait_for(lambda: thread_replies(bot), what="the first step")
    settle(bot)


def press_receipt(bot: LocalBot, channel: str, user: str) -> str:
    """Press "Acknowledge receipt" on the channel's notice; the answer, once applied."""
    before = len(bot.standin.response_posts())
    notice = notices_in(bot, channel)[0]
    response = bot.driver.click(channel, notice.ts, ids.NOTICE_ACK, user=user)
    assert response.status == 200, response.body
    answer = refusal_after(bot, before)
    settle(bot)
    return answer


def test_a_whole_case_across_two_workspaces_with_partners_in_slack_connect(
    bot: LocalBot,
) -> None:
    org_wide = bot.standin.settings.is_enterprise_install
    report_from_research(bot)
    assert bot.services.people.installation.setup == (
        "org-wide install" if org_wide else "Grid workspace install"
    )
    case = case_row(bot)
    assert (case.reporter_id, case.reporter_team) == (REPORTER, ORG)

    # our staff, from the acceptance workspace, take every step: none is refused as external
    decide(bot, "case_acknowledge", OFFICER)
    decide(bot, "case_confirm", OFFICER, ASSESSMENT)
    # our reporter is not taken for a deployer (Northwind) to invite to investigate
    assert case_row(bot).details.reporting_deployer is None
    decide(bot, "measure_choose_withdraw", OFFICER, {**MEASURE_PLAN, "owner": OFFICER2})
    decide(bot, "measure_approve", APPROVER)
    assert case_row(bot).state == "measure_approved"
    wait_for(
        lambda: all(notices_in(bot, c) for c in (NORTHWIND, EU_IMPORT, ACME)),
        what="the notices",
    )

    # a staff click on a partner notice is recorded and is no receipt
    answer = press_receipt(bot, NORTHWIND, OFFICER)
    assert "only someone from Northwind Bank can acknowledge receipt" in answer
    northwind = notice_rows(bot)["northwind"]
    assert northwind.status == "sent"
    assert [(c["user"], c["counted"]) for c in northwind.staff_clicks] == [(OFFICER, False)]
    assert "notice_click_by_staff" in [e.kind for e in case_events(bot)]

    # Northwind's own user counts: Slack names its organisation, the catalogue its workspace
    press_receipt(bot, NORTHWIND, NORTHWIND_USER)
    northwind = notice_rows(bot)["northwind"]
    assert (northwind.status, northwind.ack_by, northwind.ack_team) == (
        "acknowledged",
        NORTHWIND_USER,
        NORTHWIND_ORG,
    )
    # a plain workspace in Slack Connect is external too, and its receipt counts
    press_receipt(bot, EU_IMPORT, PARTNER_USER)
    assert notice_rows(bot)["eu-import"].status == "acknowledged"
    # ACME's listed contact is one of ours
    press_receipt(bot, ACME, ACME_CONTACT)
    assert notice_rows(bot)["acme-dist"].status == "acknowledged"

    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    acknowledged = [e for e in case_events(bot) if e.kind == "notice_acknowledged"]
    assert {e.actor_id: e.payload["data"]["external"] for e in acknowledged} == {
        NORTHWIND_USER: True,
        PARTNER_USER: True,
        ACME_CONTACT: False,
    }

    # the reporter, who holds no role, still reads their own case from their workspace
    status = bot.driver.command("/nonconformity", "status NC-1", user=REPORTER, channel=RESEARCH)
    assert "NC-1" in status.text and "closed" in status.text.lower(), status.text

    if org_wide:  # every workspace-scoped call named the triage workspace
        scoped = [
            c for c in bot.standin.calls() if c.method.startswith(("users.list", "usergroups"))
        ]
        assert all(c.args.get("team_id") == ACCEPTANCE for c in scoped)
        assert not [c for c in bot.standin.calls() if c.response.get("error") == "missing_argument"]


def test_a_slack_connect_partner_cannot_take_a_step_that_our_staff_can(bot: LocalBot) -> None:
    report_from_research(bot)
    before = len(bot.standin.response_posts())
    step = thread_replies(bot)[-1]
    bot.driver.click(step.channel, step.ts, "case_acknowledge", user=NORTHWIND_USER)
    answer = refusal_after(bot, before)
    assert "other organisations can follow this case but not change it" in answer
    assert case_row(bot).state == "reported"
    decide(bot, "case_acknowledge", OFFICER)
    assert case_row(bot).state == "acknowledged"


def test_an_org_wide_escalation_asks_for_the_user_group_in_the_triage_workspace(
    bot: LocalBot,
) -> None:
    """The critical policy notifies the approvers' user group (``S0APPROVRS``) at its second
    level: with an org-wide token ``usergroups.users.list`` must name a workspace."""
    opened = len(bot.standin.calls("views.open"))
    bot.driver.command("/nonconformity", "report", user=REPORTER, channel=RESEARCH)
    wait_for(lambda: len(bot.standin.calls("views.open")) > opened, what="the report modal")
    view = bot.driver.last_view(REPORTER)
    bot.driver.submit(view["id"], user=REPORTER, values={**GOOD_REPORT, "severity": "critical"})
    case_card(bot)
    settle(bot)
    assert isinstance(bot.clock, FakeClock)
    for _ in range(2):
        bot.clock.advance(timedelta(seconds=31))
        bot.sweep()
    calls = wait_for(lambda: bot.standin.calls("usergroups.users.list"), what="the group")
    team = ACCEPTANCE if bot.standin.settings.is_enterprise_install else None
    assert [(c.args.get("team_id"), c.response["ok"]) for c in calls] == [(team, True)] * len(calls)


@pytest.mark.parametrize(
    ("standin", "setup"),
    [
        (SlackStandIn, "single workspace T0TEAM0001"),
        (
            lambda: SlackStandIn.grid(org_wide=False),
            "Grid workspace install in workspace T0TEAM0001 of organisation E0ORG00001",
        ),
        (
            lambda: SlackStandIn.grid(org_wide=True),
            "org-wide install for organisation E0ORG00001; calls that need a workspace name "
            "T0TEAM0001, the triage channel's",
        ),
    ],
    ids=["single workspace", "Grid workspace install", "org-wide install"],
)
def test_doctor_says_which_setup_it_found(
    standin: Any, setup: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    config = tmp_path / "grid.yml"
    config.write_text(grid_workspace_text(), encoding="utf-8")
    with standin() as slack:
        seed(slack, grid_workspace())
        code, lines = doctor(monkeypatch, slack, config, url)
    assert f"✓ Slack setup: {setup}" in lines, lines
    assert code == 0, failures(lines)


def test_a_partner_listed_by_its_organisation_matches_a_user_slack_names_by_workspace(
    tmp_path: Path,
) -> None:
    """The catalogue names Northwind's organisation (``E…``); this click names the user's
    workspace (``T…``): ``users.info`` says both, and the receipt counts."""
    with grid_bot(tmp_path, org_wide=False, northwind_team=NORTHWIND_ORG) as bot:
        report_from_research(bot)
        decide(bot, "case_acknowledge", OFFICER)
        decide(bot, "case_confirm", OFFICER, ASSESSMENT)
        decide(bot, "measure_choose_withdraw", OFFICER, {**MEASURE_PLAN, "owner": OFFICER2})
        decide(bot, "measure_approve", APPROVER)
        wait_for(lambda: notices_in(bot, NORTHWIND), what="the notice to Northwind")
        before = len(bot.standin.response_posts())
        notice = notices_in(bot, NORTHWIND)[0]
        bot.driver.click(
            NORTHWIND, notice.ts, ids.NOTICE_ACK, user=NORTHWIND_USER, team_id=NORTHWIND_WS
        )
        assert "is recorded" in refusal_after(bot, before)
        settle(bot)
        northwind = notice_rows(bot)["northwind"]
        assert (northwind.status, northwind.ack_team) == ("acknowledged", NORTHWIND_WS)
        assert [c.args["user"] for c in bot.standin.calls("users.info")].count(NORTHWIND_USER) >= 1


def test_an_org_wide_install_that_cannot_see_the_triage_channel_refuses_to_start() -> None:
    """Without the triage channel's workspace an org-wide token cannot make the calls that
    need one: ``serve`` says so rather than fail on the first escalation."""
    with SlackStandIn.grid(org_wide=True) as standin:
        client = make_client(standin.settings.bot_token, standin.api_url)
        ours = Installation.from_auth_test(client.auth_test().data)
        with pytest.raises(ConfigError, match="triage_channel C0TRIAGE01: an org-wide install"):
            acting_workspace(client, ours, "C0TRIAGE01")
        standin.add_channel("C0TRIAGE01", name="nc-triage", team=RESEARCH_WS)
        assert acting_workspace(client, ours, "C0TRIAGE01").workspace_id == RESEARCH_WS
        assert client.usergroups_list()["ok"]  # named the workspace itself


def test_an_org_wide_oauth_install_gives_a_bot_whose_calls_carry_its_token(
    tmp_path: Path,
) -> None:
    """Installed for the organisation through ``/slack/install``: Slack answers the
    organisation and no workspace; every call carries the new token, and the calls that act
    in one workspace name the triage channel's."""
    with grid_bot(tmp_path, org_wide=True, oauth=True) as bot:
        [exchange] = bot.standin.calls("oauth.v2.access")
        answer = exchange.response
        assert (answer["is_enterprise_install"], answer["team"]) == (True, None)
        assert answer["enterprise"]["id"] == ORG
        token = str(answer["access_token"])
        installs = bot.services.installs
        assert installs is not None
        kept = installs.store.latest_bot()
        assert kept is not None
        assert (kept.enterprise_id, kept.team_id, kept.is_enterprise_install) == (ORG, None, True)

        before = len(bot.standin.calls())
        report_from_research(bot)  # the reporter in research, triage in acceptance
        decide(bot, "case_acknowledge", OFFICER)
        calls = bot.standin.calls()[before:]
        assert {bearer(c) for c in calls} == {token}
        assert all(c.response.get("ok") for c in calls), [
            (c.method, c.response) for c in calls if not c.response.get("ok")
        ]
        ours = bot.services.people.installation
        assert (ours.setup, ours.workspace_id) == ("org-wide install", ACCEPTANCE)
        assert case_row(bot).state == "acknowledged"
        assert ours.owns(ORG) and not ours.owns(NORTHWIND_ORG)
