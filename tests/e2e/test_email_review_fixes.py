"""E-mail partners at the edges a review found (issue 17): what the workspace file may hold
(a folded provider name, a free-text contact), a Retry with nothing left to requeue, a receipt
recorded before the notice went out, a link for an address no longer in the catalogue, a
reminder to an address that refused the notice for good, and a relay without SMTPUTF8. The
real bot over HTTP, the Slack stand-in, a FakeClock and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.delivery.mail import Uncomposable, classify_mail, compose
from bot.devkit.local import LocalBot
from bot.ops.workspace import load_workspace, sample_path
from tests.e2e.test_email_partners import (
    COMPLIANCE,
    LEGAL,
    eu_import,
    mail_settings,
)
from tests.mailbox import Mailbox
from tests.scenarios import settle, walk_to


def workspace_file(path: Path, *, provider: dict[str, Any] | None = None, **eu: Any) -> Path:
    """The sample workspace with EU Import GmbH by e-mail only (as in test_email_partners),
    and the provider and partner fields given."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "eu-import":
            partner.pop("channel")
            partner.update({"email": [COMPLIANCE, LEGAL], "language": "de", **eu})
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
