"""Partner notices when Slack misbehaves, through the stand-in's injected faults (issue 6).

Rate limits put a channel off until its Retry-After while the others go on; 5xx answers and
timeouts may hide a message Slack did store (``after_success``: the reply was lost), so the
outbox looks for the notice's metadata in the channel's history before posting again. Permanent
refusals mark the notice failed and tell the thread what to do, with a Retry button.

The FakeClock stands still unless a test moves it; ``bot.sweep()`` is one scheduler tick.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock, utc_now
from bot.devkit.local import LocalBot
from bot.views import ids
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    MEASURE_PLAN,
    OFFICER,
    PARTNER_USER,
    REPORTER,
    TRIAGE,
    case_row,
    click_step,
    decide,
    drain,
    many_partners_workspace,
    notice_rows,
    notice_table,
    notices_in,
    refusal_after,
    settle,
    thread_replies,
    wait_for,
    walk_to,
)

PARTNERS = 6
CHANNELS = [f"C0PART{i:04d}" for i in range(PARTNERS)]
RATE_LIMITED, FAILING, TIMING_OUT, LOST_REPLY, HISTORY_FAILS, CLEAN = CHANNELS
EU_IMPORT = "C0EUIMPORT"


def six_partners_bot(tmp_path: Path, clock: FakeClock) -> LocalBot:
    workspace = many_partners_workspace(tmp_path / "workspace.yml", PARTNERS)
    bot = LocalBot(workspace, database_url=f"sqlite:///{tmp_path / 'bot.db'}", clock=clock)
    bot.start()
    # a reply that never comes is a timeout after 1 s here, not after the usual 10 s
    bot.services.outbox.client.timeout = 1
    return bot


@pytest.fixture
def six_partners(tmp_path: Path) -> Iterator[LocalBot]:
    """Six partners on credit-scoring; the FakeClock starts at the real time, as Slack's
    message ``ts`` (which the history check compares with) comes from the real clock."""
    bot = six_partners_bot(tmp_path, FakeClock(utc_now()))
    try:
        yield bot
    finally:
        bot.stop()


def to_measure_proposed(bot: LocalBot) -> None:
    """``walk_to(bot, "measure_proposed")`` for a clock at today's real date: the provider
    became aware today (an awareness date still to come is refused)."""
    walk_to(bot, "acknowledged")
    decide(bot, "case_confirm", OFFICER, {**ASSESSMENT, "aware_on": bot.clock().date().isoformat()})
    decide(bot, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)
    assert case_row(bot).state == "measure_proposed"


def approve(bot: LocalBot) -> None:
    """The approver approves the proposed measure; what is due now is delivered."""
    version = case_row(bot).version
    click_step(bot, "measure_approve", APPROVER)
    wait_for(lambda: case_row(bot).version > version, what="the approval")
    drain(bot, timeout=15)


def sweep_until_settled(
    bot: LocalBot, rounds: int = 8, step: timedelta = timedelta(minutes=2)
) -> int:
    """Move the clock past every not_before, a tick at a time, until the outbox owes nothing."""
    for done in range(rounds):
        if all(n.status in ("sent", "failed") for n in notice_rows(bot).values()):
            settle(bot)
            return done
        bot.clock.advance(step)  # type: ignore[attr-defined]
        bot.sweep()
        drain(bot, timeout=15)
    raise AssertionError({p: n.status for p, n in notice_rows(bot).items()})


def notice_posts(bot: LocalBot, channel: str) -> list[Any]:
    return [c for c in bot.standin.calls("chat.postMessage") if c.args.get("channel") == channel]


def test_rate_limits_5xx_and_lost_replies_end_with_every_partner_notified_once(
    six_partners: LocalBot,
) -> None:
    bot = six_partners
    standin = bot.standin
    to_measure_proposed(bot)
    standin.inject("chat.postMessage", channel=RATE_LIMITED, retry_after=30, times=2)
    standin.inject("chat.postMessage", channel=FAILING, status=500, times=2)  # not stored
    # stored by Slack, but the bot never hears: a timeout, a 5xx, a 5xx and a failing history
    standin.inject("chat.postMessage", channel=TIMING_OUT, delay=1.5, after_success=True)
    standin.inject("chat.postMessage", channel=LOST_REPLY, status=503, after_success=True)
    standin.inject("chat.postMessage", channel=HISTORY_FAILS, status=500, after_success=True)
    standin.inject("conversations.history", channel=HISTORY_FAILS, status=500)

    approve(bot)
    stored = notice_rows(bot)
    assert stored["partner-05"].status == "sent"  # the clean channel did not wait for the others
    assert stored["partner-00"].status == "queued"
    assert len(notices_in(bot, LOST_REPLY)) == 1  # Slack has it; we do not know yet
    assert stored["partner-03"].status == "queued"

    sweep_until_settled(bot)
    # the timed-out request is answered late (Slack's side sleeps after storing): wait for it
    wait_for(lambda: notice_posts(bot, TIMING_OUT), what="the timed-out post to finish")

    stored = notice_rows(bot)
    for index, channel in enumerate(CHANNELS):
        landed = notices_in(bot, channel)
        assert len(landed) == 1, f"{channel}: {len(landed)} notices"
        notice = stored[f"partner-{index:02d}"]
        assert notice.status == "sent"
        assert notice.slack_ts == landed[0].ts  # the ts Slack gave it, found again if need be
    # the messages Slack stored without our hearing were found, not posted again
    for channel in (TIMING_OUT, LOST_REPLY, HISTORY_FAILS):
        assert len(notice_posts(bot, channel)) == 1, channel
    assert len(notice_posts(bot, FAILING)) == 3  # two 500s (nothing stored), then the post
    histories = [c.args.get("channel") for c in standin.calls("conversations.history")]
    assert {TIMING_OUT, LOST_REPLY, FAILING} <= set(histories)
    assert histories.count(HISTORY_FAILS) == 2  # the failed look did not lead to a post
    assert CLEAN not in histories  # a first attempt that was answered needs no look
    # the rate-limited channel waited for its Retry-After: 2 refusals, then one post
    assert [c.status for c in notice_posts(bot, RATE_LIMITED)] == [429, 429, 200]
    table = notice_table(bot).text
    assert f"0 of {PARTNERS} acknowledged, 0 waived, 0 failed" in table


def test_a_rate_limited_channel_is_not_posted_to_before_its_retry_after(
    six_partners: LocalBot,
) -> None:
    bot = six_partners
    to_measure_proposed(bot)
    bot.standin.inject("chat.postMessage", channel=RATE_LIMITED, retry_after=120)
    approve(bot)
    assert len(notice_posts(bot, RATE_LIMITED)) == 1
    bot.clock.advance(timedelta(seconds=100))  # type: ignore[attr-defined]
    bot.sweep()
    drain(bot)
    assert len(notice_posts(bot, RATE_LIMITED)) == 1, "posted again before Retry-After"
    bot.clock.advance(timedelta(seconds=21))  # type: ignore[attr-defined]
    bot.sweep()
    drain(bot)
    assert len(notices_in(bot, RATE_LIMITED)) == 1
    assert notice_rows(bot)["partner-00"].status == "sent"


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel"])
def test_a_channel_the_bot_cannot_post_to_fails_the_notice_and_retry_delivers_it_once(
    bot: LocalBot, error: str
) -> None:
    standin = bot.standin
    walk_to(bot, "measure_proposed")
    if error == "not_in_channel":
        standin.add_channel(
            EU_IMPORT,
            name="ext-eu-import",
            members=[PARTNER_USER],
            bot_is_member=False,
            is_ext_shared=True,
        )
    else:
        standin.inject("chat.postMessage", channel=EU_IMPORT, error=error)
    approve(bot)
    settle(bot)

    stored = notice_rows(bot)["eu-import"]
    assert (stored.status, stored.failure) == ("failed", error)
    assert notices_in(bot, EU_IMPORT) == []
    failures = [m for m in thread_replies(bot) if "could not be delivered" in m.text]
    assert len(failures) == 1
    told = failures[0]
    assert "EU Import GmbH" in told.text and error in told.text
    fix = "Invite" if error == "not_in_channel" else "does not exist"
    assert fix in told.text and "<#C0EUIMPORT>" in told.text and "Retry" in told.text
    assert any(
        e.get("action_id") == ids.NOTICE_RETRY for b in told.blocks for e in b.get("elements", [])
    )
    assert "not delivered" in notice_table(bot).text or "1 failed" in notice_table(bot).text

    # someone without a role in the procedure may not retry
    before = len(standin.response_posts())
    bot.driver.click(TRIAGE, told.ts, ids.NOTICE_RETRY, user=REPORTER)
    assert "triage" in refusal_after(bot, before)
    assert notice_rows(bot)["eu-import"].status == "failed"

    # the fix: the bot is invited (or the channel is back)
    standin.add_channel(EU_IMPORT, name="ext-eu-import", members=[PARTNER_USER], is_ext_shared=True)
    before = len(standin.response_posts())
    bot.driver.click(TRIAGE, told.ts, ids.NOTICE_RETRY, user=OFFICER)
    assert "Sending the notice to EU Import GmbH again" in refusal_after(bot, before)
    wait_for(lambda: notice_rows(bot)["eu-import"].status == "sent", what="the retried notice")
    # a second press on the same old button changes nothing
    bot.driver.click(TRIAGE, told.ts, ids.NOTICE_RETRY, user=OFFICER)
    settle(bot)
    assert len(notices_in(bot, EU_IMPORT)) == 1
    assert notice_rows(bot)["eu-import"].slack_ts == notices_in(bot, EU_IMPORT)[0].ts
    assert "0 failed" in notice_table(bot).text


def test_a_lost_reply_is_found_in_history_even_when_our_clock_runs_ahead_of_slacks(
    tmp_path: Path,
) -> None:
    """The history look-up allows for our clock running ahead of Slack's (here by 30 s)."""
    bot = six_partners_bot(tmp_path, FakeClock(utc_now() + timedelta(seconds=30)))
    try:
        to_measure_proposed(bot)
        bot.standin.inject("chat.postMessage", channel=LOST_REPLY, delay=1.5, after_success=True)
        approve(bot)
        sweep_until_settled(bot)
        assert len(notices_in(bot, LOST_REPLY)) == 1
    finally:
        bot.stop()


def test_a_rate_limited_history_look_up_still_looks_again_before_posting_a_second_time(
    six_partners: LocalBot,
) -> None:
    """The reply to a notice was lost (it landed); the look-up that follows is rate limited.
    The 429 says nothing about the notice, so the next attempt must look again, not re-post."""
    bot = six_partners
    to_measure_proposed(bot)
    bot.standin.inject("chat.postMessage", channel=LOST_REPLY, status=503, after_success=True)
    bot.standin.inject("conversations.history", channel=LOST_REPLY, retry_after=30)
    approve(bot)
    sweep_until_settled(bot)
    assert len(notices_in(bot, LOST_REPLY)) == 1
    assert notice_rows(bot)["partner-03"].slack_ts == notices_in(bot, LOST_REPLY)[0].ts
