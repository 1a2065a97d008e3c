"""The one listener pipeline: the edge work every listener needs, done once.

A listener acks, reads what it needs through ``Incoming`` (``handlers.payloads``: typed models),
calls a service and renders. What can go wrong on the way is raised, not handled, in the
listener; ``Edge``, which every listener runs in, turns it into an answer:

- a refusal (``UserError``) becomes an ephemeral answer (buttons, commands) or an inline error
  on the right block of the modal (view submissions);
- a form that does not validate (``FormRefused``) becomes inline errors, one per block;
- a payload we did not build as it arrived (``Malformed``: a non-integer id, a list where an
  object belongs, a number beyond what the database holds, JSON that does not parse) becomes a
  clear refusal and one warning line — Slack would never send it as we built it, so it was
  tampered with or garbled, and it must not cost a 500 and a traceback;
- anything else is a bug, for Bolt's error handler (``install``): logged with its traceback,
  and the user is told nothing was changed.

Delivery starts once the listener has returned, so once its service's transaction has
committed: ``Edge.deliver`` sends what is due for the case the request was about (the services
bind it while loading the case); a refused request delivers nothing.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App, Args, BoltRequest, BoltResponse
from slack_sdk.webhook import WebhookClient

from bot.errors import UserError
from bot.messages import t
from bot.ops.request_context import current_case
from bot.services import Services
from handlers.payloads import FormRefused, Incoming, Malformed

log = logging.getLogger("ncbot.pipeline")


# --- the pipeline: middleware, the wrapper every listener runs in, the bug handler ---------


Listener = Callable[..., Any]


class Edge:
    """What runs around every listener, in the listener's thread.

    A refusal is answered here rather than by Bolt's error handler, because Bolt cannot
    answer one raised after the ack: its thread runner then sets the ack it already holds back
    to ``None`` (``slack_bolt/listener/thread_runner.py``), and the click gets a 404 "unhandled
    request" after three seconds instead of its 200. ``bot.app.ObservedApp`` wraps every
    listener it registers with ``Edge.wrap``; ``app.error`` keeps the bugs.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._running = 0  # listeners at work, what they do after the ack included
        self._lock = threading.Lock()

    def idle(self) -> bool:
        """No listener is at work. A listener starts before it acks, so once Slack has its
        answer the work that follows is counted here (the demo and tests wait for this)."""
        with self._lock:
            return self._running == 0

    def wrap(self, listener: Listener) -> Listener:
        names = inspect.getfullargspec(inspect.unwrap(listener)).args  # what Bolt would pass

        def run(args: Args) -> None:
            with self._lock:
                self._running += 1
            try:
                self._run(listener, names, args)
            finally:
                with self._lock:
                    self._running -= 1

        run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
        return run

    def _run(self, listener: Listener, names: list[str], args: Args) -> None:
        try:
            listener(**{name: _argument(args, name) for name in names})
        except UserError as refusal:
            self.answer(refusal, args)
            return
        self.deliver()
        self.remember(args.body)

    def answer(self, refusal: UserError, args: Args) -> None:
        """An ephemeral answer for a click or a command, inline errors for a modal; a
        ``Malformed`` payload also leaves one warning line (what part, never its content)."""
        body, lang = args.body, refusal.lang or self.services.lang
        if isinstance(refusal, Malformed):
            log.warning(
                "malformed payload refused",
                extra={"part": refusal.part, "type": _kind(body), "team": _team(body)},
            )
        acked = args.ack.response is not None
        if body.get("type") == "view_submission":
            if not acked:
                args.ack(response_action="errors", errors=_inline(refusal, body, lang))
            return
        text = t(refusal.key, lang, **refusal.params)
        if body.get("command") and not acked:
            args.ack(text=text)
            return
        if not acked:
            args.ack()
        if body.get("response_url"):
            args.respond(text=text, response_type="ephemeral", replace_original=False)

    def deliver(self) -> None:
        """Once the listener has returned, its service's transaction has committed: what it
        queued for its case (the services bind it while loading the case) goes out now rather
        than at the next sweep."""
        case_id = current_case()
        if case_id is None:
            return
        try:
            self.services.outbox.deliver_due(case_id=case_id)
        except Exception:  # the rows stay due: the next sweep sends them
            log.exception("delivery after the request failed")

    def remember(self, body: dict[str, Any]) -> None:
        """Who took part in the case this request changed, by name as Slack shows them now:
        looked up once per person (``bot.dossier.people``), after the commit and the delivery,
        so the click was answered first and no lock is held."""
        if current_case() is None:
            return
        try:
            self.services.names.remember(_people(body))
        except Exception:  # a dossier without a name is better than a failed click
            log.exception("could not remember who acted")


def _people(body: dict[str, Any]) -> set[str]:
    """The person acting and anyone they picked in a modal (a measure's owner)."""
    user = body.get("user")
    found = {str(user["id"])} if isinstance(user, dict) and user.get("id") else set()
    if body.get("user_id"):
        found.add(str(body["user_id"]))
    view = body.get("view")
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    for block in values.values() if isinstance(values, dict) else ():
        for element in block.values() if isinstance(block, dict) else ():
            if not isinstance(element, dict):
                continue
            picked = element.get("selected_users") or [element.get("selected_user")]
            found |= {str(u) for u in picked if isinstance(u, str) and u}
    return found


def _argument(args: Args, name: str) -> Any:
    """One of Bolt's listener arguments, or one the middleware put in the context."""
    if name == "args":
        return args
    if name in args.context:
        return args.context[name]
    return getattr(args, name, None)


def install(app: App, services: Services) -> Edge:
    """Register the middleware that hands listeners ``incoming`` and the handler for bugs;
    return the ``Edge`` every listener is to run in."""
    lang = services.lang

    @app.middleware
    def read_incoming(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        req.context["incoming"] = Incoming(req.body)
        return next()

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        """A bug must not look like silence to the person who clicked: log it with the
        request's ids (never its free text), and tell them nothing was changed."""
        log.error(
            "listener failed", exc_info=error, extra={"type": _kind(body), "team": _team(body)}
        )
        response_url = body.get("response_url")
        if response_url:
            try:
                WebhookClient(response_url, timeout=5).send(
                    text=t("common.error", lang), response_type="ephemeral", replace_original=False
                )
            except Exception:
                log.warning("could not tell the user about the failure")

    return Edge(services)


def _inline(error: UserError, body: dict[str, Any], lang: str) -> dict[str, str]:
    """The modal's errors: each block's own for a form, else the refusal on the block it names,
    or on the modal's first input when it names none (Slack needs a block that exists)."""
    if isinstance(error, FormRefused):
        return {block: t(key, lang, **params) for block, (key, params) in error.errors.items()}
    blocks = _input_blocks(body)
    block = error.field if error.field in blocks or not blocks else blocks[0]
    return {block or "case": t(error.key, lang, **error.params)}


def _input_blocks(body: dict[str, Any]) -> list[str]:
    view = body.get("view")
    blocks = view.get("blocks") if isinstance(view, dict) else None
    if not isinstance(blocks, list):
        return []
    return [
        str(b["block_id"])
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "input" and b.get("block_id")
    ]


def _kind(body: dict[str, Any]) -> str | None:
    kind = body.get("type") or body.get("command")
    return str(kind) if kind else None


def _team(body: dict[str, Any]) -> str | None:
    team = body.get("team")
    return str(team.get("id")) if isinstance(team, dict) else body.get("team_id")
