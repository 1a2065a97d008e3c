"""Slack's side of the one port: the stand-in's Web API, response URLs, uploads and files.

The stand-in normally serves these from its own HTTP server; here the same public handlers
(``handle_api``, ``handle_response_url``, …) answer through the sandbox's WSGI app, so the bot's
``SLACK_API_URL`` and every ``response_url`` point at the one public port.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from bot.app import StartResponse
from bot.devkit.standin import SlackStandIn

PREFIXES = ("/api/", "/response/", "/upload/v1/", "/files/")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}


def slack_paths(
    standin_now: Callable[[], SlackStandIn | None],
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI app for :data:`PREFIXES`, answered by whichever stand-in is current."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        standin = standin_now()
        if standin is None:
            return _send(start_response, 503, b'{"ok": false, "error": "service_unavailable"}')
        path = environ.get("PATH_INFO", "")
        raw = _read(environ)
        if path.startswith("/api/"):
            return _api(standin, environ, path[5:], raw, start_response)
        if path.startswith("/response/"):
            try:
                payload = json.loads(raw.decode("utf-8") or "{}")
            except ValueError:
                return _send(start_response, 400, b'{"ok": false, "error": "invalid_payload"}')
            status, body = standin.handle_response_url(standin.base_url + path, payload)
            return _send(start_response, status, json.dumps(body).encode())
        if path.startswith("/upload/v1/"):
            status, text = standin.handle_upload(path.rsplit("/", 1)[-1], raw)
            return _send(start_response, status, text, "text/plain; charset=utf-8")
        try:
            content = standin.file_content(path.split("/")[2])
        except (KeyError, LookupError, IndexError):
            return _send(start_response, 404, b"not found", "text/plain")
        return _send(start_response, 200, content, "application/octet-stream")

    return application


def _api(
    standin: SlackStandIn,
    environ: dict[str, Any],
    method: str,
    raw: bytes,
    start_response: StartResponse,
) -> Iterable[bytes]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    content_type = str(environ.get("CONTENT_TYPE", ""))
    headers["content-type"] = content_type
    query = str(environ.get("QUERY_STRING", ""))
    args: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    try:
        args.update(_parse_body(content_type, raw))
    except (ValueError, UnicodeDecodeError):
        return _send(start_response, 200, b'{"ok": false, "error": "invalid_json"}')
    status, out_headers, body = standin.handle_api(method, args, headers)
    return _send(start_response, status, json.dumps(body).encode(), extra=out_headers)


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        parsed = json.loads(raw.decode("utf-8"))
        return parsed if isinstance(parsed, dict) else {}
    if content_type.startswith("application/x-www-form-urlencoded") or not content_type:
        return dict(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    return {}


def _read(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _send(
    start_response: StartResponse,
    status: int,
    body: bytes,
    content_type: str = "application/json; charset=utf-8",
    extra: dict[str, str] | None = None,
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    headers += list((extra or {}).items())
    start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
    return [body]
