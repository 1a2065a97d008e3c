"""Only Slack's signed requests reach Bolt: the body size and Slack's signature are checked in the
WSGI layer, before anything parses the request.

Slack signs every request it sends with the app's signing secret: ``X-Slack-Signature`` is
``v0=`` and the HMAC-SHA256 of ``v0:<timestamp>:<body>``, and ``X-Slack-Request-Timestamp`` must
be within five minutes of now (so a captured request cannot be replayed later). Anything else —
no headers, a timestamp that is not a number, a stale one, a wrong signature, a body over the
limit — is refused here with 401 (413 for the size) and one short log line naming the reason:
never a traceback, never the body or the header values.

``guard`` wraps only the Slack request handler, so other paths (``/healthz``, or endpoints with
their own authentication) are not subject to Slack's signature. ``problem`` is the one check;
Bolt's own verification, the second line, uses it too (``bot.app``).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from bot.ops import metrics

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_AGE: Final = 300  # seconds either side of now, as Slack documents
DEFAULT_MAX_BODY: Final = 1024 * 1024  # Slack's largest payloads (a view submission) are far less
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

log = logging.getLogger("ncbot.http")


def problem(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """Why this request is not Slack's, or None when it is (signed with ``secret``, fresh)."""
    if not timestamp or not signature:
        return "unsigned"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "bad timestamp"
    if abs(now - int(timestamp)) > MAX_AGE:
        return "stale timestamp"
    if not secret:
        return "no signing secret"  # fail closed: an empty secret would make forgeries valid
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


def guard(
    inner: WSGIApp,
    secret: str,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    clock: Callable[[], float] = time.time,
) -> WSGIApp:
    """``inner`` (Bolt's request handler) called only for signed requests of a sane size."""

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return refuse(environ, start_response, 400, "bad content length")
        if length > max_body:
            return refuse(environ, start_response, 413, "body too large", length)
        body = environ["wsgi.input"].read(length) if length else b""
        reason = problem(
            secret,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"),
            body,
            clock(),
        )
        if reason is not None:
            return refuse(environ, start_response, 401, reason, length)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return inner(environ, start_response)

    return guarded


_STATUS = {400: "400 Bad Request", 401: "401 Unauthorized", 413: "413 Content Too Large"}


def refuse(
    environ: dict[str, Any], start_response: StartResponse, status: int, reason: str, size: int = 0
) -> list[bytes]:
    metrics.REFUSED.labels(reason=reason).inc()
    log.warning(
        "request refused",
        extra={
            "status": status,
            "reason": reason,
            "path": str(environ.get("PATH_INFO", ""))[:100],
            "bytes": size,
        },
    )
    start_response(_STATUS[status], [("Content-Type", "text/plain")])
    return [_STATUS[status].split(" ", 1)[1].lower().encode() + b"\n"]
