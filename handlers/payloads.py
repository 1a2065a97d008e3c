"""What a Slack request carries, read as typed models: ``Incoming`` and the payload models.

Every button value, ``private_metadata`` and modal value a listener uses is read here. What we
did not build as it arrived — a non-integer id, a list where an object belongs, a number beyond
what the database holds, JSON that does not parse — raises ``Malformed``, which the listener
pipeline (``handlers.pipeline``) answers as a refusal with one warning line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.cases.workflow import Change
from bot.errors import UserError
from bot.forms import FieldErrors, parse_form
from bot.views import ids

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


class ChangeRef(_Payload):
    """The card's **Change…** menu (``"<change>:<number>:<version>"``) or a change's modal
    metadata: which change, on the case as it was shown."""

    change: Change
    case: Number
    version: Version
    measure: str | None = None  # an amendment: the kind of the measure it amends
    shown: str = ""  # what the modal showed as it stood (``bot.cases.changes.shown``)


class CaseNumber(_Payload):
    """A button or modal that names a case (``NC-n``); a modal also carries the case version
    it was opened at (a submission after a step moved the case on is refused as stale) and,
    for an awareness correction, the date it corrects."""

    case: Number
    duty: str = ""
    version: Version | None = None
    aware_on: date | None = None
    shown: str = ""  # the digest of the authority message a duty modal showed


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


class SharedMessage(_Payload):
    """The message a message shortcut was used on, as ``message_action`` carries it."""

    ts: str
    text: str = ""
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    attachments: list[dict[str, Any]] = Field(default_factory=list)

    def words(self) -> str:
        """What the message says: its ``text``, else the text of its blocks, else of its
        attachments (a bot's alert often has only those), with Slack's escapes undone."""
        text = self.text.strip()
        if not text:
            text = "\n".join(_block_texts(self.blocks)).strip()
        if not text:
            text = "\n".join(_attachment_texts(self.attachments)).strip()
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_texts(blocks: list[Any]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            out.append(text["text"])
        for field in block.get("fields") or []:
            if isinstance(field, dict) and isinstance(field.get("text"), str):
                out.append(field["text"])
        if block.get("type") == "rich_text":
            out.append("".join(_rich_texts(block.get("elements") or [])))
        elif block.get("type") == "context":
            out.extend(_block_texts([{"text": e} for e in block.get("elements") or []]))
    return [t for t in out if t.strip()]


def _rich_texts(elements: list[Any]) -> list[str]:
    """Rich text (what people type) as plain text: sections, lists, quotes, code; mentions as
    Slack writes them in ``text``."""
    out: list[str] = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind in ("text", "link"):
            out.append(str(element.get("text") or element.get("url") or ""))
        elif kind == "user":
            out.append(f"<@{element.get('user_id', '')}>")
        elif kind == "channel":
            out.append(f"<#{element.get('channel_id', '')}>")
        elif kind == "emoji":
            out.append(f":{element.get('name', '')}:")
        elif isinstance(element.get("elements"), list):
            out.extend(_rich_texts(element["elements"]))
            if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
                out.append("\n")
    return out


def _attachment_texts(attachments: list[Any]) -> list[str]:
    out: list[str] = []
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        for key in ("pretext", "title", "text"):
            if isinstance(attachment.get(key), str):
                out.append(attachment[key])
        for field in attachment.get("fields") or []:
            if isinstance(field, dict):
                out.append(f"{field.get('title', '')}: {field.get('value', '')}".strip(": "))
        out.extend(_block_texts(attachment.get("blocks") or []))
        if not out and isinstance(attachment.get("fallback"), str):
            out.append(attachment["fallback"])
    return [t for t in out if t.strip()]


class MessageShortcut(_Payload):
    """A ``message_action`` payload: who used the shortcut on which message, where."""

    callback_id: str
    trigger_id: str
    response_url: str | None = None
    message_ts: str
    message: SharedMessage
    channel: dict[str, Any]
    team: dict[str, Any] | None = None

    @property
    def channel_id(self) -> str:
        return str(self.channel.get("id") or "")

    def composed_permalink(self) -> str:
        """The message's link as Slack writes it, for where Slack will not tell us (a private
        channel the bot is not in)."""
        domain = str((self.team or {}).get("domain") or "app")
        ts = self.message_ts.replace(".", "")
        link = f"https://{domain}.slack.com/archives/{self.channel_id}/p{ts}"
        thread = self.message.thread_ts
        if thread and thread != self.message_ts:
            link += f"?thread_ts={thread}&cid={self.channel_id}"
        return link


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
        """The acting user's home: their organisation (``E…``) on Grid, else their workspace
        (``T…``); what ``People`` tells ours from external by (``home_of``)."""
        if "user" in self.body:
            self._user()  # an interaction names its user as an object, or is malformed
        return home_of(self.body)

    @property
    def channel_id(self) -> str | None:
        """The channel a button was clicked in (None where the payload names none)."""
        channel = self.body.get("channel")
        found = channel.get("id") if isinstance(channel, dict) else None
        return str(found) if found else None

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

    def message_shortcut(self) -> MessageShortcut:
        return _validate(MessageShortcut, dict(self.body), "message_action")

    def raw_metadata(self) -> str:
        """The view's ``private_metadata`` as Slack holds it: a string, empty when unset."""
        raw = self._view().get("private_metadata") or ""
        if not isinstance(raw, str):
            raise Malformed("private_metadata")
        return raw

    def selected(self, model: type[M]) -> M:
        """The chosen option of a menu (a select in a message), ``":"``-separated like a
        button's value."""
        actions = self.body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else None
        option = action.get("selected_option") if isinstance(action, dict) else None
        value = option.get("value") if isinstance(option, dict) else None
        if not isinstance(value, str):
            raise Malformed("selected option")
        names = _required(model)
        parts = value.split(":")
        if len(parts) != len(names):
            raise Malformed("selected option")
        return _validate(model, dict(zip(names, parts, strict=True)), "selected option")

    def metadata(self, model: type[M]) -> M:
        """The submitted view's ``private_metadata``: a JSON object, or for a model of one
        field its bare value (the waiver modal holds just the case number)."""
        raw = self.raw_metadata()
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


def home_of(body: Mapping[str, Any]) -> str | None:
    """Where the person acting belongs, from any shape Slack sends: one id to compare with
    ours (``bot.ops.identity.Installation.owns``) and to record.

    - interactivity: ``user.team_id`` (on Grid Slack may give the organisation ``E…`` there);
      a user of the workspace (``team``) or organisation (``enterprise``) the request came
      through is of that organisation, so the ``E…`` is used;
    - slash commands: the form fields ``team_id`` and ``enterprise_id``;
    - events: ``event.user_team``, else the envelope's ``enterprise_id`` (or its
      ``authorizations``') and ``team_id``.

    A user of another organisation (Slack Connect) keeps their own id: never ours.
    """
    user = body.get("user")
    if isinstance(user, dict):
        home = _text(user.get("team_id"))
        team, enterprise = body.get("team"), body.get("enterprise")
        via = _text(team.get("id")) if isinstance(team, dict) else None
        org = _text(enterprise.get("id")) if isinstance(enterprise, dict) else None
        org = org or (_text(team.get("enterprise_id")) if isinstance(team, dict) else None)
        return org if org and home in (via, org) else home
    if body.get("command") is not None or body.get("user_id") is not None:
        return _text(body.get("enterprise_id")) or _text(body.get("team_id"))
    event = body.get("event")
    org = _text(body.get("enterprise_id")) or _authorized_enterprise(body)
    if isinstance(event, dict) and event.get("user_team"):
        home = _text(event.get("user_team"))
        return org if org and home in (_text(body.get("team_id")), org) else home
    return org or _text(body.get("team_id"))


def _authorized_enterprise(body: Mapping[str, Any]) -> str | None:
    """The organisation an event was delivered to (``authorizations``), when Slack says it."""
    authorizations = body.get("authorizations")
    first = authorizations[0] if isinstance(authorizations, list) and authorizations else None
    return _text(first.get("enterprise_id")) if isinstance(first, dict) else None


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


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
        if kind == "timepicker":
            return element.get("selected_time")
    except ValidationError:
        raise Malformed("state.values") from None
    return element.get("value")
