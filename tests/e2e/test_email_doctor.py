"""``doctor`` and e-mail (issue 17): the settings a partner with e-mail needs, and the relay —
connected, STARTTLS, logged in, nothing sent — against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.devkit.standin import SlackStandIn
from tests.e2e import test_doctor
from tests.e2e.test_doctor import doctor, failures, sample
from tests.mailbox import Mailbox

migrated, standin = test_doctor.migrated, test_doctor.standin  # the doctor tests' fixtures
KEY = "a-receipt-key-for-tests-only-0123456789"


def with_email(data: dict[str, Any]) -> None:
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "eu-import":
            partner["email"] = ["compliance@eu-import.example"]


def relay(mailbox: Mailbox, **more: str) -> dict[str, str]:
    return {
        "SMTP_URL": mailbox.url,
        "MAIL_FROM": "ncbot@example.com",
        "RECEIPT_KEY": KEY,
        "PUBLIC_URL": "https://bot.example.com",
        **more,
    }


def test_a_relay_and_settings_set_up_right_pass_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    with Mailbox() as mailbox:
        code, lines = doctor(monkeypatch, standin, config, migrated, **relay(mailbox))
        assert failures(lines) == [], lines
        assert code == 0
        assert "✓ e-mail settings: receipt links at https://bot.example.com/receipts/…" in lines
        relay_line = next(line for line in lines if "SMTP relay" in line)
        assert (
            relay_line.startswith("✓ SMTP relay: 127.0.0.1:") and "nothing was sent" in relay_line
        )
        assert mailbox.received == [] and mailbox.attempts == 0


def test_a_partner_with_email_needs_the_relay_the_sender_and_the_receipt_key(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    code, lines = doctor(monkeypatch, standin, config, migrated)
    assert code == 1
    assert failures(lines) == [
        "✗ e-mail settings: a partner has e-mail, but SMTP_URL, MAIL_FROM, RECEIPT_KEY not set"
        " — fix: set them in the environment (README: E-mail partners)"
    ]


def test_without_public_url_links_cannot_work(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    with Mailbox() as mailbox:
        settings = relay(mailbox)
        del settings["PUBLIC_URL"]
        code, lines = doctor(monkeypatch, standin, config, migrated, **settings)
    assert code == 1
    [line] = failures(lines)
    assert "PUBLIC_URL is not set: receipt links cannot work" in line


def test_credentials_without_starttls_are_refused_and_a_private_ca_with_login_passes(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    with Mailbox(login=("bot", "p@ss:word")) as plain:
        url = f"smtp://bot:p%40ss%3Aword@127.0.0.1:{plain.port}"
        code, lines = doctor(monkeypatch, standin, config, migrated, **relay(plain, SMTP_URL=url))
    assert code == 1
    [line] = failures(lines)
    assert "offers no STARTTLS, and SMTP_URL carries credentials" in line
    assert "p@ss" not in "\n".join(lines) and "p%40ss" not in "\n".join(lines)

    with Mailbox(tls_dir=tmp_path, login=("bot", "p@ss:word")) as tls:
        url = f"smtp://bot:p%40ss%3Aword@127.0.0.1:{tls.port}"
        untrusted = relay(tls, SMTP_URL=url)
        code, lines = doctor(monkeypatch, standin, config, migrated, **untrusted)
        assert code == 1 and "SMTP_CA_FILE" in failures(lines)[0]

        trusted = relay(tls, SMTP_URL=url, SMTP_CA_FILE=str(tls.ca_file))
        code, lines = doctor(monkeypatch, standin, config, migrated, **trusted)
        assert failures(lines) == [], lines
        assert any("(STARTTLS, logged in as bot); nothing was sent" in line for line in lines)

    assert tls.received == []


def test_a_relay_that_cannot_be_reached_is_named(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    mailbox = Mailbox()  # never started: nothing listens on its port
    code, lines = doctor(monkeypatch, standin, config, migrated, **relay(mailbox))
    assert code == 1
    [line] = failures(lines)
    assert line.startswith(f"✗ SMTP relay: 127.0.0.1:{mailbox.port} cannot be reached")


def test_smtps_is_implicit_tls_trusting_the_private_ca(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    with Mailbox(tls_dir=tmp_path, login=("bot", "secret"), implicit_tls=True) as tls:
        url = f"smtps://bot:secret@127.0.0.1:{tls.port}"
        settings = relay(tls, SMTP_URL=url, SMTP_CA_FILE=str(tls.ca_file))
        code, lines = doctor(monkeypatch, standin, config, migrated, **settings)
    assert failures(lines) == [] and code == 0, lines
    assert any("(TLS, logged in as bot); nothing was sent" in line for line in lines)


def test_a_receipt_key_shorter_than_32_bytes_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn, migrated: str, tmp_path: Path
) -> None:
    config = sample(tmp_path / "ws.yml", with_email)
    short = "short-key-0123456789-abcdefghij"  # 31 bytes
    with Mailbox() as mailbox:
        code, lines = doctor(
            monkeypatch, standin, config, migrated, **relay(mailbox, RECEIPT_KEY=short)
        )
    assert code == 1
    [line] = failures(lines)
    assert line.startswith("✗ settings: RECEIPT_KEY is invalid") and "at least 32 bytes" in line
    assert "secrets.token_urlsafe(48)" in line
    assert short not in "\n".join(lines)
