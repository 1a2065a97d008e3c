"""Triggers, views, response URLs, fault injection and rate limits."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.devkit.standin import SlackStandIn


def modal(title: str = "Report") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "report_case",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }


def home() -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }


def test_a_trigger_opens_one_modal_only_once(client: WebClient, standin: SlackStandIn) -> None:
    trigger = standin.issue_trigger(user="U0REPORTR1")
    assert trigger.count(".") == 2
    view = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert view["id"].startswith("V")
    assert view["state"] == {"values": {}}
    assert view["hash"]
    assert standin.views[view["id"]].user == "U0REPORTR1"
    with pytest.raises(SlackApiError) as again:
        client.views_open(trigger_id=trigger, view=modal())
    assert again.value.response["error"] == "exchanged_trigger_id"


def test_an_expired_or_unknown_trigger_is_refused(client: WebClient, standin: SlackStandIn) -> None:
    trigger = standin.issue_trigger(user="U0REPORTR1")
    time.sleep(0.6)  # the fixture's trigger_ttl is 0.5 s
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=trigger, view=modal())
    assert expired.value.response["error"] == "expired_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        client.views_open(trigger_id="1.2.3", view=modal())
    assert unknown.value.response["error"] == "invalid_trigger_id"


def test_views_update_checks_the_hash_and_push_stacks(
    client: WebClient, standin: SlackStandIn
) -> None:
    view = client.views_open(trigger_id=standin.issue_trigger(user="U0REPORTR1"), view=modal())[
        "view"
    ]
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Step 2"))
    assert updated["view"]["title"]["text"] == "Step 2"
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Step 3"))
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="V0NOPE0000", view=modal())
    assert missing.value.response["error"] == "not_found"
    pushed = client.views_push(trigger_id=standin.issue_trigger(user="U0REPORTR1"), view=modal())
    assert pushed["view"]["previous_view_id"] == view["id"]
    assert [v.id for v in standin.open_views("U0REPORTR1")] == [view["id"], pushed["view"]["id"]]


def test_views_publish_stores_the_home_tab(client: WebClient, standin: SlackStandIn) -> None:
    client.views_publish(user_id="U0OFFICER1", view=home())
    published = standin.published_home("U0OFFICER1")
    assert published is not None and published["type"] == "home"
    with pytest.raises(SlackApiError) as exc:
        client.views_publish(user_id="U0OFFICER1", view=modal())
    assert exc.value.response["error"] == "invalid_arguments"


def test_a_response_url_works_five_times_then_is_used(standin: SlackStandIn) -> None:
    url = standin.issue_response_url(channel="C0TRIAGE01", user="U0REPORTR1")
    assert url.startswith(f"{standin.base_url}/response/T0TEAM0001/")
    hook = WebhookClient(url)
    for i in range(5):
        assert hook.send(text=f"update {i}").status_code == 200
    sixth = hook.send(text="one too many")
    assert sixth.status_code == 404
    assert "used_url" in sixth.body
    posts = standin.response_posts(url)
    assert [p.status for p in posts] == [200] * 5 + [404]
    assert [e.text for e in standin.ephemerals("C0TRIAGE01")][:1] == ["update 0"]


def test_a_response_url_expires(standin: SlackStandIn) -> None:
    short = SlackStandIn(response_url_ttl=0.05)
    with short:
        url = short.issue_response_url()
        time.sleep(0.1)
        r = WebhookClient(url).send(text="late")
    assert r.status_code == 404
    assert "expired_url" in r.body


def test_response_url_in_channel_posts_and_replace_original_updates(
    client: WebClient, standin: SlackStandIn
) -> None:
    ts = client.chat_postMessage(channel="C0TRIAGE01", text="original")["ts"]
    url = standin.issue_response_url(channel="C0TRIAGE01", user="U0OFFICER1", message_ts=ts)
    WebhookClient(url).send(text="replaced", replace_original=True)
    assert standin.message("C0TRIAGE01", ts).text == "replaced"
    WebhookClient(url).send(text="for all", response_type="in_channel")
    assert standin.messages("C0TRIAGE01")[-1].text == "for all"


def test_a_429_surfaces_as_slack_api_error_with_retry_after(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.inject("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0TRIAGE01", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert exc.value.response["error"] == "ratelimited"
    assert standin.messages("C0TRIAGE01") == []
    client.chat_postMessage(channel="C0TRIAGE01", text="x")  # consumed: the next call passes
    assert [c.status for c in standin.calls("chat.postMessage")] == [429, 200]


def test_a_500_and_an_ok_false_error_are_injected(client: WebClient, standin: SlackStandIn) -> None:
    standin.inject("chat.update", status=503)
    standin.inject("chat.postMessage", error="fatal_error", channel="C0GENERAL1")
    client.chat_postMessage(channel="C0TRIAGE01", text="other channel passes")
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C0GENERAL1", text="x")
    assert failed.value.response["error"] == "fatal_error"
    ts = standin.messages("C0TRIAGE01")[0].ts
    with pytest.raises(SlackApiError) as down:
        client.chat_update(channel="C0TRIAGE01", ts=ts, text="y")
    assert down.value.response.status_code == 503


def test_after_success_stores_the_message_but_times_out_the_client(
    standin: SlackStandIn,
) -> None:
    standin.inject("chat.postMessage", delay=1.0, after_success=True)
    impatient = WebClient(token="xoxb-standin", base_url=standin.api_url, timeout=0.3)
    impatient.retry_handlers.clear()  # the default retry would post a second time
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C0TRIAGE01", text="lost reply")
    assert [m.text for m in standin.messages("C0TRIAGE01")] == ["lost reply"]


def test_the_rate_limit_is_per_channel(client: WebClient, standin: SlackStandIn) -> None:
    standin.set_rate_limit(1.0)
    client.chat_postMessage(channel="C0TRIAGE01", text="first")
    client.chat_postMessage(channel="C0GENERAL1", text="other channel")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0TRIAGE01", text="too fast")
    assert exc.value.response.status_code == 429
    assert int(exc.value.response.headers["Retry-After"]) >= 1
    assert [m.text for m in standin.messages("C0TRIAGE01")] == ["first"]
    standin.set_rate_limit(None)
    client.chat_postMessage(channel="C0TRIAGE01", text="fine again")
