"""Nothing is dropped on a 429 (issue 23): a card update Slack refuses with ``Retry-After`` is
sent once the wait is over, showing the newest state, and nothing is sent into the wall
meanwhile."""

from __future__ import annotations

import json

from bot.devkit.local import LocalBot
from bot.messages import t
from tests.scenarios import OFFICER, case_card, decide, settle, walk_to


def test_a_card_update_answered_429_is_sent_after_retry_after_with_the_newest_state(
    bot: LocalBot,
) -> None:
    walk_to(bot, "reported")
    settle(bot)
    before = len(bot.standin.calls("chat.update"))
    bot.standin.inject("chat.update", retry_after=2)
    decide(bot, "case_acknowledge", OFFICER)
    settle(bot, timeout=20)
    updates = bot.standin.calls("chat.update")[before:]
    assert [c.status for c in updates].count(429) == 1  # none sent into the wall after it
    assert updates[-1].status == 200
    card = json.dumps(case_card(bot).blocks)
    assert t("state.acknowledged") in card
