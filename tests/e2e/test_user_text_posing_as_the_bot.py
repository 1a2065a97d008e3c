"""Text people typed cannot pose as the bot: ``*✅ APPROVED by legal*`` in a description used to
render bold in the card, like the bot's own status lines. Every user text reaches mrkdwn through
``bot.views.text.escape``, which now shows Slack's formatting marks as look-alikes Slack does not
parse; what is stored, exported and put in dossiers stays as typed."""

from __future__ import annotations

import re

import pytest

from bot.devkit.local import LocalBot
from bot.devkit.sandbox.mrkdwn import Names, to_html
from bot.messages import t
from bot.views.text import escape, safe, safe_chunks
from tests.e2e.test_report_escaping import command_answer, delivered, mrkdwn_texts, report
from tests.scenarios import OFFICER, TRIAGE, case_row

POSING = "*✅ APPROVED by legal*"
DESCRIPTION = (
    f"{POSING}\n_closed by the compliance officer_\n~Rejected~ `signed off`\n"
    "> ✅ Measure approved by Anna\n```all clear```\n"
    "model_v2 scored 2*3 points; see https://wiki.example/Model_card_v2/~team"
)


def formatted(text: str) -> list[str]:
    """What Slack (as the sandbox draws it) would show bold, italic, struck, as code or quoted."""
    html = to_html(text, Names())
    return [m.group(0) for m in re.finditer(r"<(b|i|s|code|pre|blockquote)>.*?</\1>", html, re.S)]


def test_user_text_posing_as_the_bot_is_not_formatted_in_the_card(bot: LocalBot) -> None:
    report(bot, title="*✅ APPROVED*", description=DESCRIPTION)
    delivered(bot)
    card = bot.standin.messages(TRIAGE)[0]
    texts = list(mrkdwn_texts(card.blocks))
    description = next(text for text in texts if "APPROVED by legal" in text)

    # The bot's own label is bold; nothing the reporter typed is.
    assert formatted(description) == [f"<b>{t('card.description')}</b>"]
    assert "✅ APPROVED by legal" in to_html(description, Names())
    # Identifiers and links are left as typed: Slack formats neither inside a word nor a link.
    assert "model_v2 scored 2*3 points" in description
    assert "https://wiki.example/Model_card_v2/~team" in description

    status = command_answer(bot, "status NC-1", OFFICER)
    for text in mrkdwn_texts(status["blocks"]):
        assert not any("APPROVED" in f for f in formatted(text)), text
    listing = command_answer(bot, "list all", OFFICER)
    for text in [listing["text"], *mrkdwn_texts(listing.get("blocks"))]:
        assert not any("APPROVED" in f for f in formatted(text)), text

    assert case_row(bot).description == DESCRIPTION  # stored as typed


@pytest.mark.parametrize(
    "typed",
    [
        POSING,
        "_✅ Approved_",
        "~struck~",
        "`code`",
        "```block```",
        "> quoted as if forwarded",
        "text\n   > an indented quote",
        "(*bold in brackets*)",
        "*multi word bold*, then more",
    ],
)
def test_no_formatting_survives_escape(typed: str) -> None:
    for rendered in (escape(typed), safe(typed, 3000), "".join(safe_chunks(typed, 2900))):
        assert formatted(rendered) == [], rendered


def test_marks_inside_words_and_links_are_kept() -> None:
    assert escape("model_v2 2*3 snake_case_name") == "model_v2 2*3 snake_case_name"
    url = "https://example.com/~a/_b_/*c*?x=1&y=2"
    assert escape(url) == url.replace("&", "&amp;")


def test_entities_are_still_escaped_and_the_cap_still_holds() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    capped = safe("*" * 50 + "&" * 50, 40)
    assert len(capped) <= 40 and capped.endswith("…")
    assert "*" not in capped
