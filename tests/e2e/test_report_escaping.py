"""What a reporter typed is stored as typed and echoed escaped: it never pings anyone, never
breaks a message, and survives in any script; over-long input never turns into a Slack error."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from bot.devkit.local import LocalBot
from bot.devkit.standin.blockkit import validate_message_blocks
from storage.models import Case
from tests.scenarios import GENERAL, GOOD_REPORT, OFFICER, REPORTER, TRIAGE

T = TypeVar("T")

HOSTILE_TITLE = "<!channel> & <@U0ADMIN001> <script>alert(1)</script>"
HOSTILE_DESCRIPTION = (
    "Ping <!channel> and <!here>, <@U0ADMIN001> & <#C0GENERAL1>; "
    "<https://evil.example|click me> <script>alert('x')</script> a > b"
)
RAW_MARKUP = (
    "<!channel>",
    "<!here>",
    "<@U0ADMIN001>",
    "<#C0GENERAL1>",
    "<script>",
    "<https://evil",
)
WORLD = "مرحبا 👋 ünïcode — שלום 🇳🇱"


def eventually(condition: Callable[[], T], timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s"
            return result
        time.sleep(0.02)


def report(bot: LocalBot, **values: Any) -> Any:
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
    assert response.status == 200
    eventually(lambda: len(bot.standin.calls("views.open")) > before)
    view = bot.driver.last_view(REPORTER)
    return bot.driver.submit(view["id"], user=REPORTER, values={**GOOD_REPORT, **values})


def delivered(bot: LocalBot) -> None:
    """The card, the thread step and the reporter's notice have all reached the stand-in."""
    eventually(lambda: bot.standin.response_posts())
    eventually(lambda: len(bot.standin.calls("chat.postMessage")) >= 2)


def mrkdwn_texts(value: Any) -> Iterator[str]:
    """Every string Slack parses as mrkdwn inside blocks (plain_text is never parsed)."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for child in value.values():
            yield from mrkdwn_texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from mrkdwn_texts(child)


def everything_echoed(bot: LocalBot) -> list[str]:
    """The top-level text (mrkdwn) and every mrkdwn text object the bot sent anywhere."""
    texts: list[str] = []
    for call in bot.standin.calls():
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            texts.append(str(call.args.get("text") or ""))
            texts.extend(mrkdwn_texts(call.args.get("blocks")))
    for post in bot.standin.response_posts():
        texts.append(str(post.body.get("text") or ""))
        texts.extend(mrkdwn_texts(post.body.get("blocks")))
    return texts


def no_slack_errors(bot: LocalBot) -> None:
    refused = [(c.method, c.response) for c in bot.standin.calls() if not c.response.get("ok")]
    assert refused == []
    assert [p.error for p in bot.standin.response_posts() if p.status != 200] == []


def command_answer(bot: LocalBot, text: str, user: str) -> dict[str, Any]:
    response = bot.driver.command("/nonconformity", text, user=user, channel=GENERAL)
    assert response.status == 200
    answer: dict[str, Any] = response.json()
    return answer


def test_mentions_and_markup_in_a_report_are_stored_verbatim_and_echoed_escaped(
    bot: LocalBot,
) -> None:
    report(bot, title=HOSTILE_TITLE, description=HOSTILE_DESCRIPTION)
    delivered(bot)
    status = command_answer(bot, "status NC-1", OFFICER)
    listing = command_answer(bot, "list all", OFFICER)

    with bot.services.db.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert (case.title, case.description) == (HOSTILE_TITLE, HOSTILE_DESCRIPTION)

    echoed = everything_echoed(bot)
    echoed += [status["text"], *mrkdwn_texts(status["blocks"])]
    echoed += [listing["text"], *mrkdwn_texts(listing.get("blocks"))]
    leaks = [(raw, text) for text in echoed for raw in RAW_MARKUP if raw in text]
    assert leaks == []

    card = bot.standin.messages(TRIAGE)[0]
    card_mrkdwn = "\n".join(mrkdwn_texts(card.blocks))
    assert "&lt;!channel&gt; and &lt;!here&gt;, &lt;@U0ADMIN001&gt; &amp; " in card_mrkdwn
    assert "&lt;script&gt;alert('x')&lt;/script&gt; a &gt; b" in card_mrkdwn
    assert "&lt;!channel&gt; &amp; &lt;@U0ADMIN001&gt;" in card.text
    assert "&lt;!channel&gt;" in "\n".join(mrkdwn_texts(status["blocks"]))
    # The header is plain_text, which Slack never parses: there the title reads as typed.
    assert card.blocks is not None and HOSTILE_TITLE in card.blocks[0]["text"]["text"]
    no_slack_errors(bot)


def test_unicode_emoji_and_right_to_left_text_survive_the_round_trip(bot: LocalBot) -> None:
    report(bot, title=WORLD, description=f"{WORLD}\nsecond line: ‏עברית‎ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢")
    delivered(bot)

    with bot.services.db.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert case.title == WORLD
        assert case.description == f"{WORLD}\nsecond line: ‏עברית‎ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
    card = bot.standin.messages(TRIAGE)[0]
    assert card.blocks is not None
    assert card.blocks[0]["text"]["text"] == f"NC-1 · {WORLD}"
    assert f"{WORLD}\nsecond line: ‏עברית‎ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢" in "\n".join(mrkdwn_texts(card.blocks))
    status = command_answer(bot, "status NC-1", REPORTER)
    assert WORLD in status["blocks"][0]["text"]["text"]
    no_slack_errors(bot)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"title": "&" * 150, "description": "<" * 2900}, id="escapes grow 5x"),
        pytest.param({"title": "👋" * 150, "description": "🇳🇱" * 1450}, id="emoji at the limit"),
        pytest.param(
            {"evidence": "https://example.com/?" + "a=1&" * 494 + "z"}, id="2000-char url with &"
        ),
    ],
)
def test_input_at_the_limits_is_capped_within_block_kit_and_never_a_slack_error(
    bot: LocalBot, values: dict[str, Any]
) -> None:
    submitted = report(bot, **values)
    assert submitted.body.strip() == b"", submitted.text
    delivered(bot)
    eventually(lambda: [m for m in bot.standin.messages(TRIAGE) if m.is_reply])

    status = command_answer(bot, "status NC-1", OFFICER)
    assert status.get("blocks")
    assert validate_message_blocks(status["blocks"]) == []
    no_slack_errors(bot)
    with bot.services.db.transaction() as session:
        case = session.scalars(select(Case)).one()
        for field, typed in values.items():
            stored = {"evidence": case.evidence_url}.get(field, getattr(case, field, None))
            assert stored == typed  # capped on display only, stored in full


@pytest.mark.parametrize(
    ("values", "block"),
    [
        pytest.param({"title": "x" * 151}, "title", id="title over 150"),
        pytest.param({"description": "y" * 2901}, "description", id="description over 2900"),
        pytest.param(
            {"evidence": "https://example.com/" + "a" * 2000}, "evidence", id="url over 2000"
        ),
    ],
)
def test_over_long_input_is_refused_inline(
    bot: LocalBot, values: dict[str, Any], block: str
) -> None:
    submitted = report(bot, **values)
    assert submitted.json()["response_action"] == "errors"
    assert list(submitted.json()["errors"]) == [block]
    assert bot.driver.submissions[-1].errors == []
    assert bot.standin.calls("chat.postMessage") == []
