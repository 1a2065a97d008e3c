"""Partner notices end to end (issue 6, Art. 20(1)): the real bot over HTTP, the Slack stand-in
and a FakeClock. The sample workspace links credit-scoring to ACME Distribution (distributor,
channel C0ACMEDIST, contact U0ACMECON1, Dutch), Northwind Bank (deployer, C0NORTHWND), EU Import
(importer, C0EUIMPORT) and a market surveillance authority (not a notice's addressee).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace
from bot.views import ids
from tests.scenarios import (
    ACME_CONTACT,
    APPROVER,
    ASSESSMENT,
    GENERAL,
    GOOD_REPORT,
    MEASURE_PLAN,
    OFFICER,
    PARTNER_CHANNELS,
    PARTNER_USER,
    REPORTER,
    TRIAGE,
    block_texts,
    case_card,
    case_events,
    case_row,
    click_step,
    decide,
    drain,
    many_partners_workspace,
    notice_rows,
    notice_table,
    notices_in,
    refusal_after,
    refused,
    report,
    settle,
    thread_replies,
    wait_for,
    walk_to,
)

ACME, NORTHWIND, EU_IMPORT = "C0ACMEDIST", "C0NORTHWND", "C0EUIMPORT"
NAMES = {ACME: "ACME Distribution B.V.", NORTHWIND: "Northwind Bank", EU_IMPORT: "EU Import GmbH"}
ROLE_MEANING = {
    # ACME reads Dutch; the measure is a withdrawal and the system does not keep running.
    ACME: "Wat dit voor u als distributeur betekent\nBied het systeem niet langer aan",
    NORTHWIND: "What this means for you as deployer\nStop using the affected versions",
    EU_IMPORT: "What this means for you as importer\nDo not place the system on the market",
}


def everything(message: Any) -> str:
    """All a partner can read in a message: its text and every block."""
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


def readable(message: Any) -> str:
    """The text of every block, joined (mrkdwn as written, without JSON escaping)."""
    return "\n".join([message.text, *block_texts(message.blocks)]).replace("*", "")


def buttons(message: Any) -> dict[str, str]:
    """action_id → label of the message's buttons."""
    return {
        e["action_id"]: e["text"]["text"]
        for b in message.blocks or []
        for e in b.get("elements", [])
        if isinstance(e, dict) and e.get("type") == "button"
    }


def ack_answer(bot: LocalBot, channel: str, user: str, **click: Any) -> str:
    """Press "Acknowledge receipt" on the channel's notice as ``user``; the ephemeral answer."""
    before = len(bot.standin.response_posts())
    notice = notices_in(bot, channel)[0]
    response = bot.driver.click(channel, notice.ts, ids.NOTICE_ACK, user=user, **click)
    assert response.status == 200, response.body
    return refusal_after(bot, before)


def kinds(bot: LocalBot) -> list[str]:
    return [e.kind for e in case_events(bot)]


# --- delivery --------------------------------------------------------------------------------


def test_an_approved_measure_reaches_each_partner_channel_exactly_once(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    walk_to(bot, "measure_approved")
    settle(bot)

    stored = notice_rows(bot)
    assert set(stored) == set(PARTNER_CHANNELS.values())  # the authority is not told here
    for channel, partner_id in PARTNER_CHANNELS.items():
        messages = bot.standin.messages(channel)
        assert len(messages) == 1, f"{channel} got {len(messages)} messages"
        notice = messages[0]
        assert notice.metadata == {
            "event_type": "nonconformity_notice",
            "event_payload": {
                "outbox_id": notice.metadata["event_payload"]["outbox_id"],
                "notice_id": stored[partner_id].id,
            },
        }
        assert stored[partner_id].status == "sent"
        assert stored[partner_id].slack_ts == notice.ts
    posts = [
        c
        for c in bot.standin.calls("chat.postMessage")
        if c.args.get("channel") in PARTNER_CHANNELS
    ]
    assert len(posts) == 3
    assert all(c.args.get("unfurl_links") in (False, "false") for c in posts), [
        c.args.get("unfurl_links") for c in posts
    ]
    elsewhere = [
        (channel.id, m.text)
        for channel in bot.standin.channels()
        if channel.id not in PARTNER_CHANNELS
        for m in bot.standin.messages(channel.id)
        if "notice_id" in ((m.metadata or {}).get("event_payload") or {})
    ]
    assert elsewhere == []  # no notice to anyone else (an authority is told another way)


def test_a_notice_says_what_the_partner_must_know_and_nothing_internal(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    owner = case_row(bot).owner_id
    for channel in PARTNER_CHANNELS:
        notice = notices_in(bot, channel)[0]
        text = readable(notice)
        assert "NC-1" in text
        assert "Withdraw" in text
        assert "Credit scoring model" in text and "2.3" in text
        assert MEASURE_PLAN["affected"] in text
        assert ASSESSMENT["nature"] in text
        assert ROLE_MEANING[channel] in text, text
        assert "compliance@example.com" in text and f"<@{owner}>" not in text  # whom to contact
        assert ids.NOTICE_ACK in buttons(notice)
        everything_sent = everything(notice)
        assert GOOD_REPORT["evidence"] not in everything_sent
        assert "https://example.com" not in everything_sent
        assert REPORTER not in everything_sent
    acme = readable(notices_in(bot, ACME)[0])
    assert "Uit de handel nemen (Withdraw)" in acme  # the partner's language first, and English
    assert buttons(notices_in(bot, ACME)[0])[ids.NOTICE_ACK] == "Ontvangst bevestigen"
    for channel in (NORTHWIND, EU_IMPORT):
        assert "Uit de handel" not in readable(notices_in(bot, channel)[0])
        assert buttons(notices_in(bot, channel)[0])[ids.NOTICE_ACK] == "Acknowledge receipt"


# --- receipt ---------------------------------------------------------------------------------


def test_a_partner_user_of_another_workspace_acknowledges_and_the_notice_changes_in_place(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_approved")
    notice = notices_in(bot, NORTHWIND)[0]

    answer = ack_answer(bot, NORTHWIND, PARTNER_USER)
    assert "receipt of the notice about NC-1 is recorded" in answer
    settle(bot)

    updates = [c for c in bot.standin.calls("chat.update") if c.args.get("channel") == NORTHWIND]
    assert updates and all(c.args["ts"] == notice.ts for c in updates)
    assert len(bot.standin.messages(NORTHWIND)) == 1
    updated = bot.standin.message(NORTHWIND, notice.ts)
    assert f"Receipt acknowledged by <@{PARTNER_USER}>" in readable(updated)
    assert ids.NOTICE_ACK not in buttons(updated)
    stored = notice_rows(bot)["northwind"]
    assert (stored.status, stored.ack_by, stored.ack_team) == (
        "acknowledged",
        PARTNER_USER,
        "T0PARTNER1",
    )
    assert stored.ack_at is not None
    acknowledged = [e for e in case_events(bot) if e.kind == "notice_acknowledged"]
    assert len(acknowledged) == 1 and acknowledged[0].actor_id == PARTNER_USER


def test_a_listed_contact_of_our_own_workspace_counts_as_the_partner(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    ack_answer(bot, ACME, ACME_CONTACT)
    settle(bot)
    stored = notice_rows(bot)["acme-dist"]
    assert (stored.status, stored.ack_by) == ("acknowledged", ACME_CONTACT)
    updated = notices_in(bot, ACME)[0]
    assert f"Ontvangst bevestigd door <@{ACME_CONTACT}>" in readable(updated)


def test_our_own_staff_clicking_is_recorded_but_is_no_receipt(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    answer = ack_answer(bot, EU_IMPORT, OFFICER)
    assert "only someone from EU Import GmbH can acknowledge receipt" in answer
    settle(bot)
    stored = notice_rows(bot)["eu-import"]
    assert stored.status == "sent" and stored.ack_by is None
    assert [c["user"] for c in stored.staff_clicks] == [OFFICER]
    clicks = [e for e in case_events(bot) if e.kind == "notice_click_by_staff"]
    assert len(clicks) == 1 and clicks[0].actor_id == OFFICER
    assert "notice_acknowledged" not in kinds(bot)
    assert ids.NOTICE_ACK in buttons(notices_in(bot, EU_IMPORT)[0])
    # the contact of another partner is staff for this one
    ack_answer(bot, EU_IMPORT, ACME_CONTACT)
    assert notice_rows(bot)["eu-import"].status == "sent"


def test_a_double_click_does_not_acknowledge_twice(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    notice = notices_in(bot, EU_IMPORT)[0]

    def press() -> int:
        return bot.driver.click(EU_IMPORT, notice.ts, ids.NOTICE_ACK, user=PARTNER_USER).status

    with ThreadPoolExecutor(max_workers=2) as pool:  # both clicks at once
        assert list(pool.map(lambda _: press(), range(2))) == [200, 200]
    wait_for(lambda: len(bot.standin.response_posts()) >= 2, what="both answers")
    # and once more, later, from a copy of the message that still shows the button
    later = ack_answer(
        bot, EU_IMPORT, PARTNER_USER, force=True, value=str(notice_rows(bot)["eu-import"].id)
    )
    assert "already acknowledged" in later
    settle(bot)
    assert kinds(bot).count("notice_acknowledged") == 1
    updates = [c for c in bot.standin.calls("chat.update") if c.args.get("channel") == EU_IMPORT]
    assert len(updates) == 1


# --- the thread's notice table and the case card ---------------------------------------------


def test_the_thread_table_is_one_message_kept_current_and_the_card_counts(bot: LocalBot) -> None:
    walk_to(bot, "measure_proposed")
    bot.standin.inject("chat.postMessage", channel=NORTHWIND, retry_after=600)
    bot.standin.add_channel(
        EU_IMPORT,
        name="ext-eu-import",
        members=[PARTNER_USER],
        bot_is_member=False,
        is_ext_shared=True,
    )
    version = case_row(bot).version
    click_step(bot, "measure_approve", APPROVER)
    wait_for(lambda: case_row(bot).version > version, what="the approval")
    drain(bot)

    def line(channel: str) -> str:
        return next(ln for ln in readable(notice_table(bot)).splitlines() if NAMES[channel] in ln)

    assert "sent, waiting for receipt" in line(ACME)
    assert "queued" in line(NORTHWIND)  # put off by Slack's Retry-After
    assert "not delivered" in line(EU_IMPORT) and "not_in_channel" in line(EU_IMPORT)
    assert "0 of 3 acknowledged, 0 waived, 1 failed" in readable(notice_table(bot))
    card = readable(case_card(bot))
    assert "Partner notices: 0 of 3 acknowledged, 0 waived, 1 failed" in card

    ack_answer(bot, ACME, ACME_CONTACT)
    drain(bot)
    assert "receipt acknowledged" in line(ACME) and f"<@{ACME_CONTACT}>" in line(ACME)
    assert "1 of 3 acknowledged" in readable(case_card(bot))

    updates_before = len(bot.standin.calls("chat.update"))
    bot.clock.advance(timedelta(seconds=601))  # past Northwind's Retry-After
    bot.sweep()
    drain(bot)
    assert "sent, waiting for receipt" in line(NORTHWIND)
    assert len(notices_in(bot, NORTHWIND)) == 1
    assert len(bot.standin.calls("chat.update")) > updates_before

    tables = [m for m in thread_replies(bot) if m.text.startswith("Partner notices")]
    assert len(tables) == 1, [m.text for m in tables]
    table_posts = [
        c
        for c in bot.standin.calls("chat.postMessage")
        if c.args.get("channel") == TRIAGE
        and str(c.args.get("text", "")).startswith("Partner notices")
    ]
    assert len(table_posts) == 1
    table_updates = [
        c for c in bot.standin.calls("chat.update") if c.args.get("ts") == tables[0].ts
    ]
    assert len(table_updates) >= 2  # acknowledged, then Northwind sent


def test_the_table_of_fifty_partners_stays_within_block_kit_limits(
    tmp_path: Any, clock: Any
) -> None:
    workspace = many_partners_workspace(tmp_path / "ws.yml", 60)
    with LocalBot(workspace, database_url=f"sqlite:///{tmp_path / 'b.db'}", clock=clock) as bot:
        walk_to(bot, "measure_approved")
        settle(bot, timeout=20)
        table = notice_table(bot)
        assert len(table.blocks) <= 50
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in table.blocks)
        text = readable(table)
        assert all(f"Partner {i:02d} " in text for i in range(60)), text
        assert "0 of 60 acknowledged" in text
        assert sum(len(notices_in(bot, f"C0PART{i:04d}")) for i in range(60)) == 60


# --- close -----------------------------------------------------------------------------------


def test_close_is_refused_until_every_notice_is_acknowledged_or_waived(bot: LocalBot) -> None:
    walk_to(bot, "measure_done")

    # One refusal names every notice still open, not just the first.
    first = refused(bot, "case_close", OFFICER)
    assert first.startswith("NC-1 cannot be closed yet. Still missing:\n"), first
    for name in NAMES.values():
        assert f"• Notice to {name}: sent, waiting for receipt — to be acknowledged" in first

    for channel in (ACME, NORTHWIND):
        ack_answer(bot, channel, PARTNER_USER)
    settle(bot)
    second = refused(bot, "case_close", OFFICER)
    assert second == (
        "NC-1 cannot be closed yet. Still missing:\n"
        "• Notice to EU Import GmbH: sent, waiting for receipt — to be acknowledged or waived"
    ), second

    table = notice_table(bot)
    # a triage officer may not waive
    before = len(bot.standin.response_posts())
    views = len(bot.standin.calls("views.open"))
    bot.driver.click(TRIAGE, table.ts, ids.NOTICE_WAIVE, user=OFFICER)
    assert "approvers" in refusal_after(bot, before)
    assert len(bot.standin.calls("views.open")) == views

    # an approver must give a reason
    bot.driver.click(TRIAGE, table.ts, ids.NOTICE_WAIVE, user=APPROVER)
    wait_for(lambda: len(bot.standin.calls("views.open")) > views, what="the waive modal")
    modal = bot.driver.last_view(APPROVER)
    options = {
        o["text"]["text"]: o["value"]
        for b in modal["blocks"]
        if b.get("block_id") == "notice"
        for o in b["element"]["options"]
    }
    assert list(options) == ["EU Import GmbH"]  # only what is still open
    empty = bot.driver.submit(
        modal["id"], user=APPROVER, values={"notice": options["EU Import GmbH"], "reason": "  "}
    )
    assert empty.status == 200 and empty.json()["response_action"] == "errors"
    assert "reason" in empty.json()["errors"]
    assert notice_rows(bot)["eu-import"].status == "sent"

    reason = "Told by phone on 2026-11-30; confirmed by e-mail."
    done = bot.driver.submit(
        modal["id"], user=APPROVER, values={"notice": options["EU Import GmbH"], "reason": reason}
    )
    assert (done.status, done.body) == (200, b"")
    wait_for(lambda: notice_rows(bot)["eu-import"].status == "waived", what="the waiver")
    settle(bot)
    stored = notice_rows(bot)["eu-import"]
    assert (stored.waived_by, stored.waived_reason) == (APPROVER, reason)
    waived_line = next(ln for ln in readable(notice_table(bot)).splitlines() if "EU Import" in ln)
    assert "waived" in waived_line and reason in waived_line and f"<@{APPROVER}>" in waived_line
    assert ids.NOTICE_WAIVE not in buttons(notice_table(bot))
    assert [e.actor_id for e in case_events(bot) if e.kind == "notice_waived"] == [APPROVER]

    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"


def test_a_dutch_workspace_is_told_how_many_notices_are_open_in_dutch(
    workspace: Workspace, sqlite_url: str, clock: FakeClock
) -> None:
    dutch = workspace.model_copy(update={"language": "nl"})
    with LocalBot(dutch, database_url=sqlite_url, clock=clock) as bot:
        walk_to(bot, "measure_done")
        first = refused(bot, "case_close", OFFICER)
        assert first.startswith("NC-1 kan nog niet gesloten worden. Nog open:\n"), first
        for name in NAMES.values():
            assert f"• Melding aan {name}: verstuurd, wacht op ontvangstbevestiging" in first

        for channel in (ACME, NORTHWIND):
            ack_answer(bot, channel, PARTNER_USER)
        settle(bot)
        second = refused(bot, "case_close", OFFICER)
        assert second == (
            "NC-1 kan nog niet gesloten worden. Nog open:\n• Melding aan EU Import GmbH: "
            "verstuurd, wacht op ontvangstbevestiging — te bevestigen of vrij te stellen"
        ), second


# --- the catalogue -----------------------------------------------------------------------------


def test_systems_lists_each_system_with_its_partners_and_flags_a_missing_distributor(
    bot: LocalBot,
) -> None:
    response = bot.driver.command("/nonconformity", "systems", user=REPORTER, channel=GENERAL)
    assert response.status == 200
    text = response.text
    lines = text.splitlines()
    credit = next(ln for ln in lines if "Credit scoring model" in ln)
    for name in NAMES.values():
        assert name.replace("&", "&amp;") in credit
    assert "(distributor)" in credit and "(deployer)" in credit and "(importer)" in credit
    cv = lines.index(next(ln for ln in lines if "CV screening assistant" in ln))
    assert "Northwind Bank (deployer)" in lines[cv]
    assert "no distributor" in lines[cv + 1]
    credit_index = lines.index(credit)
    assert credit_index + 1 >= len(lines) or "no distributor" not in lines[credit_index + 1]


def test_a_case_on_a_system_without_distributor_warns_in_its_first_step(bot: LocalBot) -> None:
    assert report(bot, system="cv-screening").status == 200
    first = wait_for(lambda: (thread_replies(bot) or [None])[0], what="the first step")
    warnings = [
        e["text"]
        for b in first.blocks
        if b.get("type") == "context"
        for e in b["elements"]
        if "no distributor" in e.get("text", "")
    ]
    assert len(warnings) == 1 and "CV screening assistant" in warnings[0]
    assert "Article 20(1)" in warnings[0]


def test_a_case_on_a_system_with_a_distributor_has_no_such_warning(bot: LocalBot) -> None:
    assert report(bot).status == 200
    first = wait_for(lambda: (thread_replies(bot) or [None])[0], what="the first step")
    assert "no distributor" not in everything(first)


# --- receipt reminders -----------------------------------------------------------------------


def test_a_notice_without_receipt_is_reminded_once_after_a_day_and_the_owner_told(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_approved")
    ack_answer(bot, NORTHWIND, PARTNER_USER)
    settle(bot)
    owner = case_row(bot).owner_id

    def reminders(channel: str) -> list[Any]:
        return [m for m in bot.standin.messages(channel) if m.text.startswith("⏰")]

    def owner_told() -> list[str]:
        return [
            m.text for m in bot.standin.messages(owner) if "has not acknowledged receipt" in m.text
        ]

    bot.clock.advance(timedelta(hours=23))  # type: ignore[attr-defined]
    bot.sweep()
    settle(bot)
    assert all(reminders(c) == [] for c in PARTNER_CHANNELS)

    bot.clock.advance(timedelta(hours=1, minutes=1))  # type: ignore[attr-defined]
    bot.sweep()
    settle(bot)
    assert len(reminders(ACME)) == 1 and len(reminders(EU_IMPORT)) == 1
    assert reminders(NORTHWIND) == []  # acknowledged: nothing to remind
    assert "NC-1" in reminders(EU_IMPORT)[0].text
    told = owner_told()
    assert len(told) == 2, told
    assert any("ACME Distribution" in t for t in told) and any("EU Import" in t for t in told)

    bot.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    bot.sweep()
    settle(bot)
    assert len(reminders(ACME)) == 1 and len(reminders(EU_IMPORT)) == 1  # one reminder, not more
    assert len(owner_told()) == 2
