"""The stand-in speaks Enterprise Grid (issue 21): an organisation with two workspaces, ``E…``
ids where Slack sends them, ``W…`` users, ``auth.test`` with ``enterprise_id`` and
``is_enterprise_install``, and ``team_id`` required on workspace-scoped methods with an
org-wide token."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devkit.standin import SlackDriver, SlackStandIn
from tests.standin.test_standin_driver import SECRET, FakeBot

ORG, WS1, WS2 = "E0ORG00001", "T0TEAM0001", "T0TEAM0002"
STAFF, REPORTER = "W0OFFICER1", "W0REPORTR1"
PARTNER, PARTNER_WS, PARTNER_ORG = "W0NORTHWD1", "T0NORTHWND", "E0NORTHWND"


def grid(org_wide: bool) -> SlackStandIn:
    s = SlackStandIn.grid(org_wide=org_wide)
    s.add_user(STAFF, real_name="Olga Officer")
    s.add_user(REPORTER, team_id=WS2, real_name="Rita Reporter")
    s.add_user(PARTNER, team_id=PARTNER_WS, enterprise_id=PARTNER_ORG, real_name="Nora")
    s.add_channel("C0TRIAGE01", name="nc-triage", members=[STAFF])
    s.add_channel("C0RESEARCH", name="research", members=[REPORTER], team=WS2)
    s.add_channel("C0NORTHWND", name="ext-northwind", members=[STAFF, PARTNER], is_ext_shared=True)
    s.add_usergroup("S0APPROVRS", handle="approvers", users=[STAFF])
    return s


@pytest.fixture(params=[False, True], ids=["workspace install", "org-wide install"])
def standin(request: pytest.FixtureRequest) -> Iterator[SlackStandIn]:
    with grid(request.param) as s:
        yield s


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-standin", base_url=standin.api_url, timeout=5)


def test_auth_test_names_the_organisation_and_how_the_app_is_installed(
    standin: SlackStandIn, client: WebClient
) -> None:
    answer = client.auth_test()
    assert answer["enterprise_id"] == ORG
    org_wide = standin.settings.is_enterprise_install
    assert answer["is_enterprise_install"] is org_wide
    assert answer["team_id"] == (ORG if org_wide else WS1)


def test_users_info_tells_a_grid_users_workspace_and_organisation(client: WebClient) -> None:
    reporter = client.users_info(user=REPORTER)["user"]
    assert reporter["team_id"] == WS2
    assert reporter["enterprise_user"]["enterprise_id"] == ORG
    partner = client.users_info(user=PARTNER)["user"]
    assert (partner["team_id"], partner["enterprise_user"]["enterprise_id"]) == (
        PARTNER_WS,
        PARTNER_ORG,
    )


def test_a_shared_channel_names_its_workspace_and_the_partner_organisation(
    client: WebClient,
) -> None:
    info = client.conversations_info(channel="C0NORTHWND")["channel"]
    assert info["context_team_id"] == WS1
    assert info["connected_team_ids"] == [WS1, PARTNER_ORG]
    assert client.conversations_info(channel="C0RESEARCH")["channel"]["context_team_id"] == WS2


def test_an_org_wide_token_must_name_the_workspace_on_workspace_scoped_methods(
    standin: SlackStandIn, client: WebClient
) -> None:
    calls = (
        lambda **team: client.users_list(**team),
        lambda **team: client.usergroups_list(**team),
        lambda **team: client.usergroups_users_list(usergroup="S0APPROVRS", **team),
    )
    for call in calls:
        if not standin.settings.is_enterprise_install:
            assert call()["ok"]  # a workspace token needs no team_id
            continue
        with pytest.raises(SlackApiError) as missing:
            call()
        assert missing.value.response["error"] == "missing_argument"
        with pytest.raises(SlackApiError) as foreign:
            call(team_id="T0ELSEWHR1")
        assert foreign.value.response["error"] == "team_access_not_granted"
        assert call(team_id=WS1)["ok"]
    members = client.users_list(team_id=WS2)["members"]
    expected = {REPORTER} if standin.settings.is_enterprise_install else {STAFF, "U0BOT00001"}
    assert {m["id"] for m in members} == expected


@pytest.fixture
def driver(standin: SlackStandIn) -> Iterator[tuple[SlackDriver, FakeBot]]:
    fake = FakeBot()
    yield SlackDriver(standin, fake.url, SECRET), fake
    fake.httpd.shutdown()


def _form(fake: FakeBot) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(fake.requests[-1]["body"].decode()))


def test_a_click_carries_the_organisation_as_the_users_team_and_the_channels_workspace(
    driver: tuple[SlackDriver, FakeBot], standin: SlackStandIn
) -> None:
    slack, fake = driver
    ts = standin.add_message(
        "C0NORTHWND",
        "notice",
        user="U0BOT00001",
        blocks=[
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "ack",
                        "value": "1",
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                    }
                ],
            }
        ],
    ).ts
    slack.click("C0NORTHWND", ts, "ack", user=STAFF)
    staff: Any = fake.payload()
    assert staff["user"]["team_id"] == ORG
    assert staff["team"]["id"] == WS1 and staff["team"]["enterprise_id"] == ORG
    assert staff["enterprise"]["id"] == ORG
    assert staff["is_enterprise_install"] is standin.settings.is_enterprise_install
    slack.click("C0NORTHWND", ts, "ack", user=PARTNER)
    assert fake.payload()["user"]["team_id"] == PARTNER_ORG  # Slack Connect: their own


def test_a_command_names_the_users_workspace_and_organisation(
    driver: tuple[SlackDriver, FakeBot], standin: SlackStandIn
) -> None:
    slack, fake = driver
    slack.command("/nonconformity", "list", user=REPORTER, channel="C0RESEARCH")
    form = _form(fake)
    assert (form["team_id"], form["enterprise_id"], form["team_domain"]) == (WS2, ORG, "research")
    org_wide = standin.settings.is_enterprise_install
    assert form["is_enterprise_install"] == ("true" if org_wide else "false")


def test_a_modal_submission_of_an_org_wide_install_carries_no_team(
    driver: tuple[SlackDriver, FakeBot], standin: SlackStandIn, client: WebClient
) -> None:
    slack, fake = driver
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Report"}, "blocks": []}
    opened = client.views_open(trigger_id=standin.issue_trigger(REPORTER), view=view)
    slack.submit(opened["view"]["id"], user=REPORTER)
    payload = fake.payload()
    assert payload["user"]["team_id"] == ORG
    if standin.settings.is_enterprise_install:
        assert payload["team"] is None
    else:
        assert payload["team"]["id"] == WS1


def test_an_event_names_the_organisation_and_the_installation_it_is_for(
    driver: tuple[SlackDriver, FakeBot], standin: SlackStandIn
) -> None:
    slack, fake = driver
    slack.app_home_opened(REPORTER)
    envelope = json.loads(fake.requests[-1]["body"])
    assert (envelope["team_id"], envelope["enterprise_id"]) == (WS2, ORG)
    (authorization,) = envelope["authorizations"]
    org_wide = standin.settings.is_enterprise_install
    assert authorization["enterprise_id"] == ORG
    assert authorization["is_enterprise_install"] is org_wide
    assert authorization["team_id"] == (None if org_wide else WS1)
