"""Block Kit limits: the stand-in refuses what Slack refuses, directly and over the API."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devkit.standin import SlackStandIn, validate_message_blocks, validate_view


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def button(text: str, action_id: str = "go", value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": text},
    }


def modal(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "report_case",
        "title": {"type": "plain_text", "text": "Report"},
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
    view.update(overrides)
    return view


def test_valid_blocks_have_no_errors() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "NC-1"}},
        section("*NC-1* waits", "step"),
        {"type": "actions", "block_id": "acts", "elements": [button("Acknowledge")]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U1>"}]},
        {"type": "divider"},
    ]
    assert validate_message_blocks(blocks) == []
    assert validate_view(modal()) == []


def test_a_message_of_51_blocks_is_refused_and_50_pass() -> None:
    assert validate_message_blocks([section("x")] * 50) == []
    assert validate_message_blocks([section("x")] * 51)


def test_a_section_of_3001_characters_is_refused() -> None:
    assert validate_message_blocks([section("x" * 3000)]) == []
    errors = validate_message_blocks([section("x" * 3001)])
    assert errors and "/blocks/0/text/text" in errors[0]


def test_a_button_text_of_76_characters_is_refused() -> None:
    ok = [{"type": "actions", "elements": [button("x" * 75)]}]
    bad = [{"type": "actions", "elements": [button("x" * 76)]}]
    assert validate_message_blocks(ok) == []
    assert validate_message_blocks(bad)


@pytest.mark.parametrize(
    ("blocks", "why"),
    [
        ([section("a", "same"), section("b", "same")], "duplicate block_id"),
        ([section("a", "x" * 256)], "block_id over 255"),
        (
            [{"type": "actions", "elements": [button("a", "dup"), button("b", "dup")]}],
            "duplicate action_id in a block",
        ),
        ([{"type": "actions", "elements": [button("a", value="v" * 2001)]}], "button value"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "header not plain"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "empty text"),
        ([{"type": "section", "text": {"type": "markdown", "text": "x"}}], "text type"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}], "emoji"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "11 fields"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "context"),
        ([{"type": "actions", "elements": [button("b", f"a{i}") for i in range(26)]}], "26"),
        ([{"type": "carousel"}], "unknown block type"),
        ([{"type": "actions", "elements": [{"type": "slider", "action_id": "s"}]}], "element"),
        (modal()["blocks"], "input block in a message"),
    ],
)
def test_invalid_message_blocks_are_refused(blocks: list[Any], why: str) -> None:
    assert validate_message_blocks(blocks), why


def options(n: int, value_len: int = 3) -> list[dict[str, Any]]:
    return [
        {"text": {"type": "plain_text", "text": f"o{i}"}, "value": f"{i:0{value_len}d}"}
        for i in range(n)
    ]


def select_modal(kind: str, opts: list[dict[str, Any]]) -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": "pick",
        "label": {"type": "plain_text", "text": "Pick"},
        "element": {"type": kind, "action_id": "value", "options": opts},
    }
    return modal(blocks=[block])


def test_a_modal_title_over_24_characters_is_refused() -> None:
    assert validate_view(modal(title={"type": "plain_text", "text": "x" * 24})) == []
    assert validate_view(modal(title={"type": "plain_text", "text": "x" * 25}))
    assert validate_view(modal(submit={"type": "plain_text", "text": "x" * 25}))
    assert validate_view(modal(close={"type": "mrkdwn", "text": "Close"}))


@pytest.mark.parametrize(
    ("view", "why"),
    [
        (modal(private_metadata="m" * 3001), "private_metadata"),
        (modal(callback_id="c" * 256), "callback_id"),
        (modal(blocks=[section("x")] * 101), "101 blocks"),
        (select_modal("static_select", options(101)), "101 options"),
        (select_modal("checkboxes", options(11)), "11 checkboxes"),
        (select_modal("radio_buttons", options(11)), "11 radio buttons"),
        (select_modal("static_select", options(2, value_len=151)), "option value 151"),
        (
            select_modal(
                "static_select", [{"text": {"type": "plain_text", "text": "t" * 76}, "value": "v"}]
            ),
            "option text 76",
        ),
        (
            modal(
                blocks=[
                    {
                        "type": "input",
                        "block_id": "t",
                        "label": {"type": "plain_text", "text": "T"},
                        "element": {
                            "type": "plain_text_input",
                            "action_id": "v",
                            "max_length": 3001,
                        },
                    }
                ]
            ),
            "max_length 3001",
        ),
        (
            modal(
                blocks=[
                    {
                        "type": "input",
                        "block_id": "t",
                        "label": {"type": "plain_text", "text": "T"},
                        "element": {
                            "type": "plain_text_input",
                            "action_id": "v",
                            "max_length": 5,
                            "initial_value": "too long",
                        },
                    }
                ]
            ),
            "initial_value over max_length",
        ),
        ({**modal(), "submit": None} | {"submit": {"type": "plain_text", "text": ""}}, "empty"),
        ({k: v for k, v in modal().items() if k != "submit"}, "inputs need submit"),
    ],
)
def test_invalid_views_are_refused(view: dict[str, Any], why: str) -> None:
    assert validate_view(view), why


def test_100_options_and_10_checkboxes_pass() -> None:
    assert validate_view(select_modal("static_select", options(100))) == []
    assert validate_view(select_modal("checkboxes", options(10))) == []


def test_chat_post_message_answers_invalid_blocks_with_the_errors(
    client: WebClient, standin: SlackStandIn
) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0TRIAGE01", text="x", blocks=[section("x")] * 51)
    assert exc.value.response["error"] == "invalid_blocks"
    assert exc.value.response["errors"]
    assert standin.messages("C0TRIAGE01") == []


def test_views_open_answers_invalid_arguments_with_messages(
    client: WebClient, standin: SlackStandIn
) -> None:
    trigger = standin.issue_trigger(user="U0REPORTR1")
    bad = modal(title={"type": "plain_text", "text": "A title that is far too long"})
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=trigger, view=bad)
    assert exc.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in exc.value.response["response_metadata"]["messages"][0]


def test_a_message_over_40000_characters_is_truncated(
    client: WebClient, standin: SlackStandIn
) -> None:
    client.chat_postMessage(channel="C0TRIAGE01", text="x" * 40_001)
    assert len(standin.messages("C0TRIAGE01")[0].text) == 40_000
