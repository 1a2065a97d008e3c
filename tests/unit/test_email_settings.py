"""E-mail's settings and workspace keys (issue 17): ``SMTP_URL`` read with its user and password
percent-decoded and never echoed; ``email`` and any ``language`` code in the workspace file; a
receipt token that a changed byte or the wrong key makes worthless."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.mail import parse_smtp_url
from bot.errors import ConfigError
from bot.notices import receipts
from bot.ops.settings import load_settings
from bot.ops.workspace import parse_workspace

SECRET = "s3cr3t-Passw0rd"

WORKSPACE = textwrap.dedent(
    """\
    triage_channel: C0TRIAGE01
    catalogue:
      partners:
        - id: eu-import
          name: EU Import GmbH
          role: importer
          email: [compliance@eu-import.example]
          language: de
    """
)


def test_the_smtp_url_is_percent_decoded_and_tells_tls_from_starttls() -> None:
    server = parse_smtp_url("smtp://bot%40example.com:p%40ss%3Aword@mail.example.com:587")
    assert (server.user, server.password, server.host, server.port) == (
        "bot@example.com",
        "p@ss:word",
        "mail.example.com",
        587,
    )
    assert not server.implicit_tls and server.credentials
    implicit = parse_smtp_url("smtps://relay.example.com")
    assert implicit.implicit_tls and implicit.port == 465 and not implicit.credentials
    assert parse_smtp_url("smtp://relay.example.com").port == 587


@pytest.mark.parametrize(
    "url",
    [
        f"http://u:{SECRET}@host",
        f"smtp://u:{SECRET}@",
        f"smtp://u:{SECRET}@host:notaport",
        "smtp://u@host",
    ],
)
def test_a_bad_smtp_url_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SMTP_URL", url)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith("SMTP_URL is invalid")
    assert SECRET not in str(refused.value)


def test_receipt_days_default_to_30_and_public_url_loses_its_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example.com/")
    settings = load_settings()
    assert settings.RECEIPT_DAYS == 30 and settings.PUBLIC_URL == "https://bot.example.com"


def test_a_partner_may_have_email_and_any_language_code() -> None:
    workspace = parse_workspace(WORKSPACE, "ws.yml")
    [partner] = workspace.catalogue.partners
    assert partner.email == ["compliance@eu-import.example"] and partner.channel is None
    assert partner.language == "de" and workspace.catalogue.emails_partners()


def test_a_malformed_address_names_the_key_and_the_line() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_workspace(
            WORKSPACE.replace("compliance@eu-import.example", "not an address"), "ws.yml"
        )
    assert str(refused.value).startswith("ws.yml: line 7: catalogue.partners.0.email.0:")


def test_a_receipt_token_is_bound_to_its_notice_address_key_and_time() -> None:
    key, now = b"k" * 32, datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    token = receipts.sign(key, 7, "Compliance@EU-Import.example", now + timedelta(days=30))
    link = receipts.read(key, token, now)
    assert (link.notice_id, link.address) == (7, "compliance@eu-import.example")
    with pytest.raises(receipts.Tampered):
        receipts.read(b"x" * 32, token, now)
    body, mac = token.split(".")
    forged = receipts.sign(key, 8, "compliance@eu-import.example", now).split(".")[0]
    with pytest.raises(receipts.Tampered):
        receipts.read(key, f"{forged}.{mac}", now)
    with pytest.raises(receipts.Tampered):
        receipts.read(key, "nonsense", now)
    with pytest.raises(receipts.Expired):
        receipts.read(key, token, now + timedelta(days=30))
    assert body
