"""The WSGI edge for monitoring: ``POST /alerts/alertmanager`` and ``POST /alerts/generic``.

Served beside ``/slack/events`` by ``serve`` (and on ``PORT`` by ``socket``) only when
``ALERTS_TOKEN`` is set. A refusal is a 4xx with one log line and nothing stored; an accepted
webhook is committed before its 200, because Alertmanager retries what failed and a retry
must find the case the first attempt opened.
"""

from __future__ import annotations

import contextvars
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.alerts.payloads import Refused, Signal, alertmanager_signals, generic_signal
from bot.alerts.service import Alerts
from bot.request_context import request_scope

PREFIX = "/alerts/"
ALERTMANAGER_PATH = "/alerts/alertmanager"
GENERIC_PATH = "/alerts/generic"
MAX_BODY = 1024 * 1024  # Alertmanager's groups are small; a megabyte is a misconfiguration

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
log = logging.getLogger("ncbot.alerts")

STATUS_TEXT = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    422: "422 Unprocessable Content",
    503: "503 Service Unavailable",
}


def alerts_app(alerts: Alerts, token: str) -> WSGIApp:
    """The endpoints, guarded by ``Authorization: Bearer <token>``; an empty token is refused
    here, as an empty signing secret is for Slack: every request would otherwise pass."""
    if not token:
        raise ValueError("an empty ALERTS_TOKEN is refused")
    expected = f"Bearer {token}".encode()
    config = alerts.workspace.alerts
    readers: dict[str, Callable[[bytes], list[Signal]]] = {
        ALERTMANAGER_PATH: lambda body: alertmanager_signals(body, config, alerts.lang),
        GENERIC_PATH: lambda body: [generic_signal(body, config)],
    }

    def handle(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            read = readers.get(path)
            if read is None:
                raise Refused(404, "no such alerts endpoint")
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refused(405, "only POST")
            given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
            if not hmac.compare_digest(given, expected):
                raise Refused(401, "missing or wrong bearer token")
            signals = read(_body(environ))
        except Refused as refused:
            log.warning(
                "alert refused",
                extra={"path": path, "status": refused.status, "reason": refused.reason},
            )
            return _answer(start_response, refused.status, {"ok": False, "error": refused.reason})
        try:
            outcomes = [(signal, alerts.receive(signal)) for signal in signals]
        except Exception as exc:
            # The database is down or busy: Alertmanager retries a 5xx; say so in one line.
            log.error("alert not stored", extra={"path": path, "error": type(exc).__name__})
            return _answer(start_response, 503, {"ok": False, "error": "not stored, retry"})
        results = [
            {"system": s.system_id, "status": s.status, "result": o.result, "case": o.case_ref}
            for s, o in outcomes
        ]
        log.info(
            "alerts received",
            extra={"path": path, "results": ",".join(str(r["result"]) for r in results)},
        )
        return _answer(start_response, 200, {"ok": True, "results": results})

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # A fresh context per request: the case id a request binds must not stay on the
        # server thread for the next one.
        def scoped() -> Iterable[bytes]:
            with request_scope():
                return handle(environ, start_response)

        return contextvars.copy_context().run(scoped)

    return application


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "bad Content-Length") from None
    if length > MAX_BODY:
        raise Refused(413, "body too large")
    stream = environ["wsgi.input"]
    body: bytes = stream.read(length) if length > 0 else b""
    return body


def _answer(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    start_response(STATUS_TEXT[status], [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
