"""The workspace file (``NCBOT_CONFIG``): language, triage channel, roles, escalation, catalogue.

Validated with pydantic; an invalid file becomes one line naming the file, the key and the line,
because the person fixing it is looking at the YAML, not at a Python traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.alerts.config import AlertsConfig
from bot.cases.domain import MEMBER_STATES, Severity
from bot.cases.state import ProviderRef
from bot.errors import ConfigError
from bot.timers.durations import parse_duration

USER_ID = r"^[UW][A-Z0-9]{2,}$"
CHANNEL_ID = r"^[CGD][A-Z0-9]{2,}$"
USERGROUP_ID = r"^S[A-Z0-9]{2,}$"
SLUG = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL = rf"^[^@\s<>,;\"]{{1,64}}@{LABEL}(?:\.{LABEL})+$"
LANGUAGE = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,4})?$"  # "de", "pt-BR", "zh-Hant": 8 at most

UserId = Annotated[str, Field(pattern=USER_ID)]
EmailAddress = Annotated[str, Field(pattern=EMAIL, max_length=254)]
ChannelId = Annotated[str, Field(pattern=CHANNEL_ID)]


def _duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class PartnerRole(StrEnum):
    DISTRIBUTOR = "distributor"
    DEPLOYER = "deployer"
    IMPORTER = "importer"
    AUTHORISED_REPRESENTATIVE = "authorised_representative"
    MARKET_SURVEILLANCE_AUTHORITY = "market_surveillance_authority"
    NOTIFIED_BODY = "notified_body"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Repeat(_Strict):
    every: Duration
    max: int = Field(default=5, ge=1, le=100)


SYMBOLIC_TARGETS = frozenset(
    {"triage", "approvers", "admins", "owner", "measure_owner", "reporter", "partner_channel"}
)
"""Targets a timer resolves per case: role members, the case owner, the measure owner..."""


class Level(_Strict):
    """Due ``after`` the timer's anchor, or ``before`` it (deadlines: remind 5 days before)."""

    after: Duration = timedelta(0)
    before: Duration | None = None
    notify: list[str] = Field(min_length=1)
    repeat: Repeat | None = None

    @model_validator(mode="after")
    def _one_anchor_offset(self) -> Level:
        if self.before is not None and self.after:
            raise ValueError("give either 'after' or 'before', not both")
        return self

    @property
    def offset(self) -> timedelta:
        return self.after - (self.before or timedelta(0))

    @field_validator("notify")
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        for target in targets:
            if target in SYMBOLIC_TARGETS:
                continue
            if not any(re.match(p, target) for p in (USER_ID, CHANNEL_ID, USERGROUP_ID)):
                words = ", ".join(sorted(SYMBOLIC_TARGETS))
                raise ValueError(
                    f"'{target}' is not a user (U… or W…), user group (S…) or channel (C…) ID, "
                    f"nor one of {words}"
                )
        return targets


class QuietHours(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    days: str = "mon-fri"
    start: str = Field(alias="from", pattern=r"^\d{2}:\d{2}$")
    end: str = Field(alias="to", pattern=r"^\d{2}:\d{2}$")


class Policy(_Strict):
    levels: list[Level] = Field(min_length=1)
    quiet_hours: QuietHours | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        # `default: [{after: 30m, ...}]` is the short form of `default: {levels: [...]}`.
        return {"levels": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _ordered(self) -> Policy:
        offsets = [level.offset for level in self.levels]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            raise ValueError("levels must be in order: strictly increasing 'after' (or 'before')")
        if any(level.repeat for level in self.levels[:-1]):
            raise ValueError("only the last level may repeat")
        return self


def _timer(*levels: dict[str, Any]) -> Policy:
    return Policy.model_validate({"levels": list(levels)})


DEFAULT_TIMERS: dict[str, Policy] = {
    # A proposed measure nobody approves: remind the approvers daily, three times at most.
    "approval_pending": _timer(
        {"after": "24h", "notify": ["approvers"], "repeat": {"every": "24h", "max": 3}}
    ),
    # A measure past its target date: the owner first, a day later the approvers.
    "measure_overdue": _timer(
        {"after": "0s", "notify": ["measure_owner"]},
        {"after": "24h", "notify": ["approvers"], "repeat": {"every": "24h", "max": 3}},
    ),
    # A partner notice without receipt: one reminder in the partner's channel, the owner told.
    "notice_receipt": _timer({"after": "24h", "notify": ["partner_channel", "owner"]}),
    # Art. 73: the serious-incident report deadline. Remind before it, escalate when it passes.
    "art73_report": _timer(
        {"before": "5d", "notify": ["owner", "approvers"]},
        {"before": "1d", "notify": ["owner", "approvers"]},
        {
            "after": "0s",
            "notify": ["owner", "approvers", "admins"],
            "repeat": {"every": "1d", "max": 5},
        },
    ),
}


TIMER_ALIASES: dict[str, str] = {
    "approval": "approval_pending",
    "pending_approval": "approval_pending",
    "awaiting_approval": "approval_pending",
    "overdue": "measure_overdue",
    "overdue_measure": "measure_overdue",
    "target_date": "measure_overdue",
    "receipt": "notice_receipt",
    "partner_receipt": "notice_receipt",
    "notices": "notice_receipt",
    "art73": "art73_report",
    "art73_deadline": "art73_report",
    "deadline": "art73_report",
}
"""Other names people give the timers; each maps to one of ``DEFAULT_TIMERS``."""


class Escalation(_Strict):
    sweep_interval: Duration = timedelta(seconds=60)
    policies: dict[str, Policy] = Field(default_factory=dict)
    timers: dict[str, Policy] = Field(default_factory=dict)

    @field_validator("timers", mode="before")
    @classmethod
    def _timer_shorthands(cls, value: Any) -> Any:
        """Accept what people write: a timer's other names, a single level (``{after: 12h}``,
        notifying whom the default notifies) or just a duration (``approval_pending: 12h``)."""
        if not isinstance(value, dict):
            return value
        timers: dict[str, Any] = {}
        for name, spec in value.items():
            canonical = TIMER_ALIASES.get(str(name), str(name))
            default = DEFAULT_TIMERS.get(canonical)
            if default is None:
                raise ValueError(f"unknown timer '{name}' (use {', '.join(DEFAULT_TIMERS)})")
            if isinstance(spec, str):
                spec = {"after": spec}
            if isinstance(spec, dict) and "levels" not in spec:
                spec = [{"notify": list(default.levels[0].notify), **spec}]
            timers[canonical] = spec
        return timers

    @field_validator("timers")
    @classmethod
    def _timer_names(cls, timers: dict[str, Policy]) -> dict[str, Policy]:
        for name in timers:
            if name not in DEFAULT_TIMERS:
                raise ValueError(f"unknown timer '{name}' (use {', '.join(DEFAULT_TIMERS)})")
        return {**DEFAULT_TIMERS, **timers}

    def timer(self, name: str) -> Policy:
        return self.timers.get(name) or DEFAULT_TIMERS[name]

    @field_validator("policies")
    @classmethod
    def _policy_names(cls, policies: dict[str, Policy]) -> dict[str, Policy]:
        allowed = {"default", *(s.value for s in Severity)}
        for name in policies:
            if name not in allowed:
                raise ValueError(
                    f"unknown policy '{name}' (use default, low, medium, high, critical)"
                )
        return policies

    def policy_for(self, severity: Severity) -> Policy | None:
        return self.policies.get(severity.value) or self.policies.get("default")


class Roles(_Strict):
    triage: list[UserId] = Field(default_factory=list)
    approvers: list[UserId] = Field(default_factory=list)
    admins: list[UserId] = Field(default_factory=list)


class PartnerSpec(_Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: PartnerRole
    channel: ChannelId | None = None
    contacts: list[UserId] = Field(default_factory=list)
    # Where the partner reads notices outside Slack (issue 17): one e-mail per address, each
    # with its own receipt link. Instead of, or as well as, ``channel``.
    email: list[EmailAddress] = Field(default_factory=list)
    # Any language code: texts the catalogue lacks are shown in English.
    language: Annotated[str, Field(pattern=LANGUAGE)] | None = None
    # The partner's own Slack workspace: when set, only its users (or the listed contacts) can
    # acknowledge receipt, even in a channel shared with more organisations.
    team: Annotated[str, Field(pattern=r"^[TE][A-Z0-9]{2,}$")] | None = None


class SystemSpec(_Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    version: Annotated[str, Field(min_length=1, max_length=40)]
    partners: list[str] = Field(default_factory=list)
    notified_body: str | None = None
    market_surveillance_authority: str | None = None
    # Art. 49 and 71: the system's registration number in the EU database for high-risk AI
    # systems, and the notified body's certificate (Art. 44); both printed in the dossier and
    # the Art. 73 report.
    eu_database_id: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    notified_body_certificate: Annotated[str, Field(min_length=1, max_length=120)] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value


class Catalogue(_Strict):
    partners: list[PartnerSpec] = Field(default_factory=list)
    systems: list[SystemSpec] = Field(default_factory=list)
    # The authority for systems that name none of their own.
    market_surveillance_authority: str | None = None
    # Art. 73(1): a serious incident is reported to the market surveillance authority of each
    # Member State where it occurred; one per Member State (ISO code), else the system's.
    market_surveillance_authorities: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        partner_ids = [p.id for p in self.partners]
        if len(set(partner_ids)) != len(partner_ids):
            raise ValueError("partner ids must be unique")
        system_ids = [s.id for s in self.systems]
        if len(set(system_ids)) != len(system_ids):
            raise ValueError("system ids must be unique")
        known = set(partner_ids)
        for system in self.systems:
            for ref in [
                *system.partners,
                system.notified_body,
                system.market_surveillance_authority,
            ]:
                if ref is not None and ref not in known:
                    raise ValueError(f"system '{system.id}' names unknown partner '{ref}'")
        roles = {p.id: p.role for p in self.partners}
        expected = (
            [(s.notified_body, PartnerRole.NOTIFIED_BODY, s.id) for s in self.systems]
            + [
                (s.market_surveillance_authority, PartnerRole.MARKET_SURVEILLANCE_AUTHORITY, s.id)
                for s in self.systems
            ]
            + [(self.market_surveillance_authority, PartnerRole.MARKET_SURVEILLANCE_AUTHORITY, "")]
            + [
                (ref, PartnerRole.MARKET_SURVEILLANCE_AUTHORITY, "")
                for ref in self.market_surveillance_authorities.values()
            ]
        )
        unknown = sorted(set(self.market_surveillance_authorities) - set(MEMBER_STATES))
        if unknown:
            raise ValueError(
                f"market_surveillance_authorities: {', '.join(unknown)} is not a Member State "
                f"code (one of {' '.join(MEMBER_STATES)}; Greece is GR)"
            )
        for ref, role, owner in expected:
            if ref is None:
                continue
            if ref not in roles:
                raise ValueError(f"unknown partner '{ref}'")
            if roles[ref] != role:
                where = f"system '{owner}'" if owner else "the catalogue"
                raise ValueError(
                    f"{where} names '{ref}' as {role.value}, but its role is {roles[ref].value}"
                )
        return self

    def emails_partners(self) -> bool:
        """Whether some partner is told by e-mail: then ``SMTP_URL``, ``MAIL_FROM`` and
        ``RECEIPT_KEY`` are required."""
        return any(partner.email for partner in self.partners)

    def authority_for(self, system_id: str) -> str | None:
        system = self.system(system_id)
        own = system.market_surveillance_authority if system else None
        return own or self.market_surveillance_authority

    def incident_authorities(
        self, system_id: str, member_states: Sequence[str]
    ) -> list[tuple[str, str | None]]:
        """Whom a serious incident is reported to: per Member State where it occurred, that
        State's authority if the catalogue names one, else the system's."""
        fallback = self.authority_for(system_id)
        return [(m, self.market_surveillance_authorities.get(m) or fallback) for m in member_states]

    def notified_body_for(self, system_id: str) -> str | None:
        system = self.system(system_id)
        return system.notified_body if system else None

    def system(self, system_id: str) -> SystemSpec | None:
        return next((s for s in self.systems if s.id == system_id), None)


class Provider(_Strict):
    """Who tells partners and authorities: named on every notice, draft and dossier cover, so
    that people outside know which company is speaking and how to reach it."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    address: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    # An e-mail address or a phone number people outside the organisation can use.
    contact: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    def fixed(self) -> ProviderRef | None:
        """The provider as a case keeps it (None when the file names nothing)."""
        named = self.model_dump(exclude_none=True)
        return ProviderRef.model_validate(named) if named else None


class Workspace(_Strict):
    language: Literal["en", "nl"] = "en"
    triage_channel: ChannelId
    # Where signed audit checkpoints are posted (issue 15); none when left out.
    audit_channel: ChannelId | None = None
    timezone: str = "UTC"
    roles: Roles = Field(default_factory=Roles)
    escalation: Escalation = Field(default_factory=Escalation)
    catalogue: Catalogue = Field(default_factory=Catalogue)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    provider: Provider = Field(default_factory=Provider)

    def roles_of(self, user_id: str) -> frozenset[str]:
        return frozenset(
            name
            for name in ("triage", "approvers", "admins")
            if user_id in getattr(self.roles, name)
        )

    def is_member(self, user_id: str) -> bool:
        return bool(self.roles_of(user_id))


def sample_path() -> Path:
    """The sample workspace shipped with the package (used by demo and sandbox)."""
    return Path(str(resources.files("bot").joinpath("resources/sample-workspace.yml")))


def load_workspace(path: Path) -> Workspace:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the workspace file ({exc.strerror})") from None
    return parse_workspace(text, str(path))


def load_catalogue(path: Path) -> Catalogue:
    """A catalogue from a workspace file, or from a file holding only ``partners``/``systems``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the catalogue file ({exc.strerror})") from None
    data = _yaml_mapping(text, str(path))
    if "catalogue" in data:
        return parse_workspace(text, str(path)).catalogue
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, yaml.compose(text, Loader=yaml.SafeLoader), str(path)) from None


def parse_workspace(text: str, name: str) -> Workspace:
    data = _yaml_mapping(text, name)
    try:
        return Workspace.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, yaml.compose(text, Loader=yaml.SafeLoader), name) from None


def _yaml_mapping(text: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{name}: line {line}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: line 1: the file must be a mapping")
    return data


def _config_error(exc: ValidationError, root: yaml.Node | None, name: str) -> ConfigError:
    """One line: the file, the line, the key as written, and what is wrong with it."""
    error = exc.errors()[0]
    loc = [part for part in error["loc"] if not str(part).startswith(("function-", "tagged"))]
    key, line = _locate(root, loc)
    message = error["msg"].removeprefix("Value error, ")
    return ConfigError(f"{name}: line {line}: {key}: {message}")


def _locate(node: yaml.Node | None, loc: list[Any]) -> tuple[str, int]:
    """The key path as written in the file and the line of its deepest part that exists.

    Model-only parts (a policy written as a bare list has no ``levels`` key) are skipped, so the
    path names what the person sees in the YAML.
    """
    line = 1 if node is None else node.start_mark.line + 1
    written: list[str] = []
    for index, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child, line = value_node, key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode):
            if not isinstance(part, int):
                continue  # e.g. the implicit "levels" of a bare-list policy
            if part < len(node.value):
                child = node.value[part]
                line = child.start_mark.line + 1
        if child is None:
            written.extend(str(p) for p in loc[index:])
            break
        written.append(str(part))
        node = child
    return ".".join(written) or "(top level)", line
