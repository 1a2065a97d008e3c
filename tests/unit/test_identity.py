"""Ours or external, on a single workspace and on Enterprise Grid (issue 21): one rule
(``Installation.owns``) over the one home every payload shape is read into (``home_of``)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from bot.delivery.slack_api import with_team
from bot.ops.identity import Installation, user_homes
from bot.ops.people import People, other_organisations
from bot.ops.workspace import Workspace, load_workspace, sample_path
from handlers.payloads import Incoming, home_of
from tests.conftest import shared_path

ORG, WS1, WS2 = "E0ORG00001", "T0TEAM0001", "T0TEAM0002"
PARTNER_ORG, PARTNER_WS = "E0PARTNER1", "T0PARTNER1"

SINGLE = Installation(team_id=WS1)
GRID = Installation(team_id=WS1, enterprise_id=ORG)
ORG_WIDE = Installation(team_id=ORG, enterprise_id=ORG, is_enterprise_install=True)


def test_auth_test_says_which_of_the_three_setups_we_are_in() -> None:
    single = Installation.from_auth_test({"ok": True, "team_id": WS1, "user_id": "U0BOT"})
    grid = Installation.from_auth_test(
        {"team_id": WS1, "enterprise_id": ORG, "is_enterprise_install": False}
    )
    org = Installation.from_auth_test(
        {"team_id": ORG, "enterprise_id": ORG, "is_enterprise_install": True}
    )
    assert (single, grid, org) == (SINGLE, GRID, ORG_WIDE)
    assert [i.setup for i in (single, grid, org)] == [
        "single workspace",
        "Grid workspace install",
        "org-wide install",
    ]


@pytest.mark.parametrize("ours", [GRID, ORG_WIDE])
def test_on_grid_the_organisation_and_our_workspace_are_ours(ours: Installation) -> None:
    assert ours.owns(ORG)
    assert ours.owns(WS1) == (ours is GRID)  # org-wide: Slack names the organisation
    assert not ours.owns(PARTNER_ORG)
    assert not ours.owns(PARTNER_WS)


def test_a_single_workspace_knows_only_itself_and_unknown_is_ours() -> None:
    assert SINGLE.owns(WS1) and not SINGLE.owns(ORG) and not SINGLE.owns(PARTNER_WS)
    assert SINGLE.owns(None)
    assert Installation().owns(PARTNER_WS)  # no auth.test (tests, demo): nobody is external


def test_with_several_installations_every_installed_workspace_and_organisation_is_ours() -> None:
    """OAuth, several workspaces of one provider (and an organisation org-wide): one rule."""
    several = Installation(team_id=WS2, others=(SINGLE, ORG_WIDE))
    assert several.setup == "several workspaces"
    assert all(several.owns(home) for home in (WS1, WS2, ORG))
    assert not several.owns(PARTNER_WS) and not several.owns(PARTNER_ORG)
    people = People(load_workspace(sample_path()), several)
    assert not people.is_external(WS1) and people.is_external(PARTNER_WS)
    assert several.describe().startswith(f"3 installations: single workspace {WS2} (the triage")


def _interaction(user_team: str, team: str | None, enterprise: str | None) -> dict[str, Any]:
    """``block_actions.json`` as Slack sends it in a Grid organisation."""
    body: dict[str, Any] = json.loads(
        shared_path("slack", "payloads", "block_actions.json").read_text()
    )
    body["user"] = {**body["user"], "id": "W0OFFICER1", "team_id": user_team}
    body["team"] = (
        None if team is None else {"id": team, "domain": "ws", "enterprise_id": enterprise}
    )
    body["enterprise"] = None if enterprise is None else {"id": enterprise, "name": "Org"}
    body["is_enterprise_install"] = team is None
    return body


def test_every_interaction_shape_reads_to_one_home() -> None:
    plain = json.loads(shared_path("slack", "payloads", "block_actions.json").read_text())
    assert home_of(plain) == WS1  # not Grid: the workspace
    assert home_of(_interaction(ORG, WS2, ORG)) == ORG  # Slack gives the organisation
    assert home_of(_interaction(WS2, WS2, ORG)) == ORG  # a user of the workspace it came through
    assert home_of(_interaction(ORG, None, ORG)) == ORG  # org-wide: no team
    # Slack Connect: the partner keeps their own home, whatever workspace the click came through
    assert home_of(_interaction(PARTNER_ORG, WS1, ORG)) == PARTNER_ORG
    assert home_of(_interaction(PARTNER_WS, WS1, ORG)) == PARTNER_WS
    assert Incoming(_interaction(ORG, WS2, ORG)).team_id == ORG


def test_slash_commands_and_events_read_to_the_same_home() -> None:
    form = shared_path("slack", "payloads", "slash_command.form.txt").read_text().strip()
    command = dict(urllib.parse.parse_qsl(form))
    assert home_of(command) == WS1
    grid = {**command, "team_id": WS2, "enterprise_id": ORG, "is_enterprise_install": "true"}
    assert home_of(grid) == ORG
    event = json.loads(shared_path("slack", "payloads", "app_home_opened.json").read_text())
    assert home_of(event) == WS1
    authorized = {
        **event,
        "team_id": WS2,
        "authorizations": [{"enterprise_id": ORG, "team_id": None, "is_enterprise_install": True}],
    }
    assert home_of(authorized) == ORG
    connect = {**event, "enterprise_id": ORG, "event": {**event["event"], "user_team": PARTNER_WS}}
    assert home_of(connect) == PARTNER_WS


def test_people_refuse_an_external_user_and_accept_staff_from_any_of_our_workspaces(
    workspace: Workspace,
) -> None:
    people = People(workspace, GRID)
    officer = workspace.roles.triage[0]
    assert not people.actor(officer, ORG).external
    assert people.actor(officer, PARTNER_ORG).external
    # one payload named the workspace, another the organisation: the same reporter
    assert people.is_reporter("W0REPORTR2", WS1, "W0REPORTR2", ORG)
    assert not people.is_reporter("W0REPORTR2", WS1, "W0REPORTR2", PARTNER_ORG)


def test_users_info_names_every_home_of_a_grid_user() -> None:
    grid_user = {
        "id": "W0PARTNER2",
        "team_id": PARTNER_WS,
        "enterprise_user": {"enterprise_id": PARTNER_ORG, "teams": [PARTNER_WS, "T0PARTNER2"]},
    }
    assert user_homes(grid_user) == {PARTNER_WS, PARTNER_ORG, "T0PARTNER2"}
    assert user_homes({"id": "U1", "team_id": PARTNER_WS}) == {PARTNER_WS}


def test_our_own_organisation_is_not_among_those_sharing_a_channel() -> None:
    info = {"is_ext_shared": True, "connected_team_ids": [ORG, WS1, PARTNER_ORG]}
    assert other_organisations(info, GRID) == {PARTNER_ORG}
    assert other_organisations(info, WS1) == {ORG, PARTNER_ORG}


def test_an_org_wide_call_names_the_workspace_where_the_sdk_put_the_arguments() -> None:
    assert with_team({"http_verb": "GET", "params": {"usergroup": "S1"}}, WS1)["params"] == {
        "team_id": WS1,
        "usergroup": "S1",
    }
    assert with_team({"json": {"team_id": WS2}}, WS1)["json"] == {"team_id": WS2}
    # the SDK's typed methods pass every optional argument, unset ones as None
    assert with_team({"params": {"team_id": None}}, WS1)["params"] == {"team_id": WS1}
    assert with_team({"http_verb": "GET"}, WS1)["params"] == {"team_id": WS1}
