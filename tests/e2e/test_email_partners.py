"""E-mail for partners outside Slack, with receipt links (issue 17): the real bot over HTTP, the
Slack stand-in, a FakeClock and a real SMTP server on 127.0.0.1 (aiosmtpd). The sample workspace
is changed so that EU Import GmbH has no Slack channel but two addresses, and reads German (which
the catalogue lacks: English)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.delivery.mail import message_id
from bot.delivery.messages import email_key
from bot.devkit.local import LocalBot
from bot.dossier.formats.document import document
from bot.dossier.formats.markdown import to_markdown
from bot.dossier.service import load
from bot.ops.workspace import Workspace, load_workspace, sample_path
from bot.views import ids
from storage import outbox as outbox_rows
from tests.cli.test_audit_verify import audit_verify
from tests.e2e.test_authority_step import approved_with_a_risk
from tests.e2e.test_partner_notices import ACME, NORTHWIND, ack_answer, readable
from tests.mailbox import Mailbox
from tests.scenarios import (
    APPROVER,
    OFFICER,
    PARTNER_USER,
    TRIAGE,
    case_card,
    case_events,
    case_row,
    click_step,
    decide,
    drain,
    duties_panel,
    notice_rows,
    notice_table,
    open_duty,
    refusal_after,
    refused,
    settle,
    thread_replies,
    view_text,
    wait_for,
    walk_to,
)

COMPLIANCE, LEGAL = "compliance@eu-import.example", "legal@eu-import.example"
RECEIPT_KEY = "a-receipt-key-for-tests-only-0123456789"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/receipts/[A-Za-z0-9_\-.]+)")


def email_workspace(path: Path, **eu_import: Any) -> Workspace:
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "eu-import":
            partner.pop("channel")
            partner.update({"email": [COMPLIANCE, LEGAL], "language": "de", **eu_import})
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_workspace(path)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


def mail_settings(box: Mailbox, **more: str) -> dict[str, str]:
    return {
        "SMTP_URL": box.url,
        "MAIL_FROM": "ncbot@example.com",
        "PUBLIC_URL": "self",
        "RECEIPT_KEY": RECEIPT_KEY,
        **more,
    }


@pytest.fixture
def email_bot(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, mailbox: Mailbox
) -> Iterator[LocalBot]:
    workspace = email_workspace(tmp_path / "workspace.yml")
    with LocalBot(
        workspace, database_url=sqlite_url, clock=clock, mail=mail_settings(mailbox)
    ) as local:
        yield local


def link_in(box: Mailbox, address: str, index: int = -1) -> str:
    found = LINK.search(box.to(address)[index].text())
    assert found, box.to(address)[index].text()
    return found.group(1)


def fetch(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused_:
        return refused_.code, refused_.read().decode()


def eu_import(bot: LocalBot) -> Any:
    return notice_rows(bot)["eu-import"]


# --- sending -----------------------------------------------------------------------------------


def test_one_email_per_address_names_the_provider_the_case_the_measure_and_the_link(
    email_bot: LocalBot, mailbox: Mailbox
) -> None:
    bot = email_bot
    walk_to(bot, "measure_approved")
    settle(bot)

    assert [len(mailbox.to(a)) for a in (COMPLIANCE, LEGAL)] == [1, 1]
    assert len(mailbox.received) == 2
    ids_seen = set()
    for address in (COMPLIANCE, LEGAL):
        got = mailbox.to(address)[0]
        message = got.message
        assert got.rcpt_tos == [address] and got.mail_from == "ncbot@example.com"
        assert message["From"] == '"Example AI B.V." <ncbot@example.com>'
        assert message["Reply-To"] == "compliance@example.com"
        assert message["To"] == address
        assert "NC-1" in message["Subject"] and "Example AI B.V." in message["Subject"]
        text = got.text()
        for words in (
            "Example AI B.V.",  # the provider
            "NC-1",  # the case
            "Withdraw",  # the measure
            "Credit scoring model 2.3",
            "What this means for you as importer",  # German: not in the catalogue, English
            "compliance@example.com",
        ):
            assert words in text, words
        assert "*" not in text and "&amp;" not in text and "<!date" not in text
        link = link_in(mailbox, address)
        assert link.startswith(bot.base_url + "/receipts/")
        html = got.html()
        assert (
            f'href="{link}"' in html and "<strong>" in html and 'lang="en"' in html
        )  # German: English
        notice = eu_import(bot)
        assert message["Message-ID"] == message_id(
            email_key(notice.id, address), "ncbot@example.com"
        )
        ids_seen.add(message["Message-ID"])
    assert len(ids_seen) == 2  # one per recipient and notice
    assert eu_import(bot).status == "sent"
    assert "C0EUIMPORT" not in {c.id for c in bot.standin.channels() if bot.standin.messages(c.id)}
    sent = [
        e
        for e in case_events(bot)
        if e.kind == "message_sent" and e.payload["data"]["kind"] == "email_notice"
    ]
    assert sorted(e.payload["data"]["channel"] for e in sent) == [COMPLIANCE, LEGAL]
    line = next(ln for ln in readable(notice_table(bot)).splitlines() if "EU Import" in ln)
    assert "sent, waiting for receipt" in line


def test_a_4xx_is_retried_with_backoff_and_then_delivered_once(
    email_bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    bot = email_bot
    mailbox.refuse("DATA", "451 4.3.0 Mailbox busy, try later", times=2)
    walk_to(bot, "measure_approved")
    settle(bot)  # the back-off passes (settle moves the fake clock to what is due next)

    assert mailbox.attempts == 4  # two refused, two accepted
    assert [len(mailbox.to(a)) for a in (COMPLIANCE, LEGAL)] == [1, 1]
    assert eu_import(bot).status == "sent"
    assert not any(e.kind == "notice_failed" for e in case_events(bot))
    with bot.services.db.read() as session:
        for address in (COMPLIANCE, LEGAL):
            row = outbox_rows.by_key(session, email_key(eu_import(bot).id, address))
            assert row is not None and (row.status, row.attempts) == ("sent", 2)


def test_a_5xx_fails_the_notice_with_the_reason_and_retry_sends_only_what_failed(
    email_bot: LocalBot, mailbox: Mailbox
) -> None:
    bot = email_bot
    mailbox.refuse("RCPT", "550 5.1.1 No such user here", address=LEGAL)
    walk_to(bot, "measure_approved")
    settle(bot)

    assert len(mailbox.to(COMPLIANCE)) == 1 and mailbox.to(LEGAL) == []
    stored = eu_import(bot)
    assert stored.status == "failed" and "550" in (stored.failure or "")
    failed = [r for r in thread_replies(bot) if "could not be delivered" in r.text]
    assert len(failed) == 1, [r.text for r in thread_replies(bot)]
    assert "550 5.1.1 No such user here" in failed[0].text and LEGAL in failed[0].text
    assert "e-mail addresses in the workspace file" in failed[0].text
    actions = [e for b in failed[0].blocks or [] for e in b.get("elements", [])]
    assert [a.get("action_id") for a in actions] == [ids.NOTICE_RETRY]

    response = bot.driver.click(TRIAGE, failed[0].ts, ids.NOTICE_RETRY, user=OFFICER)
    assert response.status == 200
    wait_for(lambda: eu_import(bot).status != "failed", what="the retry")
    settle(bot)
    assert len(mailbox.to(LEGAL)) == 1
    assert len(mailbox.to(COMPLIANCE)) == 1  # accepted before: not sent twice
    assert eu_import(bot).status == "sent"
    kinds = [e.kind for e in case_events(bot)]
    assert kinds.count("notice_failed") == 1 and kinds.count("notice_retry") == 1
    intact = audit_verify(bot, "NC-1")
    assert intact.returncode == 0, intact.stdout + intact.stderr


# --- receipt by link -------------------------------------------------------------------------


def test_the_receipt_page_records_once_and_updates_the_thread_like_a_slack_receipt(
    email_bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    bot = email_bot
    walk_to(bot, "measure_approved")
    settle(bot)
    link = link_in(mailbox, LEGAL)

    status, page = fetch(link)
    assert status == 200
    assert page.count("<form") == 1 and page.count("<button") == 1
    assert 'method="post"' in page and "Confirm receipt" in page
    assert "NC-1" in page and "Withdraw" in page and LEGAL in page
    assert eu_import(bot).status == "sent"  # opening the link records nothing

    clock.advance(timedelta(hours=3))
    status, page = fetch(link, "POST")
    assert status == 200 and "is recorded" in page and LEGAL in page
    stored = eu_import(bot)
    assert stored.status == "acknowledged"
    assert stored.receipt == {"via": "email", "address": LEGAL}
    assert stored.ack_at == clock()
    events = [e for e in case_events(bot) if e.kind == "notice_receipt_by_link"]
    assert (
        len(events) == 1
        and events[0].payload["data"]["address"] == LEGAL
        and events[0].at == clock()
    )

    settle(bot)
    line = next(ln for ln in readable(notice_table(bot)).splitlines() if "EU Import" in ln)
    assert "receipt acknowledged" in line and LEGAL in line and "e-mail link" in line
    card = case_card(bot)
    assert "1 of 3 acknowledged" in readable(card) or "1/3" in readable(card), readable(card)

    # a replay, and the other address's link: already recorded, nothing new
    again, page = fetch(link, "POST")
    assert again == 200 and "already recorded" in page
    other, page = fetch(link_in(mailbox, COMPLIANCE), "POST")
    assert other == 200 and "already recorded" in page
    assert eu_import(bot).receipt == {"via": "email", "address": LEGAL}
    assert [e.kind for e in case_events(bot)].count("notice_receipt_by_link") == 1


def test_a_tampered_or_expired_link_gets_a_clear_page_and_records_nothing(
    email_bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    bot = email_bot
    walk_to(bot, "measure_approved")
    settle(bot)
    link = link_in(mailbox, COMPLIANCE)
    body, mac = link.rsplit("/", 1)[1].split(".")
    other_notice = link.rsplit("/", 1)[0] + "/" + body[:-2] + "xx." + mac
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    for bad in (forged, other_notice, bot.base_url + "/receipts/nonsense"):
        for method in ("GET", "POST"):
            status, page = fetch(bad, method)
            assert status == 404, (bad, method)
            assert "not valid" in page and "Nothing was recorded" in page
    assert eu_import(bot).status == "sent"

    clock.advance(timedelta(days=30, seconds=1))
    for method in ("GET", "POST"):
        status, page = fetch(link, method)
        assert status == 410 and "expired" in page and "Nothing was recorded" in page
    assert eu_import(bot).status == "sent"
    assert not any(e.kind == "notice_receipt_by_link" for e in case_events(bot))


def test_close_waits_for_an_email_receipt_like_a_slack_one(
    email_bot: LocalBot, mailbox: Mailbox
) -> None:
    bot = email_bot
    walk_to(bot, "measure_done")
    for channel in (ACME, NORTHWIND):
        ack_answer(bot, channel, PARTNER_USER)
    settle(bot)
    waiting = refused(bot, "case_close", OFFICER)
    assert waiting == (
        "NC-1 cannot be closed yet. Still missing:\n"
        "• Notice to EU Import GmbH: sent, waiting for receipt — to be acknowledged or waived"
    ), waiting

    status, _ = fetch(link_in(mailbox, COMPLIANCE), "POST")
    assert status == 200
    settle(bot)
    decide(bot, "case_close", OFFICER)
    assert "close" in [e.kind for e in case_events(bot)]


def test_without_a_public_url_the_email_asks_for_a_reply_and_has_no_link(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, mailbox: Mailbox
) -> None:
    workspace = email_workspace(tmp_path / "workspace.yml")
    settings = mail_settings(mailbox)
    del settings["PUBLIC_URL"]
    with LocalBot(workspace, database_url=sqlite_url, clock=clock, mail=settings) as bot:
        walk_to(bot, "measure_approved")
        settle(bot)
        text = mailbox.to(COMPLIANCE)[0].text()
        assert "/receipts/" not in text and "replying to this e-mail" in text
        status, _ = fetch(bot.base_url + "/receipts/anything")
        assert status == 404  # no route: links cannot work


def test_email_events_read_as_sentences_and_audit_verify_replays_them(
    email_bot: LocalBot, mailbox: Mailbox
) -> None:
    bot = email_bot
    walk_to(bot, "measure_approved")
    settle(bot)
    status, _ = fetch(link_in(mailbox, LEGAL), "POST")
    assert status == 200
    settle(bot)

    intact = audit_verify(bot, "NC-1")
    assert intact.returncode == 0, intact.stdout + intact.stderr

    dossier = load(bot.services.db, 1, now=bot.clock())
    text = to_markdown(document(dossier, "en"))
    assert f"{LEGAL} confirmed receipt of the notice for EU Import GmbH" in text
    assert "a notice to a partner by e-mail" in text
    assert "What this means for you as importer" in text  # the e-mail, word for word


# --- receipt recorded by hand (no public URL, or a phone call) --------------------------------


def open_record_modal(bot: LocalBot, user: str) -> dict[str, Any]:
    views = len(bot.standin.calls("views.open"))
    bot.driver.click(TRIAGE, notice_table(bot).ts, ids.NOTICE_RECORD, user=user)
    wait_for(lambda: len(bot.standin.calls("views.open")) > views, what="the record modal")
    return bot.driver.last_view(user)


def test_triage_records_a_receipt_by_hand_who_how_and_when(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, mailbox: Mailbox
) -> None:
    workspace = email_workspace(tmp_path / "workspace.yml")
    settings = mail_settings(mailbox)
    del settings["PUBLIC_URL"]  # links cannot work: receipts are recorded by hand
    with LocalBot(workspace, database_url=sqlite_url, clock=clock, mail=settings) as bot:
        walk_to(bot, "measure_approved")
        settle(bot)
        clock.advance(timedelta(hours=2))  # the notice went out at 09:00 UTC; now it is 11:00

        # only triage may record a receipt
        before = len(bot.standin.response_posts())
        bot.driver.click(TRIAGE, notice_table(bot).ts, ids.NOTICE_RECORD, user=APPROVER)
        assert "triage" in refusal_after(bot, before)

        modal = open_record_modal(bot, OFFICER)
        options = {
            o["text"]["text"]: o["value"]
            for b in modal["blocks"]
            if b.get("block_id") == "notice"
            for o in b["element"]["options"]
        }
        assert set(options) == {"ACME Distribution B.V.", "Northwind Bank", "EU Import GmbH"}
        values = {
            "notice": options["EU Import GmbH"],
            "received_by": "Erika Muster, EU Import GmbH",
            "how": "phone call",
            "on": "2026-11-30",
            "at": "23:30",  # later than now (11:00 UTC): refused inline
        }
        future = bot.driver.submit(modal["id"], user=OFFICER, values=values)
        assert future.status == 200 and future.json()["response_action"] == "errors"
        assert "at" in future.json()["errors"]
        assert eu_import(bot).status == "sent"

        done = bot.driver.submit(modal["id"], user=OFFICER, values={**values, "at": "11:30"})
        assert (done.status, done.body) == (200, b"")
        wait_for(lambda: eu_import(bot).status == "acknowledged", what="the receipt")
        settle(bot)
        stored = eu_import(bot)
        # 11:30 in Amsterdam is 10:30 UTC
        assert stored.ack_at == clock().replace(hour=10, minute=30, second=0, microsecond=0)
        assert stored.ack_by == OFFICER
        assert stored.receipt is not None and stored.receipt["via"] == "recorded"
        line = next(ln for ln in readable(notice_table(bot)).splitlines() if "EU Import" in ln)
        assert "Erika Muster, EU Import GmbH (phone call)" in line and f"<@{OFFICER}>" in line
        recorded = [e for e in case_events(bot) if e.kind == "notice_receipt_recorded"]
        assert len(recorded) == 1 and recorded[0].actor_id == OFFICER
        assert recorded[0].payload["data"]["how"] == "phone call"

        intact = audit_verify(bot, "NC-1")
        assert intact.returncode == 0, intact.stdout + intact.stderr
        text = to_markdown(document(load(bot.services.db, 1, now=clock()), "en"))
        assert "received the notice for EU Import GmbH (phone call, on 2026-11-30T10:30" in text


def test_a_reminder_emails_every_address_again_with_a_fresh_link(
    email_bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    bot = email_bot
    walk_to(bot, "measure_approved")
    settle(bot)
    first = link_in(mailbox, COMPLIANCE)

    clock.advance(timedelta(hours=24, minutes=1))
    bot.sweep()
    settle(bot)
    for address in (COMPLIANCE, LEGAL):
        got = mailbox.to(address)
        assert len(got) == 2, address
        assert got[1].message["Subject"].startswith("Reminder: ")
        assert got[1].message["Message-ID"] != got[0].message["Message-ID"]
    fresh = link_in(mailbox, COMPLIANCE)
    assert fresh != first

    clock.advance(timedelta(days=29, hours=12))  # the first link has expired; the fresh one not
    assert fetch(first, "POST")[0] == 410
    status, page = fetch(fresh, "POST")
    assert status == 200 and "is recorded" in page
    assert eu_import(bot).status == "acknowledged"
    intact = audit_verify(bot, "NC-1")
    assert intact.returncode == 0, intact.stdout + intact.stderr


# --- authorities by e-mail -------------------------------------------------------------------

AUTHORITY = "msa@authority.example"


@pytest.fixture
def authority_bot(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, mailbox: Mailbox
) -> Iterator[LocalBot]:
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "nl-ams":
            partner.pop("channel")
            partner["email"] = [AUTHORITY]
    path = tmp_path / "workspace.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with LocalBot(
        load_workspace(path), database_url=sqlite_url, clock=clock, mail=mail_settings(mailbox)
    ) as local:
        yield local


def test_send_it_now_emails_an_authority_without_a_channel_and_counts_when_accepted(
    authority_bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    bot = authority_bot
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_authority")
    assert f"e-mail the message above to {AUTHORITY}" in view_text(view)
    mailbox.refuse("DATA", "451 4.3.0 try later")  # accepted only at the second attempt
    response = bot.driver.submit(view["id"], user=OFFICER, values={"choice": "send"})
    assert (response.status, response.body) == (200, b"")
    drain(bot)
    assert "inform_authority" not in case_row(bot).details.duties  # not accepted yet
    assert any("Sending the message to" in r.text for r in thread_replies(bot))

    settle(bot)
    [got] = mailbox.to(AUTHORITY)
    text = got.text()
    assert "/receipts/" not in text and "confirm" not in text.lower()
    assert "Example AI B.V." in text and "NC-1" in text
    assert got.message["Reply-To"] == "compliance@example.com"
    recorded = case_row(bot).details.duties["inform_authority"]
    assert (recorded.by, recorded.sent_to, recorded.at) == (OFFICER, AUTHORITY, clock())
    [event] = [e for e in case_events(bot) if e.kind == "duty_inform_authority"]
    assert event.actor_id == OFFICER and event.payload["data"]["message"]["to"] == AUTHORITY
    assert "E-mailed to Dutch AI market surveillance authority" in str(duties_panel(bot).blocks)

    again = bot.driver.submit(view["id"], user=OFFICER, values={"choice": "send"})
    assert again.json()["response_action"] == "errors"
    settle(bot)
    assert len(mailbox.to(AUTHORITY)) == 1
    intact = audit_verify(bot, "NC-1")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    dossier = load(bot.services.db, 1, now=clock())
    [message] = dossier["authorities"]["messages"]
    assert message["kind"] == "email_authority" and message["to"]["id"] == "nl-ams"
    assert "Example AI B.V." in message["text"]


def test_an_authority_email_refused_for_good_leaves_the_duty_open_and_says_why(
    authority_bot: LocalBot, mailbox: Mailbox
) -> None:
    bot = authority_bot
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_authority")
    mailbox.refuse("RCPT", "550 5.1.1 unknown mailbox", address=AUTHORITY)
    bot.driver.submit(view["id"], user=OFFICER, values={"choice": "send"})
    settle(bot)
    assert mailbox.to(AUTHORITY) == []
    assert "inform_authority" not in case_row(bot).details.duties
    failed = [r for r in thread_replies(bot) if "could not be delivered" in r.text]
    assert len(failed) == 1 and "550 5.1.1 unknown mailbox" in failed[0].text

    # Send it now again: the failed e-mail goes again, and this time is accepted
    view = open_duty(bot, "inform_authority")
    bot.driver.submit(view["id"], user=OFFICER, values={"choice": "send"})
    settle(bot)
    assert len(mailbox.to(AUTHORITY)) == 1
    assert "inform_authority" in case_row(bot).details.duties


def test_a_relay_that_cannot_be_reached_is_retried_until_it_answers(
    email_bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    bot = email_bot
    walk_to(bot, "measure_proposed")
    mailbox.stop()  # the relay is down when the measure is approved
    click_step(bot, "measure_approve", APPROVER)
    wait_for(lambda: case_row(bot).state == "measure_approved", what="the approval")
    drain(bot)
    assert eu_import(bot).status == "queued"  # not failed: no person needs to act yet
    with bot.services.db.read() as session:
        row = outbox_rows.by_key(session, email_key(eu_import(bot).id, COMPLIANCE))
        assert row is not None and row.status == "pending"
        assert "Connection" in (row.last_error or ""), row.last_error

    mailbox.start()
    settle(bot)
    assert [len(mailbox.to(a)) for a in (COMPLIANCE, LEGAL)] == [1, 1]
    assert eu_import(bot).status == "sent"
