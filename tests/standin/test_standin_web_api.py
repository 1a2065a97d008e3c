"""The stand-in's Web API, driven through a real slack_sdk WebClient."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devkit.standin import SlackStandIn


def error_of(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_auth_test_answers_the_bot_identity(client: WebClient) -> None:
    r = client.auth_test()
    assert r["team_id"] == "T0TEAM0001"
    assert r["user_id"] == "U0BOT00001"
    assert r["bot_id"] == "B0BOT00001"


def test_every_answer_carries_the_granted_scopes(client: WebClient) -> None:
    r = client.auth_test()
    assert "chat:write" in r.headers["x-oauth-scopes"].split(",")


def test_a_wrong_token_is_invalid_auth_and_no_token_is_not_authed(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as bad:
        WebClient(token="xoxb-wrong", base_url=standin.api_url).auth_test()
    assert error_of(bad) == "invalid_auth"
    with pytest.raises(SlackApiError) as none:
        WebClient(base_url=standin.api_url).auth_test()
    assert error_of(none) == "not_authed"


def test_an_unknown_method_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.postMessagee", json={"channel": "C0TRIAGE01", "text": "x"})
    assert error_of(exc) == "unknown_method"


def test_a_posted_message_is_stored_with_a_unique_increasing_ts(
    client: WebClient, standin: SlackStandIn
) -> None:
    first = client.chat_postMessage(channel="C0TRIAGE01", text="one")
    second = client.chat_postMessage(channel="C0TRIAGE01", text="two")
    assert float(second["ts"]) > float(first["ts"])
    assert [m.text for m in standin.messages("C0TRIAGE01")] == ["one", "two"]
    assert standin.messages("C0TRIAGE01")[0].bot_id == "B0BOT00001"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_a_message_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0TRIAGE01")
    assert error_of(exc) == "no_text"


def test_missing_required_arguments_are_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.update", json={"channel": "C0TRIAGE01", "text": "x"})
    assert error_of(exc) == "invalid_arguments"
    assert "ts" in exc.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as no_user:
        client.api_call("users.info", params={})
    assert error_of(no_user) == "user_not_found"


def test_posting_to_unknown_archived_or_foreign_channels_fails_like_slack(
    client: WebClient, standin: SlackStandIn
) -> None:
    for channel, error in [
        ("C0MISSING1", "channel_not_found"),
        ("C0NOTBOT01", "not_in_channel"),
        ("C0ARCHIVE1", "is_archived"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel=channel, text="hello")
        assert error_of(exc) == error
    assert standin.messages("C0NOTBOT01") == []


def test_posting_to_a_user_id_lands_in_that_users_dm(
    client: WebClient, standin: SlackStandIn
) -> None:
    opened = client.conversations_open(users="U0REPORTR1")["channel"]["id"]
    assert opened.startswith("D")
    assert client.conversations_open(users="U0REPORTR1")["channel"]["id"] == opened
    r = client.chat_postMessage(channel="U0REPORTR1", text="psst")
    assert r["channel"] == opened
    assert [m.text for m in standin.messages(opened)] == ["psst"]


def test_update_needs_an_existing_message_written_by_the_bot(
    client: WebClient, standin: SlackStandIn
) -> None:
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C0TRIAGE01", ts="1.000001", text="x")
    assert error_of(missing) == "message_not_found"
    human = standin.add_message("C0TRIAGE01", "mine", user="U0REPORTR1")
    with pytest.raises(SlackApiError) as foreign:
        client.chat_update(channel="C0TRIAGE01", ts=human.ts, text="x")
    assert error_of(foreign) == "cant_update_message"
    ts = client.chat_postMessage(channel="C0TRIAGE01", text="v1")["ts"]
    client.chat_update(channel="C0TRIAGE01", ts=ts, text="v2")
    stored = standin.message("C0TRIAGE01", ts)
    assert (stored.text, stored.updated, stored.update_count) == ("v2", True, 1)


def test_metadata_comes_back_only_with_include_all_metadata(client: WebClient) -> None:
    metadata = {"event_type": "nc_case", "event_payload": {"case": "NC-1"}}
    client.chat_postMessage(channel="C0TRIAGE01", text="case", metadata=metadata)
    plain = client.conversations_history(channel="C0TRIAGE01")["messages"][0]
    assert "metadata" not in plain
    full = client.conversations_history(channel="C0TRIAGE01", include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata


def test_history_is_newest_first_and_top_level_only(
    client: WebClient, standin: SlackStandIn
) -> None:
    root = client.chat_postMessage(channel="C0TRIAGE01", text="root")["ts"]
    client.chat_postMessage(channel="C0TRIAGE01", text="reply", thread_ts=root)
    client.chat_postMessage(channel="C0TRIAGE01", text="later")
    history = client.conversations_history(channel="C0TRIAGE01")["messages"]
    assert [m["text"] for m in history] == ["later", "root"]
    assert history[1]["reply_count"] == 1
    replies = client.conversations_replies(channel="C0TRIAGE01", ts=root)["messages"]
    assert [m["text"] for m in replies] == ["root", "reply"]
    assert [m.text for m in standin.thread("C0TRIAGE01", root)] == ["root", "reply"]


def test_permalink_has_slacks_shape(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0TRIAGE01", text="x")["ts"]
    link = client.chat_getPermalink(channel="C0TRIAGE01", message_ts=ts)["permalink"]
    assert link == f"https://standin.slack.com/archives/C0TRIAGE01/p{ts.replace('.', '')}"


def test_users_and_usergroups(client: WebClient, standin: SlackStandIn) -> None:
    standin.add_usergroup("S0APPROVRS", handle="approvers", users=["U0OFFICER1"])
    user = client.users_info(user="U0EXTERNL1")["user"]
    assert (user["team_id"], user["real_name"], user["is_bot"]) == (
        "T0PARTNER1",
        "Pat Partner",
        False,
    )
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U0NOBODY01")
    assert error_of(exc) == "user_not_found"
    assert client.usergroups_users_list(usergroup="S0APPROVRS")["users"] == ["U0OFFICER1"]
    groups = client.usergroups_list(include_users=True)["usergroups"]
    assert groups[0]["handle"] == "approvers"


def test_ephemeral_needs_the_user_in_the_channel(client: WebClient, standin: SlackStandIn) -> None:
    client.chat_postEphemeral(channel="C0TRIAGE01", user="U0REPORTR1", text="only you")
    assert [e.text for e in standin.ephemerals("C0TRIAGE01", "U0REPORTR1")] == ["only you"]
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel="C0GENERAL1", user="U0OFFICER1", text="x")
    assert error_of(exc) == "user_not_in_channel"


def test_channel_info_and_members(client: WebClient) -> None:
    info = client.conversations_info(channel="C0TRIAGE01")["channel"]
    assert (info["name"], info["is_member"], info["is_archived"]) == ("nc-triage", True, False)
    members = client.conversations_members(channel="C0TRIAGE01")["members"]
    assert set(members) == {"U0REPORTR1", "U0OFFICER1", "U0BOT00001"}


def test_conversations_info_names_the_organisations_sharing_a_channel(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.add_channel("C0SHARED01", members=["U0EXTERNL1"], is_ext_shared=True)
    standin.add_channel(
        "C0SHARED02", is_ext_shared=True, connected_teams=["T0PARTNER1", "T0THIRD001"]
    )
    shared = client.conversations_info(channel="C0SHARED01")["channel"]
    assert (shared["is_ext_shared"], shared["conversation_host_id"]) == (True, "T0TEAM0001")
    assert shared["connected_team_ids"] == ["T0TEAM0001", "T0PARTNER1"]
    assert shared["shared_team_ids"] == ["T0TEAM0001", "T0PARTNER1"]
    three = client.conversations_info(channel="C0SHARED02")["channel"]
    assert three["connected_team_ids"] == ["T0TEAM0001", "T0PARTNER1", "T0THIRD001"]
    own = client.conversations_info(channel="C0TRIAGE01")["channel"]
    assert (own["is_ext_shared"], own["shared_team_ids"], own["connected_team_ids"]) == (
        False,
        ["T0TEAM0001"],
        [],
    )


def test_a_missing_scope_is_refused(standin: SlackStandIn) -> None:
    narrow = SlackStandIn(scopes=("commands",))
    with narrow:
        narrow.add_channel("C0TRIAGE01")
        with pytest.raises(SlackApiError) as exc:
            WebClient(token="xoxb-standin", base_url=narrow.api_url).chat_postMessage(
                channel="C0TRIAGE01", text="x"
            )
    assert error_of(exc) == "missing_scope"
    assert exc.value.response["needed"] == "chat:write"


def test_files_upload_v2_posts_the_file_into_the_thread(
    client: WebClient, standin: SlackStandIn
) -> None:
    root = client.chat_postMessage(channel="C0TRIAGE01", text="case")["ts"]
    r = client.files_upload_v2(
        channel="C0TRIAGE01",
        thread_ts=root,
        content="a,b\n1,2\n",
        filename="evidence.csv",
        title="Evidence",
        initial_comment="the export",
    )
    file_id = r["file"]["id"]
    assert standin.file_content(file_id) == b"a,b\n1,2\n"
    reply = standin.thread("C0TRIAGE01", root)[-1]
    assert reply.text == "the export"
    assert reply.files[0]["id"] == file_id
    assert reply.files[0]["title"] == "Evidence"


def test_every_call_is_recorded(client: WebClient, standin: SlackStandIn) -> None:
    client.chat_postMessage(channel="C0TRIAGE01", text="x")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0MISSING1", text="x")
    calls = standin.calls("chat.postMessage")
    assert [c.response["ok"] for c in calls] == [True, False]
    assert calls[0].args["text"] == "x"
    assert calls[0].status == 200
    standin.reset_calls()
    assert standin.calls() == []


def test_users_info_shows_the_profile_as_it_is_now_and_needs_users_read(
    client: WebClient, standin: SlackStandIn
) -> None:
    """What the dossier keeps (issue 18): the profile's real name and title; a rename shows at
    once, as in Slack; without ``users:read`` the method is refused."""
    standin.add_user("U0TITLED01", real_name="Eleni Papadopoulou", title="Risk officer")
    profile = client.users_info(user="U0TITLED01")["user"]["profile"]
    assert (profile["real_name"], profile["title"]) == ("Eleni Papadopoulou", "Risk officer")
    standin.rename_user("U0TITLED01", real_name="Eleni Georgiou")
    assert client.users_info(user="U0TITLED01")["user"]["profile"]["real_name"] == "Eleni Georgiou"

    narrow = SlackStandIn(scopes=("chat:write",))
    with narrow:
        narrow.add_user("U0TITLED01", real_name="Eleni")
        with pytest.raises(SlackApiError) as exc:
            WebClient(token="xoxb-standin", base_url=narrow.api_url).users_info(user="U0TITLED01")
    assert (error_of(exc), exc.value.response["needed"]) == ("missing_scope", "users:read")
