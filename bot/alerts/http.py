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
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.alerts.payloads import Refused, Signal, alertmanager_signals, generic_signal
from bot.alerts.service import Alerts
from bot.ops.request_context import request_scope

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


class Deliveries:
    """Sends what alerts queued soon after their 200, as Slack listeners do after their ack,
    rather than at the next sweep: one background thread, and a case already waiting for it is
    not queued twice, so a storm of repeats becomes a handful of deliveries. What it does not
    get to (a stop, a crash) is sent by the sweep: the rows are committed."""

    def __init__(self, deliver: Callable[..., int]) -> None:
        self._deliver = deliver
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerts-delivery")
        self._waiting: set[int | None] = set()
        self._lock = threading.Lock()

    def soon(self, case_id: int | None) -> None:
        with self._lock:
            if case_id in self._waiting:
                return
            self._waiting.add(case_id)
        self._pool.submit(self._run, case_id)

    def _run(self, case_id: int | None) -> None:
        with self._lock:
            self._waiting.discard(case_id)  # rows committed from now on get another run
        try:
            self._deliver(case_id=case_id)
        except Exception as exc:
            log.warning(
                "alert delivery failed; the sweep sends it",
                extra={"case_id": case_id, "error": type(exc).__name__},
            )

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class AlertsEndpoint:
    """The WSGI app for ``/alerts/…``, guarded by ``Authorization: Bearer <token>``. An empty
    token is refused here, as an empty signing secret is for Slack: every request would pass."""

    def __init__(self, alerts: Alerts, token: str, deliver: Callable[..., int] | None) -> None:
        if not token:
            raise ValueError("an empty ALERTS_TOKEN is refused")
        self.alerts = alerts
        self._expected = f"Bearer {token}".encode()
        config = alerts.workspace.alerts
        self._readers: dict[str, Callable[[bytes], list[Signal]]] = {
            ALERTMANAGER_PATH: lambda body: alertmanager_signals(body, config, alerts.lang),
            GENERIC_PATH: lambda body: [generic_signal(body, config)],
        }
        self.deliveries = Deliveries(deliver) if deliver is not None else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # A fresh context per request: the case id a request binds must not stay on the
        # server thread for the next one.
        def scoped() -> Iterable[bytes]:
            with request_scope():
                return self._handle(environ, start_response)

        return contextvars.copy_context().run(scoped)

    def _handle(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            read = self._readers.get(path)
            if read is None:
                raise Refused(404, "no such alerts endpoint")
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refused(405, "only POST")
            given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
            if not hmac.compare_digest(given, self._expected):
                raise Refused(401, "missing or wrong bearer token")
            signals = read(_body(environ))
        except Refused as refused:
            log.warning(
                "alert refused",
                extra={"path": path, "status": refused.status, "reason": refused.reason},
            )
            return _answer(start_response, refused.status, {"ok": False, "error": refused.reason})
        try:
            outcomes = [(signal, self.alerts.receive(signal)) for signal in signals]
        except Exception as exc:
            # The database is down or busy: Alertmanager retries a 5xx; say so in one line.
            log.error("alert not stored", extra={"path": path, "error": type(exc).__name__})
            return _answer(start_response, 503, {"ok": False, "error": "not stored, retry"})
        if self.deliveries is not None:
            for _, outcome in outcomes:
                self.deliveries.soon(outcome.case_id)
        results = [
            {"system": s.system_id, "status": s.status, "result": o.result, "case": o.case_ref}
            for s, o in outcomes
        ]
        log.info(
            "alerts received",
            extra={"path": path, "results": ",".join(str(r["result"]) for r in results)},
        )
        return _answer(start_response, 200, {"ok": True, "results": results})

    def close(self) -> None:
        if self.deliveries is not None:
            self.deliveries.close()


def alerts_app(
    alerts: Alerts, token: str, deliver: Callable[..., int] | None = None
) -> AlertsEndpoint:
    """``POST /alerts/alertmanager`` and ``POST /alerts/generic``; ``deliver`` (the outbox's
    ``deliver_due``) sends what they queued right away instead of at the next sweep."""
    return AlertsEndpoint(alerts, token, deliver)


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
