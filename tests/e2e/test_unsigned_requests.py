"""Unsigned junk from the internet: refused in the WSGI layer before Bolt parses anything, with
401 (413 for a body over the limit) and one short log line — never a 500, a traceback, the body
or the header values. Bolt's own check, behind it, never logs a body either. Other paths than
Slack's are not subject to Slack's signature, so they can bring their own authentication."""

from __future__ import annotations

import io
import logging
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from slack_bolt import BoltRequest

from bot.app import build_app
from bot.devkit.local import LocalBot
from bot.devkit.standin.driver import sign
from bot.ops.signed_requests import DEFAULT_MAX_BODY, guard, problem
from tests.e2e.test_security import FORM, command_body, nothing_happened

MARKER = "TYPED-CASE-TEXT-7f3a"  # stands for what a person typed: it must never reach a log


@pytest.fixture(autouse=True)
def _forget_startup_calls(bot: LocalBot) -> None:
    bot.standin.reset_calls()  # auth.test at startup


def junk(bot: LocalBot) -> bytes:
    return command_body(bot, f"report {MARKER}")


def assert_one_short_line(caplog: pytest.LogCaptureFixture, reason: str) -> None:
    """Exactly one line at INFO or above, ours, naming the reason; nothing with the body, a
    header value or a traceback, at any level."""
    for record in caplog.records:
        assert MARKER not in record.getMessage(), record.name
        assert MARKER not in repr(record.__dict__), record.name
        assert record.exc_info is None, f"a traceback from {record.name}"
    shown = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [(r.name, r.getMessage()) for r in shown] == [("ncbot.http", "request refused")]
    assert shown[0].__dict__["reason"] == reason


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        ("abc", "v0=00", "bad timestamp"),
        ("", "", "unsigned"),
        ("1e9", "v0=00", "bad timestamp"),
        ("-5", "v0=00", "bad timestamp"),
        ("99999999999999999999999", "v0=00", "bad timestamp"),
    ],
)
def test_unsigned_junk_with_a_timestamp_that_is_not_a_number_gets_401_and_one_line(
    bot: LocalBot, caplog: pytest.LogCaptureFixture, timestamp: str, signature: str, reason: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = bot.driver.raw(
        junk(bot),
        FORM,
        signature=signature,
        headers={"X-Slack-Request-Timestamp": timestamp},
    )
    assert response.status == 401
    assert MARKER not in response.text and "Traceback" not in response.text
    nothing_happened(bot)
    assert_one_short_line(caplog, reason)


def test_unsigned_junk_without_slack_headers_gets_401_and_one_line(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = urllib.request.Request(
        bot.events_url, data=junk(bot), headers={"Content-Type": FORM}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    nothing_happened(bot)
    assert_one_short_line(caplog, "unsigned")


def test_a_stale_timestamp_gets_401_and_one_line(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = bot.driver.raw(junk(bot), FORM, timestamp=int(time.time()) - 301)
    assert response.status == 401
    nothing_happened(bot)
    assert_one_short_line(caplog, "stale timestamp")


def test_a_badly_signed_request_body_is_never_logged(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt logged the whole body of a badly signed request at INFO."""
    caplog.set_level(logging.DEBUG)
    body = junk(bot)
    response = bot.driver.raw(
        body, FORM, signature=sign("a-guessed-secret", int(time.time()), body)
    )
    assert response.status == 401
    nothing_happened(bot)
    assert_one_short_line(caplog, "bad signature")


def test_bolt_s_own_check_refuses_a_bad_signature_without_logging_the_body(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind the WSGI layer, Bolt's check is the second line: same answer, no body logged."""
    caplog.set_level(logging.DEBUG)
    app = build_app(bot.services, signing_secret=bot.signing_secret)
    body = junk(bot).decode()
    timestamp = str(int(time.time()))
    response = app.dispatch(
        BoltRequest(
            body=body,
            headers={
                "content-type": FORM,
                "x-slack-request-timestamp": timestamp,
                "x-slack-signature": sign("a-guessed-secret", timestamp, body.encode()),
            },
        )
    )
    assert response.status == 401
    nothing_happened(bot)
    for record in caplog.records:
        assert MARKER not in record.getMessage(), record.name
    refusals = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.getMessage() for r in refusals] == ["request refused by Bolt's check"]


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_body_over_the_limit_gets_413_before_anything_reads_it(
    bot: LocalBot, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    fields = urllib.parse.parse_qs(junk(bot).decode())
    fields["text"] = [f"report {MARKER} " + "x" * (DEFAULT_MAX_BODY + 1)]
    body = urllib.parse.urlencode(fields, doseq=True).encode()
    response = bot.driver.raw(body, FORM, signature=None if signed else "v0=00")
    assert response.status == 413
    nothing_happened(bot)
    assert_one_short_line(caplog, "body too large")


def test_a_ten_megabyte_unsigned_body_gets_413_and_no_traceback(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = MARKER.encode() * (10 * 1024 * 1024 // len(MARKER))
    response = bot.driver.raw(
        body, FORM, signature="v0=00", headers={"X-Slack-Request-Timestamp": "abc"}
    )
    assert response.status == 413
    nothing_happened(bot)
    assert_one_short_line(caplog, "body too large")


def test_a_signed_request_just_under_the_limit_is_still_answered(bot: LocalBot) -> None:
    fields = urllib.parse.parse_qs(command_body(bot, "help").decode())
    body = urllib.parse.urlencode(fields, doseq=True).encode()
    padded = body + b"&padding=" + b"x" * (DEFAULT_MAX_BODY - len(body) - 9)
    assert len(padded) == DEFAULT_MAX_BODY
    response = bot.driver.raw(padded, FORM)
    assert response.status == 200
    assert "/nonconformity report" in response.text


def test_the_signature_check_applies_to_slack_paths_only(bot: LocalBot) -> None:
    """``/healthz`` (and paths added later with their own authentication) are not Slack's."""
    with urllib.request.urlopen(bot.base_url + "/healthz", timeout=5) as answer:
        assert answer.status == 200
    request = urllib.request.Request(
        bot.base_url + "/alerts/example", data=b"{}", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404  # unknown here, but not refused as an unsigned Slack request


def test_the_guard_passes_the_whole_body_on_to_the_handler() -> None:
    seen: list[bytes] = []

    def handler(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())  # type: ignore[attr-defined]
        start_response("200 OK", [])  # type: ignore[operator]
        return [b""]

    body = b"payload=%7B%7D"
    now = time.time()
    timestamp = str(int(now))
    environ = {
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": sign("s3cret", timestamp, body),
    }
    statuses: list[str] = []
    guard(handler, "s3cret", clock=lambda: now)(environ, lambda s, h: statuses.append(s))
    assert (statuses, seen) == (["200 OK"], [body])


@pytest.mark.parametrize(
    ("timestamp", "signature", "secret", "expected"),
    [
        (None, "v0=1", "s", "unsigned"),
        ("1000", None, "s", "unsigned"),
        ("abc", "v0=1", "s", "bad timestamp"),
        ("١٠٠٠", "v0=1", "s", "bad timestamp"),  # Arabic-Indic digits: int() would take them
        ("699", "v0=1", "s", "stale timestamp"),
        ("1301", "v0=1", "s", "stale timestamp"),
        ("1000", "v0=ünïcode", "s", "bad signature"),
        ("1000", sign("s", 1000, b"body"), "", "no signing secret"),
        ("1000", sign("s", 1000, b"body"), "s", None),
        ("700", sign("s", 700, b"body"), "s", None),
    ],
)
def test_what_makes_a_request_slack_s(
    timestamp: str | None, signature: str | None, secret: str, expected: str | None
) -> None:
    assert problem(secret, timestamp, signature, b"body", now=1000.0) == expected
