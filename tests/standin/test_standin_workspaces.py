"""The stand-in with several separate workspaces of one provider, each installing the app with
OAuth: a token sees its own workspace's channels and users and what is shared with it, like
Slack (issue 22)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devkit.standin import SlackStandIn

A, B = "T0TEAM0001", "T0TEAMBBB1"


@pytest.fixture
def two() -> Iterator[SlackStandIn]:
    s = SlackStandIn()
    s.add_workspace(B, "bravo")
    s.add_user("U0ALPHA001", team_id=A)
    s.add_user("U0BRAVO001", team_id=B)
    s.add_user("U0PARTNER1", team_id="T0PARTNER1")  # another organisation (Slack Connect)
    s.add_channel("C0ALPHA001", members=["U0ALPHA001"], team=A)
    s.add_channel("C0BRAVO001", members=["U0BRAVO001"], team=B)
    s.add_channel("C0SHARED01", team=A, is_ext_shared=True, connected_teams=[B])
    with s:
        yield s


def installed(standin: SlackStandIn, team: str | None) -> tuple[str, dict[str, object]]:
    """The app approved for ``team`` (None: the stand-in's own workspace): its token and the
    whole ``oauth.v2.access`` answer."""
    oauth = standin.oauth
    query = {"client_id": oauth.client_id, "redirect_uri": "http://bot/cb", "state": "s"}
    status, where = oauth.authorize({**query, **({"team": team} if team else {})})
    assert status == 302
    code = urllib.parse.parse_qs(urllib.parse.urlparse(where).query)["code"][0]
    answer = WebClient(base_url=standin.api_url).oauth_v2_access(
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        code=code,
        redirect_uri="http://bot/cb",
    )
    return str(answer["access_token"]), dict(answer.data)  # type: ignore[arg-type]


def error(call: object) -> str:
    assert callable(call)
    with pytest.raises(SlackApiError) as exc:
        call()
    return str(exc.value.response["error"])


def test_each_workspace_installs_with_its_own_token(two: SlackStandIn) -> None:
    alpha, answer_a = installed(two, None)
    bravo, answer_b = installed(two, B)
    assert alpha != bravo
    assert answer_a["team"] == {"id": A, "name": two.settings.team_name}
    assert answer_b["team"] == {"id": B, "name": B}
    assert (two.oauth.team_of(alpha), two.oauth.team_of(bravo)) == (A, B)


def test_a_token_sees_its_own_workspace_and_what_is_shared_with_it(two: SlackStandIn) -> None:
    alpha = WebClient(token=installed(two, A)[0], base_url=two.api_url)
    bravo = WebClient(token=installed(two, B)[0], base_url=two.api_url)

    assert alpha.conversations_info(channel="C0ALPHA001")["ok"]
    assert error(lambda: alpha.conversations_info(channel="C0BRAVO001")) == "channel_not_found"
    assert error(lambda: bravo.chat_postMessage(channel="C0ALPHA001", text="x")) == (
        "channel_not_found"
    )
    assert bravo.chat_postMessage(channel="C0BRAVO001", text="x")["ok"]
    # a channel A shares with B: both see it
    assert alpha.chat_postMessage(channel="C0SHARED01", text="a")["ok"]
    assert bravo.chat_postMessage(channel="C0SHARED01", text="b")["ok"]

    # users: its own workspace's, and other organisations' (Slack Connect), not the other's
    assert bravo.users_info(user="U0BRAVO001")["ok"]
    assert bravo.users_info(user="U0PARTNER1")["ok"]
    assert error(lambda: bravo.users_info(user="U0ALPHA001")) == "user_not_found"
    assert error(lambda: alpha.views_publish(user_id="U0BRAVO001", view=HOME)) == ("user_not_found")
    assert error(lambda: alpha.conversations_open(users="U0BRAVO001")) == "user_not_found"
    dm = bravo.conversations_open(users="U0BRAVO001")["channel"]["id"]
    assert error(lambda: alpha.chat_postMessage(channel=dm, text="x")) == "channel_not_found"


def test_a_modal_opens_only_with_the_token_of_the_workspace_the_request_came_from(
    two: SlackStandIn,
) -> None:
    alpha = WebClient(token=installed(two, A)[0], base_url=two.api_url)
    bravo = WebClient(token=installed(two, B)[0], base_url=two.api_url)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    trigger = two.issue_trigger(user="U0BRAVO001")
    assert error(lambda: alpha.views_open(trigger_id=trigger, view=modal)) == ("invalid_trigger_id")
    assert bravo.views_open(trigger_id=trigger, view=modal)["ok"]


def test_the_static_token_sees_everything_as_it_always_did(two: SlackStandIn) -> None:
    static = WebClient(token=two.settings.bot_token, base_url=two.api_url)
    assert static.conversations_info(channel="C0BRAVO001")["ok"]


HOME = {"type": "home", "blocks": []}


def test_auth_revoke_stops_the_token_it_is_called_with_and_no_other(two: SlackStandIn) -> None:
    alpha, _ = installed(two, A)
    bravo, _ = installed(two, B)
    assert WebClient(token=bravo, base_url=two.api_url).auth_revoke(test=True)["revoked"] is False
    assert two.oauth.check(bravo) is None  # test=true only says it would
    answer = WebClient(token=bravo, base_url=two.api_url).auth_revoke()
    assert answer["ok"] and answer["revoked"] is True
    assert two.oauth.revoked == [bravo]
    assert error(lambda: WebClient(token=bravo, base_url=two.api_url).auth_test()) == (
        "token_revoked"
    )
    assert WebClient(token=alpha, base_url=two.api_url).auth_test()["ok"]
    assert error(lambda: WebClient(token="xoxb-nobody", base_url=two.api_url).auth_revoke()) == (
        "invalid_auth"
    )


def test_another_organisation_may_install_it_and_is_named_as_such(two: SlackStandIn) -> None:
    two.oauth.next_enterprise = "E0FOREIGN1"
    token, answer = installed(two, "T0FOREIGN1")
    assert answer["team"] == {"id": "T0FOREIGN1", "name": "T0FOREIGN1"}
    assert answer["enterprise"] == {"id": "E0FOREIGN1", "name": "E0FOREIGN1"}
    assert two.oauth.team_of(token) == "T0FOREIGN1"
