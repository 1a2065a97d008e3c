"""The stand-in enforces Slack's rate limits when asked (issue 23): each method's tier per
workspace, posting per channel with a short burst, 429 with ``Retry-After``; it pages through
``next_cursor``; and reading a conversation needs the scope of its type."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devkit.standin import SlackStandIn
from bot.devkit.standin.methods import DEFAULT_SCOPES

SCALE = 6.0  # a minute of Slack's in ten seconds: fast, yet no refill within a burst


def refused(call: object) -> SlackApiError:
    assert isinstance(call, SlackApiError)
    return call


def attempt(fn: object, **kwargs: object) -> SlackApiError | None:
    try:
        fn(**kwargs)  # type: ignore[operator]
    except SlackApiError as exc:
        return exc
    return None


def test_a_tier_2_method_allows_about_20_a_minute_then_429_with_retry_after(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.set_limits(SCALE)
    allowed = 0
    while (error := attempt(client.users_list)) is None and allowed < 60:
        allowed += 1
    # a minute's allowance at once (a few more if the bucket refilled on a slow machine)
    assert 20 <= allowed < 30, allowed
    error = refused(error)
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    wait = float(error.response.headers["Retry-After"])
    assert 0 < wait <= 60 / 20 / SCALE + 0.01  # one call's share of the minute, scaled
    client.users_info(user="U0OFFICER1")  # another method has its own allowance
    time.sleep(wait + 0.05)
    client.users_list()  # after Retry-After it goes through


def test_posting_is_limited_per_channel_with_a_short_burst(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.set_limits(1.0)  # one post a second: no refill while the burst goes out
    for n in range(3):
        client.chat_postMessage(channel="C0TRIAGE01", text=f"burst {n}")
    error = refused(attempt(client.chat_postMessage, channel="C0TRIAGE01", text="one too many"))
    assert error.response.status_code == 429
    client.chat_postMessage(channel="C0GENERAL1", text="another channel")
    assert [m.text for m in standin.messages("C0TRIAGE01")][-1] == "burst 2"


def test_at_slacks_own_rate_retry_after_is_whole_seconds(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.set_limits(1.0)
    for n in range(3):
        client.chat_postMessage(channel="C0TRIAGE01", text=f"burst {n}")
    error = refused(attempt(client.chat_postMessage, channel="C0TRIAGE01", text="more"))
    assert error.response.headers["Retry-After"] == "1"


def test_without_limits_nothing_is_refused(standin: SlackStandIn, client: WebClient) -> None:
    for _ in range(30):
        client.users_list()


def test_history_pages_through_next_cursor(standin: SlackStandIn, client: WebClient) -> None:
    for n in range(5):
        client.chat_postMessage(channel="C0TRIAGE01", text=f"message {n}")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_history(channel="C0TRIAGE01", limit=2, cursor=cursor)
        pages += 1
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert pages == 3
    assert seen == [f"message {n}" for n in range(4, -1, -1)]
    error = refused(attempt(client.conversations_history, channel="C0TRIAGE01", cursor="bogus"))
    assert error.response["error"] == "invalid_cursor"


def test_replies_and_users_page_too(standin: SlackStandIn, client: WebClient) -> None:
    root = client.chat_postMessage(channel="C0TRIAGE01", text="root")["ts"]
    for n in range(3):
        client.chat_postMessage(channel="C0TRIAGE01", text=f"reply {n}", thread_ts=root)
    first = client.conversations_replies(channel="C0TRIAGE01", ts=root, limit=2)
    rest = client.conversations_replies(
        channel="C0TRIAGE01", ts=root, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    texts = [m["text"] for m in [*first["messages"], *rest["messages"]]]
    assert texts == ["root", "reply 0", "reply 1", "reply 2"]
    assert rest["response_metadata"]["next_cursor"] == ""
    users = client.users_list(limit=2)
    more = client.users_list(limit=2, cursor=users["response_metadata"]["next_cursor"])
    ids = [u["id"] for u in [*users["members"], *more["members"]]]
    assert len(ids) == len(set(ids)) == 3  # the bot and the two members of this workspace
    assert "U0EXTERNL1" not in ids  # a Slack Connect user of another team is not listed


@pytest.fixture
def narrow() -> Iterator[SlackStandIn]:
    """A token with only some of the history scopes."""
    scopes = [s for s in DEFAULT_SCOPES if s not in ("groups:history", "im:history")]
    s = SlackStandIn(scopes=scopes)
    s.add_user("U0OFFICER1", name="officer")
    s.add_channel("C0PUBLIC01", name="public", members=["U0OFFICER1"])
    s.add_channel("G0PRIVATE1", name="private", members=["U0OFFICER1"], is_private=True)
    s.add_channel("C0CONNECT1", name="shared", members=["U0OFFICER1"], is_ext_shared=True)
    with s:
        yield s


@pytest.mark.parametrize(
    ("channel", "needed"),
    [("G0PRIVATE1", "groups:history"), ("U0OFFICER1", "im:history")],
    ids=["private channel", "DM"],
)
def test_reading_a_conversation_needs_the_scope_of_its_type(
    narrow: SlackStandIn, channel: str, needed: str
) -> None:
    client = WebClient(token="xoxb-standin", base_url=narrow.api_url, timeout=30)
    error = refused(attempt(client.conversations_history, channel=channel))
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == needed


def test_public_and_slack_connect_channels_need_channels_history(narrow: SlackStandIn) -> None:
    client = WebClient(token="xoxb-standin", base_url=narrow.api_url, timeout=30)
    client.conversations_history(channel="C0PUBLIC01")
    client.conversations_history(channel="C0CONNECT1")
