"""The one listener pipeline: the edge work every listener needs, done once.

A listener acks, reads what it needs through ``Incoming`` (typed models, never raw dicts),
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
import json
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from slack_bolt import App, Args, BoltRequest, BoltResponse
from slack_sdk.webhook import WebhookClient

from bot.errors import UserError
from bot.forms import FieldErrors, parse_form
from bot.messages import t
from bot.request_context import current_case
from bot.services import Services
from bot.views import ids

log = logging.getLogger("ncbot.pipeline")
M = TypeVar("M", bound=BaseModel)
MALFORMED = "common.malformed"
# Ids and versions we hand out: far below PostgreSQL's integer (2**31 - 1), so a number that
# would overflow the column is refused here, not by the database.
NUMBER_MAX = 999_999_999

Number = Annotated[int, Field(ge=1, le=NUMBER_MAX)]
Version = Annotated[int, Field(ge=0, le=NUMBER_MAX)]


class Malformed(UserError):
    """A payload that cannot be read as we built it. ``part`` names where (for the log line,
    which never quotes the content)."""

    def __init__(self, part: str) -> None:
        super().__init__(MALFORMED)
        self.part = part


class FormRefused(UserError):
    """A submitted modal whose values do not validate: the first error of each block."""

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__("form.error.invalid")
        self.errors = errors


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CaseRef(_Payload):
    """A step button (``"number:version"``) or a step modal's metadata: the case as it was
    shown, so a stale click is refused rather than applied to a newer version."""

    case: Number
    version: Version
    measure: str | None = None


class CaseNumber(_Payload):
    """A button or modal that names a case (``NC-n``) without a version."""

    case: Number
    duty: str = ""


class RowId(_Payload):
    """A button that names a row (a partner notice) by its id."""

    id: Number

    @classmethod
    def read(cls, value: object, part: str) -> int:
        """A row id chosen in a modal (an option's value)."""
        return _validate(cls, {"id": value}, part).id


class ReportOrigin(_Payload):
    """Where ``/nonconformity report`` was typed: the report modal's metadata."""

    response_url: str | None = None
    channel: str | None = None


_STATE = TypeAdapter(dict[str, dict[str, dict[str, Any]]])
_OPTION = TypeAdapter(dict[str, Any])
_OPTIONS = TypeAdapter(list[dict[str, Any]])
_USERS = TypeAdapter(list[str])


class Incoming:
    """What one request carries, read on demand: each accessor returns a typed value or
    raises ``Malformed``. Built by the pipeline's middleware; listeners take it as
    ``incoming``."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body

    @property
    def user_id(self) -> str:
        return str(self._user().get("id") or "")

    @property
    def team_id(self) -> str | None:
        team = self._user().get("team_id")
        return str(team) if team else None

    @property
    def workspace_id(self) -> str:
        """The workspace the request came through (``team.id``); empty for org-wide installs."""
        team = self.body.get("team")
        return str(team.get("id") or "") if isinstance(team, dict) else ""

    def _user(self) -> dict[str, Any]:
        user = self.body.get("user")
        if not isinstance(user, dict):
            raise Malformed("user")
        return user

    def button(self, model: type[M]) -> M:
        """The clicked button's value: ``"n:v"`` for a ``CaseRef``, ``"n"`` otherwise."""
        actions = self.body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else None
        value = action.get("value") if isinstance(action, dict) else None
        if not isinstance(value, str):
            raise Malformed("button value")
        names = _required(model)
        parts = value.split(":") if len(names) > 1 else [value]
        if len(parts) != len(names):
            raise Malformed("button value")
        return _validate(model, dict(zip(names, parts, strict=True)), "button value")

    def metadata(self, model: type[M]) -> M:
        """The submitted view's ``private_metadata``: a JSON object, or for a model of one
        field its bare value (the waiver modal holds just the case number)."""
        raw = self._view().get("private_metadata") or ""
        if not isinstance(raw, str):
            raise Malformed("private_metadata")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            raise Malformed("private_metadata") from None
        if not isinstance(data, dict):
            names = _required(model)
            if isinstance(data, (int, str)) and not isinstance(data, bool) and len(names) == 1:
                data = {names[0]: data}
            else:
                raise Malformed("private_metadata")
        return _validate(model, data, "private_metadata")

    def values(self) -> dict[str, Any]:
        """``{block_id: value}`` for every input of the submitted view; an untouched input
        reads as None."""
        try:
            state = _STATE.validate_python((self._view().get("state") or {}).get("values") or {})
        except (ValidationError, AttributeError):
            raise Malformed("state.values") from None
        values: dict[str, Any] = {}
        for block_id, actions in state.items():
            element = actions.get(ids.INPUT_ACTION) or next(iter(actions.values()), {})
            values[block_id] = _element_value(element)
        return values

    def form(
        self,
        model: type[M],
        values: Mapping[str, object] | None = None,
        field_block: Mapping[str, str] | None = None,
    ) -> M:
        """The submitted view's values (or ``values``) as a validated ``model``."""
        parsed = parse_form(model, self.values() if values is None else values, field_block)
        if isinstance(parsed, dict):
            raise FormRefused(parsed)
        return parsed

    def submission_key(self) -> str:
        """One modal submitted once: the same key however often it arrives."""
        return f"{self.workspace_id}:{self._view().get('id', '')}"

    def _view(self) -> dict[str, Any]:
        view = self.body.get("view")
        if not isinstance(view, dict):
            raise Malformed("view")
        return view


def _required(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if field.is_required()]


def _validate(model: type[M], data: dict[str, Any], part: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise Malformed(part) from None


def _element_value(element: dict[str, Any]) -> Any:
    """One input's value, by its type; a shape Slack does not send is ``Malformed``."""
    kind = element.get("type")
    try:
        if kind in ("static_select", "radio_buttons", "external_select"):
            option = element.get("selected_option")
            return _OPTION.validate_python(option).get("value") if option else None
        if kind in ("multi_static_select", "checkboxes"):
            options = _OPTIONS.validate_python(element.get("selected_options") or [])
            return [option.get("value") for option in options]
        if kind == "users_select":
            return element.get("selected_user")
        if kind == "multi_users_select":
            return _USERS.validate_python(element.get("selected_users") or [])
        if kind == "datepicker":
            return element.get("selected_date")
    except ValidationError:
        raise Malformed("state.values") from None
    return element.get("value")


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

    def wrap(self, listener: Listener) -> Listener:
        names = inspect.getfullargspec(inspect.unwrap(listener)).args  # what Bolt would pass

        def run(args: Args) -> None:
            try:
                listener(**{name: _argument(args, name) for name in names})
            except UserError as refusal:
                self.answer(refusal, args)
                return
            self.deliver()

        run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
        return run

    def answer(self, refusal: UserError, args: Args) -> None:
        """An ephemeral answer for a click or a command, inline errors for a modal; a
        ``Malformed`` payload also leaves one warning line (what part, never its content)."""
        body, lang = args.body, self.services.lang
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
