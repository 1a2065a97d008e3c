"""E-mail partners at the edges a review found (issue 17): what the workspace file may hold
(a folded provider name, a free-text contact), a Retry with nothing left to requeue, a receipt
recorded before the notice went out, a link for an address no longer in the catalogue, a
reminder to an address that refused the notice for good, and a relay without SMTPUTF8. The
real bot over HTTP, the Slack stand-in, a FakeClock and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.delivery.mail import (
    SEND_BUDGET,
    Mailer,
    MailSettings,
    Uncomposable,
    classify_mail,
    compose,
    parse_smtp_url,
)
from bot.delivery.outbox import Outbox
from bot.devkit.local import LocalBot
from bot.ops.catalogue import sync_catalogue
from bot.ops.workspace import load_workspace, sample_path
from bot.views import ids
from tests.e2e.test_email_partners import (
    COMPLIANCE,
    LEGAL,
    eu_import,
    fetch,
    link_in,
    mail_settings,
    open_record_modal,
)
from tests.mailbox import Mailbox
from tests.scenarios import (
    OFFICER,
    PARTNER_USER,
    TRIAGE,
    case_events,
    refusal_after,
    settle,
    thread_replies,
    wait_for,
    walk_to,
)


def workspace_file(path: Path, *, provider: dict[str, Any] | None = None, **eu: Any) -> Path:
    """The sample workspace with EU Import GmbH by e-mail only (as in test_email_partners),
    and the provider and partner fields given."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "eu-import":
            partner.pop("channel")
            partner.update({"email": [COMPLIANCE, LEGAL], "language": "de", **eu})
            for key in [k for k, v in partner.items() if v is None]:
                del partner[key]  # None: this field left out
    data["provider"].update(provider or {})
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


# --- 1. what the workspace file may hold -------------------------------------------------------

FOLDED = """\
provider:
  name: >
    Example AI
    B.V.
  contact: Call +49 30 1234567 or qa@acme.eu
"""


def test_a_folded_provider_name_and_a_free_text_contact_still_send_one_clean_email(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, mailbox: Mailbox
) -> None:
    folded = yaml.safe_load(FOLDED)["provider"]
    assert folded["name"] == "Example AI B.V.\n"  # what a YAML folded scalar leaves
    path = workspace_file(tmp_path / "workspace.yml", provider=folded)
    workspace = load_workspace(path)
    with LocalBot(
        workspace, database_url=sqlite_url, clock=clock, mail=mail_settings(mailbox)
    ) as bot:
        walk_to(bot, "measure_approved")
        settle(bot)  # never "uncertain" for ever: it goes out, or fails with a reason

        assert [len(mailbox.to(a)) for a in (COMPLIANCE, LEGAL)] == [1, 1]
        message = mailbox.to(COMPLIANCE)[0].message
        assert message["From"] == '"Example AI B.V." <ncbot@example.com>'
        assert "\n" not in str(message["Subject"]) and "Example AI B.V." in message["Subject"]
        assert message["Reply-To"] is None  # free text is no address: the body shows it
        assert "Call +49 30 1234567 or qa@acme.eu" in mailbox.to(COMPLIANCE)[0].text()
        assert eu_import(bot).status == "sent"


def test_a_contact_that_is_one_address_is_the_reply_to() -> None:
    message = compose(
        address=COMPLIANCE,
        subject="NC-1\n",
        text="t",
        html="<p>h</p>",
        sender_name="Acme\n",
        mail_from="ncbot@example.com",
        reply_to="QA desk <qa@acme.eu>\n",
        dedupe_key="k",
        sent_on=0,
    )
    assert message["Reply-To"] == "QA desk <qa@acme.eu>" and message["Subject"] == "NC-1"


def test_an_email_that_cannot_be_composed_is_a_permanent_failure_not_a_retry() -> None:
    with pytest.raises(Uncomposable) as refused_:
        compose(
            address="legal@eu-import.example\nBcc: everyone@example.com",
            subject="NC-1",
            text="t",
            html="<p>h</p>",
            sender_name=None,
            mail_from="ncbot@example.com",
            reply_to=None,
            dedupe_key="k",
            sent_on=0,
        )
    failure = classify_mail(refused_.value)
    assert failure.kind == "permanent" and failure.error.startswith("mail_uncomposable")


# --- 2. Retry when there is no row to requeue, or the refused one is a reminder ----------------


@pytest.fixture
def workspace_path(tmp_path: Path) -> Path:
    return workspace_file(tmp_path / "workspace.yml")


@pytest.fixture
def bot(
    workspace_path: Path, sqlite_url: str, clock: FakeClock, mailbox: Mailbox
) -> Iterator[LocalBot]:
    workspace = load_workspace(workspace_path)
    with LocalBot(
        workspace, database_url=sqlite_url, clock=clock, mail=mail_settings(mailbox)
    ) as local:
        yield local


def the_workspace_file_now(bot: LocalBot, path: Path, **eu: Any) -> None:
    """The operator edits EU Import GmbH in the workspace file; the catalogue follows (as at
    the next start)."""
    sync_catalogue(bot.services.db, load_workspace(workspace_file(path, **eu)).catalogue)


def failure_in_thread(bot: LocalBot, count: int = 1) -> Any:
    failed = wait_for(
        lambda: (lambda f: f if len(f) >= count else None)(
            [r for r in thread_replies(bot) if "could not be delivered" in r.text]
        ),
        what="the failed notice in the thread",
    )
    return failed[-1]


def retry(bot: LocalBot, failed: Any) -> str:
    before = len(bot.standin.response_posts())
    response = bot.driver.click(TRIAGE, failed.ts, ids.NOTICE_RETRY, user=OFFICER)
    assert response.status == 200
    return refusal_after(bot, before)


def test_retry_sends_a_reminder_the_relay_refused_and_the_notice_is_sent_again(
    bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    walk_to(bot, "measure_approved")
    settle(bot)
    first_sent = eu_import(bot).sent_at
    mailbox.refuse("RCPT", "550 5.2.1 Mailbox disabled", address=LEGAL)
    clock.advance(timedelta(hours=24, minutes=1))
    bot.sweep()
    settle(bot)
    assert len(mailbox.to(LEGAL)) == 1
    assert eu_import(bot).status == "failed"
    # COMPLIANCE's reminder went out, or was skipped once the notice had failed
    reminded = len(mailbox.to(COMPLIANCE))

    assert "again" in retry(bot, failure_in_thread(bot))
    settle(bot)
    assert len(mailbox.to(LEGAL)) == 2
    assert len(mailbox.to(COMPLIANCE)) == reminded  # only what failed goes again
    assert mailbox.to(LEGAL)[1].message["Subject"].startswith("Reminder: ")
    stored = eu_import(bot)
    assert (stored.status, stored.failure) == ("sent", None)
    assert stored.sent_at == first_sent  # when it first reached the partner

    # Sent again, it is reminded again: the reminders the failure stopped count anew.
    from sqlalchemy import select

    from storage.models import Timer

    with bot.services.db.read() as session:
        status = session.scalar(
            select(Timer.status).where(Timer.key == f"notice_receipt:{stored.id}")
        )
    assert status == "pending"
    clock.advance(timedelta(hours=24, minutes=1))
    bot.sweep()
    settle(bot)
    assert len(mailbox.to(LEGAL)) == 3


def test_retry_posts_in_a_channel_added_since_the_email_was_refused(
    bot: LocalBot, mailbox: Mailbox, workspace_path: Path
) -> None:
    mailbox.refuse("RCPT", "550 5.1.1 No such user", times=2)
    walk_to(bot, "measure_approved")
    settle(bot)
    assert eu_import(bot).status == "failed"

    # the fix: the partner reads Slack now, in a shared channel, and has no e-mail
    bot.standin.add_channel(
        "C0EUIMPORT", name="ext-eu-import", members=[PARTNER_USER], is_ext_shared=True
    )
    the_workspace_file_now(bot, workspace_path, channel="C0EUIMPORT", email=None)
    assert "again" in retry(bot, failure_in_thread(bot))
    settle(bot)
    stored = eu_import(bot)
    assert stored.status == "sent" and stored.slack_ts is not None
    posts = bot.standin.messages("C0EUIMPORT")
    assert len(posts) == 1 and "NC-1" in posts[0].text
    assert len(mailbox.received) == 0


def test_retry_with_nothing_left_to_send_says_so_and_the_notice_stays_failed(
    bot: LocalBot, mailbox: Mailbox, workspace_path: Path
) -> None:
    mailbox.refuse("RCPT", "550 5.1.1 No such user", address=LEGAL)
    walk_to(bot, "measure_approved")
    settle(bot)
    assert eu_import(bot).status == "failed"

    # LEGAL leaves the file; COMPLIANCE has the notice already
    the_workspace_file_now(bot, workspace_path, email=[COMPLIANCE])
    answer = retry(bot, failure_in_thread(bot))
    assert "Nothing to send again to EU Import GmbH" in answer and "stays failed" in answer
    settle(bot)
    assert eu_import(bot).status == "failed"
    assert len(mailbox.to(COMPLIANCE)) == 1


# --- 3. a receipt recorded by hand is not earlier than the notice -----------------------------


def test_a_receipt_recorded_before_the_notice_went_out_is_refused_inline(
    bot: LocalBot, mailbox: Mailbox, clock: FakeClock
) -> None:
    walk_to(bot, "measure_approved")
    settle(bot)
    went_out = eu_import(bot).sent_at
    assert went_out is not None and (went_out.hour, went_out.minute) == (9, 0)  # 10:00 local
    clock.advance(timedelta(hours=3))

    modal = open_record_modal(bot, OFFICER)
    options = {
        o["text"]["text"]: o["value"]
        for b in modal["blocks"]
        if b.get("block_id") == "notice"
        for o in b["element"]["options"]
    }
    values = {
        "notice": options["EU Import GmbH"],
        "received_by": "Erika Muster, EU Import GmbH",
        "how": "phone call",
        "on": "2026-11-30",
        "at": "09:59",  # Amsterdam: a minute before it went out
    }
    early = bot.driver.submit(modal["id"], user=OFFICER, values=values)
    assert early.status == 200 and early.json()["response_action"] == "errors"
    said = early.json()["errors"]["at"]
    assert "The notice went out on 2026-11-30 10:00" in said and "cannot be earlier" in said
    assert eu_import(bot).status == "sent"
    assert not any(e.kind == "notice_receipt_recorded" for e in case_events(bot))

    done = bot.driver.submit(modal["id"], user=OFFICER, values={**values, "at": "10:01"})
    assert (done.status, done.body) == (200, b"")
    wait_for(lambda: eu_import(bot).status == "acknowledged", what="the receipt")
    assert eu_import(bot).ack_at == went_out.replace(minute=1, second=0, microsecond=0)


# --- 5. a receipt link speaks for the partner only while its address does --------------------


def test_a_link_for_an_address_removed_from_the_catalogue_is_no_longer_valid(
    bot: LocalBot, mailbox: Mailbox, workspace_path: Path
) -> None:
    walk_to(bot, "measure_approved")
    settle(bot)
    link = link_in(mailbox, LEGAL)

    # LEGAL left the company; the operator took it out of the workspace file
    the_workspace_file_now(bot, workspace_path, email=[COMPLIANCE])
    for method in ("GET", "POST"):
        status, page = fetch(link, method)
        assert status == 410, (method, page)
        assert "no longer valid" in page and "Nothing was recorded" in page
        assert "<form" not in page
    assert eu_import(bot).status == "sent"
    assert not any(e.kind == "notice_receipt_by_link" for e in case_events(bot))

    status, page = fetch(link_in(mailbox, COMPLIANCE), "POST")  # still one of theirs
    assert status == 200 and "is recorded" in page
    assert eu_import(bot).receipt == {"via": "email", "address": COMPLIANCE}


# --- 6. reminders skip an address that refused the notice for good ----------------------------


def test_a_reminder_is_not_emailed_to_an_address_that_refused_the_notice_for_good(
    bot: LocalBot, mailbox: Mailbox, clock: FakeClock, workspace_path: Path
) -> None:
    mailbox.refuse("RCPT", "550 5.1.1 No such user", address=LEGAL, times=2)
    walk_to(bot, "measure_approved")
    settle(bot)
    assert eu_import(bot).status == "failed"

    # the partner is reached in Slack now; LEGAL leaves the file for the Retry...
    bot.standin.add_channel(
        "C0EUIMPORT", name="ext-eu-import", members=[PARTNER_USER], is_ext_shared=True
    )
    the_workspace_file_now(bot, workspace_path, channel="C0EUIMPORT", email=[COMPLIANCE])
    assert "again" in retry(bot, failure_in_thread(bot))
    settle(bot)
    assert eu_import(bot).status == "sent"
    # ... and comes back with the next edit of the file, still refused by its server
    the_workspace_file_now(bot, workspace_path, channel="C0EUIMPORT", email=[COMPLIANCE, LEGAL])

    clock.advance(timedelta(hours=24, minutes=1))
    bot.sweep()
    settle(bot)
    assert len(mailbox.to(COMPLIANCE)) == 2  # the reminder
    assert mailbox.to(LEGAL) == []
    assert mailbox.fault("RCPT", [LEGAL]) is not None  # its second refusal was never asked for
    assert eu_import(bot).status == "sent"  # not failed again by a reminder nobody needed


# --- 7. a relay without SMTPUTF8 -------------------------------------------------------------

JUERGEN = "jürgen@eu-import.example"


def test_a_non_ascii_address_through_a_relay_without_smtputf8_fails_with_its_own_reason(
    tmp_path: Path, sqlite_url: str, clock: FakeClock
) -> None:
    path = workspace_file(tmp_path / "workspace.yml", email=[COMPLIANCE, JUERGEN])
    with (
        Mailbox(smtputf8=False) as relay,
        LocalBot(
            load_workspace(path), database_url=sqlite_url, clock=clock, mail=mail_settings(relay)
        ) as bot,
    ):
        walk_to(bot, "measure_approved")
        settle(bot)  # no retries: it can never go through this relay

        assert len(relay.to(COMPLIANCE)) == 1 and relay.to(JUERGEN) == []
        stored = eu_import(bot)
        assert stored.status == "failed"
        assert stored.failure == f"{JUERGEN}: smtp_no_smtputf8"
        told = failure_in_thread(bot)
        assert "smtp_no_smtputf8" in told.text and "smtp_no_auth" not in told.text
        assert "offers no SMTPUTF8" in told.text and "ASCII address" in told.text


# --- 7. one send ends well inside the outbox's lease -------------------------------------------


def test_a_relay_slower_than_the_send_budget_is_left_before_the_lease_runs_out() -> None:
    assert timedelta(seconds=SEND_BUDGET) < Outbox.__init__.__kwdefaults__["lease"]
    with Mailbox() as slow:
        slow.hold(COMPLIANCE, 10)  # the message is stored; its 250 comes 10 s later
        settings = MailSettings(
            smtp=parse_smtp_url(slow.url),
            mail_from="ncbot@example.com",
            public_url=None,
            receipt_key=None,
            send_budget=2.0,
        )
        message = compose(
            address=COMPLIANCE,
            subject="NC-1",
            text="t",
            html="<p>h</p>",
            sender_name=None,
            mail_from="ncbot@example.com",
            reply_to=None,
            dedupe_key="k",
            sent_on=0,
        )
        started = time.monotonic()
        # a read that times out: smtplib closes and says so (SMTPServerDisconnected)
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)) as late:
            Mailer(settings).send(message, COMPLIANCE)
        assert time.monotonic() - started < 9  # it did not wait for the 250
        assert classify_mail(late.value).kind == "uncertain"  # tried again, same Message-ID
        slow.release()
