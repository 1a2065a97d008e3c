"""The page draws mrkdwn and Block Kit as Slack does, and never lets message text become markup.

No browser needed: these check the HTML the sandbox sends to the page.
"""

from __future__ import annotations

from bot.devkit.sandbox.blocks import blocks_html
from bot.devkit.sandbox.mrkdwn import Names, to_html

NAMES = Names(
    users={"U0OFFICER1": "Olga Officer"},
    channels={"C0TRIAGE01": "nc-triage"},
    groups={"S0APPROVRS": "approvers"},
)
PEOPLE = [("U0OFFICER1", "Olga Officer"), ("U0OFFICER2", "Omar Officer")]


def test_bold_italic_strike_and_code_are_formatted() -> None:
    html = to_html("*NC-1* is _open_, ~closed~ and `code *not bold*`", NAMES)
    assert html == ("<b>NC-1</b> is <i>open</i>, <s>closed</s> and <code>code *not bold*</code>")


def test_underscores_inside_words_stay_as_typed() -> None:
    assert to_html("credit_scoring_v2 and snake_case", NAMES) == "credit_scoring_v2 and snake_case"


def test_links_mentions_groups_and_dates_read_like_slack() -> None:
    html = to_html(
        "<https://example.com/a?b=1&amp;c=2|the evidence> by <@U0OFFICER1> in <#C0TRIAGE01>"
        " for <!subteam^S0APPROVRS> on <!date^1700000000^{date_short} {time}|2023-11-14 22:13 UTC>",
        NAMES,
    )
    assert '<a href="https://example.com/a?b=1&amp;c=2" target="_blank"' in html
    assert ">the evidence</a>" in html
    assert '<span class="mention">@Olga Officer</span>' in html
    assert '<span class="mention">#nc-triage</span>' in html
    assert '<span class="mention">@approvers</span>' in html
    assert html.endswith(" on 2023-11-14 22:13 UTC")


def test_escaped_markup_a_user_typed_is_shown_literally_and_stays_inert() -> None:
    html = to_html("&lt;script&gt;alert(1)&lt;/script&gt; &amp; <!channel>", NAMES)
    assert (
        html == '&lt;script&gt;alert(1)&lt;/script&gt; &amp; <span class="mention">@channel</span>'
    )


def test_unknown_user_reads_as_its_id_and_quotes_and_newlines_are_kept() -> None:
    html = to_html("> quoted\nby <@U0NOBODY1>", NAMES)
    assert html == '<blockquote>quoted</blockquote><br>by <span class="mention">@U0NOBODY1</span>'


def test_a_message_card_draws_header_fields_context_divider_and_styled_buttons() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "NC-1 · <b>drift</b>"}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*State*\nReported"}],
            "accessory": {
                "type": "button",
                "action_id": "measure_choose_withdraw",
                "text": {"type": "plain_text", "text": "Withdraw"},
            },
        },
        {"type": "image", "image_url": "https://example.com/x.png", "alt_text": "x"},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_Next: acknowledge_"}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "measure_approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                },
                {
                    "type": "button",
                    "action_id": "measure_reject",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                },
            ],
        },
    ]
    html = blocks_html(blocks, NAMES, PEOPLE)
    assert '<div class="bk-header">NC-1 · &lt;b&gt;drift&lt;/b&gt;</div>' in html
    assert '<div class="bk-field"><b>State</b><br>Reported</div>' in html
    assert 'data-action-id="measure_choose_withdraw"' in html
    assert "<img" not in html and "example.com/x.png" not in html
    assert '<hr class="bk-divider">' in html
    assert "<i>Next: acknowledge</i>" in html
    assert 'class="btn btn-primary bk-button" data-action-id="measure_approve"' in html
    assert 'class="btn btn-danger bk-button" data-action-id="measure_reject"' in html


def _input(block_id: str, element: dict[str, object], **extra: object) -> dict[str, object]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id.title()},
        "element": {"action_id": "value", **element},
        **extra,
    }


def _options(*values: str) -> list[dict[str, object]]:
    return [{"text": {"type": "plain_text", "text": v.upper()}, "value": v} for v in values]


def test_every_input_element_the_bot_uses_becomes_a_form_control_with_its_initial_value() -> None:
    blocks = [
        _input("title", {"type": "plain_text_input", "initial_value": "Drift", "max_length": 150}),
        _input("plan", {"type": "plain_text_input", "multiline": True}),
        _input(
            "system",
            {
                "type": "static_select",
                "options": _options("a", "b"),
                "initial_option": _options("b")[0],
            },
        ),
        _input("reqs", {"type": "multi_static_select", "options": _options("art10", "art15")}),
        _input("risk", {"type": "radio_buttons", "options": _options("yes", "no")}),
        _input("aware_on", {"type": "datepicker", "initial_date": "2026-11-29"}),
        _input("owner", {"type": "users_select", "initial_user": "U0OFFICER2"}),
        _input("link", {"type": "url_text_input"}, optional=True),
        _input(
            "ticks",
            {"type": "checkboxes", "options": _options("x"), "initial_options": _options("x")},
        ),
    ]
    html = blocks_html(blocks, NAMES, PEOPLE)
    assert 'name="title" type="text" value="Drift" maxlength="150"' in html
    assert '<textarea class="bk-control" name="plan" rows="4">' in html
    assert '<option value="b" selected>B</option>' in html
    assert 'type="checkbox" name="reqs" value="art15"' in html
    assert 'type="radio" name="risk" value="no"' in html
    assert 'type="date" value="2026-11-29"' in html
    assert '<option value="U0OFFICER2" selected>Omar Officer</option>' in html
    assert 'name="link" type="url"' in html
    assert 'data-block-id="link" data-type="url_text_input" data-optional="true"' in html
    assert "(optional)" in html
    assert 'type="checkbox" name="ticks" value="x" checked' in html
    assert html.count('class="bk-error"') == len(blocks)
