"""The client's rate gate (issue 23): after a 429 a method waits ``Retry-After`` in our own
process instead of calling Slack into the wall, while other methods and other channels go on;
modals, which a person waits for, are never held back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError

from bot.delivery.slack_api import CountingWebClient, RateGate, RateLimited, classify, make_client
from bot.devkit.standin import SlackStandIn


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn()
    s.add_user("U0OFFICER1", name="officer")
    s.add_channel("C0TRIAGE01", name="nc-triage", members=["U0OFFICER1"])
    s.add_channel("C0GENERAL1", name="general", members=["U0OFFICER1"])
    with s:
        yield s


def client_on(standin: SlackStandIn, now: list[float]) -> CountingWebClient:
    client = make_client("xoxb-standin", standin.api_url)
    assert isinstance(client, CountingWebClient)
    client.gate = RateGate(now=lambda: now[0])
    return client


def test_a_429_holds_its_method_back_until_retry_after_and_nothing_else(
    standin: SlackStandIn,
) -> None:
    now = [100.0]
    client = client_on(standin, now)
    posted = client.chat_postMessage(channel="C0TRIAGE01", text="card")
    standin.inject("chat.update", retry_after=7)
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C0TRIAGE01", ts=posted["ts"], text="v2")
    with pytest.raises(RateLimited) as held:
        client.chat_update(channel="C0TRIAGE01", ts=posted["ts"], text="v2")
    assert classify(held.value).kind == "rate_limited" and classify(held.value).retry_after == 7
    assert len(standin.calls("chat.update")) == 1  # the second never reached Slack
    client.views_publish(user_id="U0OFFICER1", view={"type": "home", "blocks": []})  # goes on
    now[0] += 7
    client.chat_update(channel="C0TRIAGE01", ts=posted["ts"], text="v2")
    assert [c.status for c in standin.calls("chat.update")] == [429, 200]


def test_posting_is_held_per_channel(standin: SlackStandIn) -> None:
    now = [0.0]
    client = client_on(standin, now)
    standin.inject("chat.postMessage", channel="C0TRIAGE01", retry_after=3)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0TRIAGE01", text="one")
    with pytest.raises(RateLimited):
        client.chat_postMessage(channel="C0TRIAGE01", text="two")
    client.chat_postMessage(channel="C0GENERAL1", text="elsewhere")  # another channel goes on


def test_modals_are_never_held_back(standin: SlackStandIn) -> None:
    now = [0.0]
    client = client_on(standin, now)
    client.gate.hold("views.open", 30)
    trigger = standin.issue_trigger("U0OFFICER1")
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    client.views_open(trigger_id=trigger, view=view)  # a person waits for it: Slack decides
    assert len(standin.calls("views.open")) == 1
