"""The driver's requests: signed like Slack, shaped like the sample payloads."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.devkit.standin import SlackDriver, SlackStandIn

SECRET = "standin-signing-secret"
PAYLOADS = Path("/work/shared/slack/payloads")


class FakeBot:
    """A request URL that verifies signatures and answers what the test sets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: bytes = b""
        verifier = SignatureVerifier(SECRET)
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k: v for k, v in self.headers.items()}
                valid = verifier.is_valid_request(body, headers)
                bot.requests.append({"body": body, "headers": headers, "valid": valid})
                status, answer = (200, bot.answer) if valid else (401, b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slack/events"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def payload(self, i: int = -1) -> Any:
        form = urllib.parse.parse_qs(self.requests[i]["body"].decode())
        return json.loads(form["payload"][0])


@pytest.fixture
def bot() -> Iterator[FakeBot]:
    fake = FakeBot()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


@pytest.fixture
def driver(standin: SlackStandIn, bot: FakeBot) -> SlackDriver:
    return SlackDriver(standin, events_url=bot.url, signing_secret=SECRET)


def sample(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def shape(value: Any) -> Any:
    """Keys and types, not values: what must match between the driver and the sample."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def test_the_driver_signature_verifies_and_a_forged_one_does_not(
    driver: SlackDriver, bot: FakeBot
) -> None:
    assert (
        driver.command("/nonconformity", "help", user="U0REPORTR1", channel="C0GENERAL1").status
        == 200
    )
    assert bot.requests[-1]["valid"]
    assert driver.raw(b"x=1", "application/x-www-form-urlencoded", signature="v0=00").status == 401
    stale = driver.raw(b"x=1", "application/x-www-form-urlencoded", timestamp=1_000_000_000)
    assert stale.status == 401


def test_a_slash_command_has_the_sample_fields_in_order(
    driver: SlackDriver, bot: FakeBot, standin: SlackStandIn
) -> None:
    driver.command("/nonconformity", "report scores drift", user="U0REPORTR1", channel="C0GENERAL1")
    body = bot.requests[-1]["body"].decode()
    sent = urllib.parse.parse_qsl(body)
    expected = urllib.parse.parse_qsl((PAYLOADS / "slash_command.form.txt").read_text().strip())
    assert [k for k, _ in sent] == [k for k, _ in expected]
    fields = dict(sent)
    assert "text=report+scores+drift" in body
    assert "command=%2Fnonconformity" in body
    assert fields["response_url"].startswith(standin.base_url + "/response/T0TEAM0001/")
    trigger = fields["trigger_id"]
    WebClient(token="xoxb-standin", base_url=standin.api_url).views_open(
        trigger_id=trigger, view=sample("view_submission.json")["view"] | {"state": None}
    )


def report_modal() -> dict[str, Any]:
    view = sample("view_submission.json")["view"]
    return {k: v for k, v in view.items() if k not in ("id", "hash", "state")}


def open_report(standin: SlackStandIn) -> str:
    client = WebClient(token="xoxb-standin", base_url=standin.api_url)
    trigger = standin.issue_trigger(user="U0REPORTR1")
    return str(client.views_open(trigger_id=trigger, view=report_modal())["view"]["id"])


def test_a_view_submission_has_the_sample_shape_for_the_same_view(
    driver: SlackDriver, bot: FakeBot, standin: SlackStandIn
) -> None:
    view_id = open_report(standin)
    assert driver.last_view(user="U0REPORTR1")["id"] == view_id
    values = {
        "system": "credit-scoring",
        "title": "Scores drift",
        "description": "Approval rates dropped",
        "risk": "yes",
        "evidence": "https://example.com/e/42",
    }
    assert driver.submit(view_id, user="U0REPORTR1", values=values).status == 200
    sent = bot.payload()
    expected = sample("view_submission.json")
    assert sent["view"]["state"] == expected["view"]["state"]
    assert shape(sent["user"]) == shape(expected["user"])
    assert set(expected) <= set(sent)
    assert set(expected["view"]) <= set(sent["view"])
    assert not standin.view(view_id).is_open  # an empty 200 closes the modal


def test_unsent_inputs_are_null_and_unknown_blocks_are_an_error(
    driver: SlackDriver, bot: FakeBot, standin: SlackStandIn
) -> None:
    view_id = open_report(standin)
    driver.submit(view_id, user="U0REPORTR1", values={"title": "only this"})
    state = bot.payload()["view"]["state"]["values"]
    assert state["system"]["value"] == {"type": "static_select", "selected_option": None}
    assert state["evidence"]["value"] == {"type": "url_text_input", "value": None}
    with pytest.raises(KeyError):
        driver.submit(view_id, user="U0REPORTR1", values={"titel": "typo"})


def test_response_action_update_and_errors_are_applied(
    driver: SlackDriver, bot: FakeBot, standin: SlackStandIn
) -> None:
    view_id = open_report(standin)
    bot.answer = json.dumps(
        {"response_action": "errors", "errors": {"title": "Too short"}}
    ).encode()
    driver.submit(view_id, user="U0REPORTR1", values={"title": "x"})
    assert standin.view(view_id).is_open
    assert driver.submissions[-1].response_action == "errors"
    done = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Reported"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "NC-1 opened"}}],
    }
    bot.answer = json.dumps({"response_action": "update", "view": done}).encode()
    driver.submit(view_id, user="U0REPORTR1", values={"title": "long enough"})
    assert standin.view(view_id).view["title"]["text"] == "Reported"
    assert driver.last_view(user="U0REPORTR1")["title"]["text"] == "Reported"


def test_a_click_is_built_from_the_stored_message(
    driver: SlackDriver, bot: FakeBot, standin: SlackStandIn
) -> None:
    client = WebClient(token="xoxb-standin", base_url=standin.api_url)
    root = client.chat_postMessage(channel="C0TRIAGE01", text="NC-1")["ts"]
    blocks = sample("block_actions.json")["message"]["blocks"]
    ts = client.chat_postMessage(
        channel="C0TRIAGE01", text="NC-1: acknowledge?", blocks=blocks, thread_ts=root
    )["ts"]
    driver.click("C0TRIAGE01", ts, "case_acknowledge", user="U0EXTERNL1")
    sent = bot.payload()
    expected = sample("block_actions.json")
    assert set(expected) <= set(sent)
    assert sent["actions"][0]["value"] == "NC-1"
    assert sent["actions"][0]["text"]["emoji"] is True
    assert sent["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C0TRIAGE01",
        "is_ephemeral": False,
        "thread_ts": root,
    }
    assert sent["user"]["team_id"] == "T0PARTNER1"
    assert sent["message"]["blocks"] == blocks
    assert sent["response_url"].startswith(standin.base_url + "/response/")
    with pytest.raises(LookupError):
        driver.click("C0TRIAGE01", ts, "no_such_action", user="U0OFFICER1")


def test_events_carry_retry_headers(driver: SlackDriver, bot: FakeBot) -> None:
    driver.event({"type": "app_home_opened", "user": "U0OFFICER1", "tab": "home"})
    first = bot.requests[-1]
    envelope = json.loads(first["body"])
    assert set(sample("app_home_opened.json")) <= set(envelope)
    assert "X-Slack-Retry-Num" not in first["headers"]
    driver.event(envelope["event"], retry_num=1, event_id=envelope["event_id"])
    retry = bot.requests[-1]
    assert retry["headers"]["X-Slack-Retry-Num"] == "1"
    assert retry["headers"]["X-Slack-Retry-Reason"] == "http_timeout"
    assert json.loads(retry["body"])["event_id"] == envelope["event_id"]


def test_an_event_names_the_workspace_it_happened_in(driver: SlackDriver, bot: FakeBot) -> None:
    driver.app_home_opened("U0OFFICER1")
    assert json.loads(bot.requests[-1]["body"])["team_id"] == "T0TEAM0001"
    driver.app_home_opened("U0OFFICER1", team_id="T0PARTNER1")
    envelope = json.loads(bot.requests[-1]["body"])
    assert (envelope["team_id"], envelope["event"]["user"]) == ("T0PARTNER1", "U0OFFICER1")


# --- message shortcuts (issue 19) ---------------------------------------------------------------

MESSAGE_ACTION_KEYS = {
    "type",
    "token",
    "action_ts",
    "team",
    "user",
    "channel",
    "is_enterprise_install",
    "enterprise",
    "callback_id",
    "trigger_id",
    "response_url",
    "message_ts",
    "message",
}


def test_a_message_shortcut_sends_slacks_message_action_with_the_whole_message(
    standin: SlackStandIn, bot: FakeBot, driver: SlackDriver
) -> None:
    standin.add_channel("C0RANDOM01", bot_is_member=False, members=["U0REPORTR1"])
    alert = standin.add_message(
        "C0RANDOM01",
        "",
        user="U0MONITOR1",
        bot_id="B0MONITOR1",
        attachments=[{"fallback": "drift", "text": "Approval rate fell"}],
    )
    driver.message_shortcut("C0RANDOM01", alert.ts, "report_message", user="U0REPORTR1")
    request = bot.requests[-1]
    assert request["valid"]
    form = urllib.parse.parse_qs(request["body"].decode())
    payload = json.loads(form["payload"][0])
    assert set(payload) == MESSAGE_ACTION_KEYS
    assert payload["type"] == "message_action" and payload["callback_id"] == "report_message"
    assert payload["channel"] == {"id": "C0RANDOM01", "name": "c0random01"}
    assert payload["message_ts"] == alert.ts == payload["message"]["ts"]
    assert payload["message"]["attachments"] == [
        {"fallback": "drift", "text": "Approval rate fell"}
    ]
    assert payload["message"]["type"] == "message" and payload["message"]["text"] == ""
    assert payload["user"]["id"] == "U0REPORTR1" and payload["team"]["domain"]
    assert payload["response_url"].startswith(standin.base_url)


def test_slack_gives_no_permalink_in_a_private_channel_the_bot_is_not_in(
    standin: SlackStandIn,
) -> None:
    standin.add_channel("G0PRIVATE1", bot_is_member=False, is_private=True)
    standin.add_channel("C0RANDOM01", bot_is_member=False)
    secret = standin.add_message("G0PRIVATE1", "hush", user="U0REPORTR1")
    public = standin.add_message("C0RANDOM01", "hello", user="U0REPORTR1")
    client = WebClient(token="xoxb-standin", base_url=standin.api_url)
    assert client.chat_getPermalink(channel="C0RANDOM01", message_ts=public.ts)["permalink"]
    with pytest.raises(Exception, match="channel_not_found"):
        client.chat_getPermalink(channel="G0PRIVATE1", message_ts=secret.ts)
