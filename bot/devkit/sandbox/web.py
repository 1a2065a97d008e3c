"""The one WSGI app on the sandbox's port.

``/slack/events`` and ``/healthz`` go to the bot exactly as in production; ``/api/``,
``/response/``, ``/upload/v1/`` and ``/files/`` to the Slack stand-in; ``/`` and ``/sandbox/…``
to the page and its small JSON API. The page never touches the bot: what a visitor does becomes
the request Slack would send, signed, through the :class:`SlackDriver`.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from bot.app import EVENTS_PATH, StartResponse
from bot.devkit.sandbox.page import HOME, SLACKBOT, Answer, PageView, now_ts, people
from bot.devkit.sandbox.runtime import Generation, Sandbox
from bot.devkit.sandbox.slack_paths import PREFIXES, slack_paths
from bot.devkit.standin.driver import DriverResponse
from bot.notices.http import PREFIX as RECEIPTS

log = logging.getLogger("ncbot.sandbox")
JSON = dict[str, Any]
Handler = Callable[[Generation, JSON], JSON]
_STATIC = resources.files("bot.devkit.sandbox").joinpath("static")


class SandboxApp:
    """WSGI callable; holds the answers Slack shows from slash-command responses."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._slack = slack_paths(lambda: sandbox.standin)
        self._answers: dict[int, list[Answer]] = {}
        self._lock = threading.Lock()
        self._actions: dict[str, Handler] = {
            "command": self._command,
            "click": self._click,
            "submit": self._submit,
            "close": self._close,
            "home": self._home,
            "shortcut": self._shortcut,
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if path in (EVENTS_PATH, "/healthz") or path.startswith(RECEIPTS):
            current = self.sandbox.current
            if current is None:
                return _json(start_response, {"ok": False, "error": "starting"}, 503)
            return current.bot(environ, start_response)
        if path.startswith(PREFIXES):
            return self._slack(environ, start_response)
        if path in ("/", "/sandbox", "/sandbox/"):
            return _static(start_response, "index.html")
        if path.startswith("/sandbox/static/"):
            return _static(start_response, path.removeprefix("/sandbox/static/"))
        if path.startswith("/sandbox/api/"):
            return self._api(path.removeprefix("/sandbox/api/"), method, environ, start_response)
        return _text(start_response, "404 Not Found", "not found\n")

    # ------------------------------------------------------------ page API

    def _api(
        self, name: str, method: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if name == "reset" and method == "POST":
            generation = self.sandbox.reset()
            return _json(start_response, {"ok": True, "generation": generation.number})
        current = self.sandbox.current
        if current is None:
            return _json(start_response, {"ok": False, "error": "the sandbox is starting"}, 503)
        if name == "state" and method == "GET":
            query = _query(environ)
            return _json(start_response, self._state(current, query))
        handler = self._actions.get(name)
        if handler is None or method != "POST":
            return _text(start_response, "404 Not Found", "not found\n")
        try:
            body = json.loads(_read(environ) or b"{}")
            if not isinstance(body, dict) or not isinstance(body.get("user"), str):
                raise ValueError("a JSON object with a user")
            return _json(start_response, handler(current, body))
        except (ValueError, KeyError, LookupError) as exc:
            return _json(start_response, {"ok": False, "error": str(exc)}, 400)

    def _state(self, current: Generation, query: dict[str, str]) -> JSON:
        everyone = people(current.standin, self.sandbox.workspace)
        user = query.get("user") or (everyone[0].id if everyone else "")
        mails = current.mail.mails() if current.mail is not None else []
        page = PageView(
            current.standin, self.sandbox.workspace, self._answers_of(current), user, mails
        )
        tab = query.get("tab", "")
        state = page.state(query.get("channel") or "", query.get("thread") or None, tab)
        state["generation"] = current.number
        state["people"] = [{"id": p.id, "name": p.name, "role": p.role} for p in everyone]
        return state

    def _answers_of(self, current: Generation) -> list[Answer]:
        with self._lock:
            return list(self._answers.get(current.number, []))

    def _answer(self, current: Generation, answer: Answer) -> None:
        with self._lock:
            self._answers.setdefault(current.number, []).append(answer)

    def _command(self, current: Generation, body: JSON) -> JSON:
        user, channel, typed = body["user"], str(body["channel"]), str(body.get("text", ""))
        typed = typed.strip()
        if not typed:
            return {"ok": True}
        if channel == HOME:
            raise ValueError("the Home tab has no composer")
        if not typed.startswith("/"):
            # A person's message: Slack stores it with &, < and > escaped.
            escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            current.standin.add_message(channel, escaped, user=user)
            return {"ok": True}
        command, _, rest = typed.partition(" ")
        if command != "/nonconformity":
            text = f"`{command}` is not a valid command. In the sandbox only `/nonconformity` is."
            self._answer(current, Answer(channel, user, now_ts(), text, author=SLACKBOT))
            return {"ok": True}
        response = current.driver.command(command, rest.strip(), user=user, channel=channel)
        self._show_command_answer(current, channel, user, command, response)
        return {"ok": response.status == 200, "status": response.status}

    def _show_command_answer(
        self,
        current: Generation,
        channel: str,
        user: str,
        command: str,
        response: DriverResponse,
    ) -> None:
        """Slack shows a command's HTTP answer to the user (in the channel when asked to)."""
        if response.status != 200:
            text = f'{command} failed with the error "http_{response.status}"'
            self._answer(current, Answer(channel, user, now_ts(), text, author=SLACKBOT))
            return
        try:
            answer = response.json()
        except ValueError:
            answer = {"text": response.text}
        if not answer:
            return
        if not isinstance(answer, dict):
            answer = {"text": str(answer)}
        text, blocks = str(answer.get("text") or ""), answer.get("blocks")
        if answer.get("response_type") == "in_channel":
            current.standin.add_message(channel, text, user=current.standin.bot_user_id)
            return
        self._answer(current, Answer(channel, user, now_ts(), text, blocks))

    def _click(self, current: Generation, body: JSON) -> JSON:
        user, action_id = body["user"], str(body["action_id"])
        value = body.get("value")
        value = None if value in (None, "") else value
        if body.get("view_id"):
            response = current.driver.click_in_view(
                str(body["view_id"]),
                action_id,
                user=user,
                value=value,
                values=_values(body.get("values")),
            )
        else:
            channel, ts = str(body["channel"]), str(body["ts"])
            response = current.driver.click(channel, ts, action_id, user=user, value=value)
        return {"ok": response.status == 200, "status": response.status}

    def _submit(self, current: Generation, body: JSON) -> JSON:
        user, view_id = body["user"], str(body["view_id"])
        values = _values(body.get("values"))
        response = current.driver.submit(view_id, user=user, values=values)
        record = current.driver.submissions[-1]
        answer = _maybe_json(response)
        errors = answer.get("errors") if record.response_action == "errors" else None
        problems = [] if record.response_action == "errors" else record.errors
        return {
            "ok": response.status == 200 and not problems,
            "status": response.status,
            "action": record.response_action,
            "errors": errors if isinstance(errors, dict) else {},
            "problems": problems,
        }

    def _close(self, current: Generation, body: JSON) -> JSON:
        user, view_id = body["user"], str(body["view_id"])
        stored = current.standin.view(view_id)
        if stored.view.get("notify_on_close"):
            current.driver.close(view_id, user=user)
        else:
            current.standin.close_views(user, view_id)
        return {"ok": True}

    def _shortcut(self, current: Generation, body: JSON) -> JSON:
        """A message shortcut from a message's "More actions" menu."""
        user, channel, ts = body["user"], str(body["channel"]), str(body["ts"])
        callback_id = str(body.get("callback_id") or "")
        response = current.driver.message_shortcut(channel, ts, callback_id, user=user)
        return {"ok": response.status == 200, "status": response.status}

    def _home(self, current: Generation, body: JSON) -> JSON:
        response = current.driver.app_home_opened(body["user"])
        return {"ok": response.status == 200, "status": response.status}


def _values(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("values must be an object keyed by block_id")
    return {str(k): (None if v == "" else v) for k, v in raw.items()}


def _maybe_json(response: DriverResponse) -> JSON:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _query(environ: dict[str, Any]) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))


def _read(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data


def _json(start_response: StartResponse, body: JSON, status: int = 200) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [data]


def _text(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    data = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]


def _static(start_response: StartResponse, name: str) -> list[bytes]:
    if "/" in name or name.startswith(".") or not name:
        return _text(start_response, "404 Not Found", "not found\n")
    resource = _STATIC.joinpath(name)
    if not resource.is_file():
        return _text(start_response, "404 Not Found", "not found\n")
    data = resource.read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind == "application/javascript":
        kind += "; charset=utf-8"
    start_response(
        "200 OK",
        [("Content-Type", kind), ("Content-Length", str(len(data))), ("Cache-Control", "no-cache")],
    )
    return [data]
