"""What monitoring sends, read into signals: one per AI system and alert group.

Alertmanager's webhook (version 4) carries a group of alerts; they are split by the label that
names the AI system, so one case stands for one system and group, and the alerts' fingerprints
are counted rather than split into cases. The generic JSON is one alert for any other tool.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.alerts.config import AlertsConfig
from bot.cases.domain import DESCRIPTION_MAX, TITLE_MAX, URL_MAX, Severity
from bot.messages import t

ALERTMANAGER_VERSION = "4"
EVIDENCE_ALERTS = 20  # alerts kept as evidence per event; the rest are counted
SEVERITY_RANK = {s: n for n, s in enumerate(Severity)}
Status = Literal["firing", "resolved"]


class Refused(Exception):
    """A request the endpoint answers with a 4xx: its status and a reason for the log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Signal:
    """One alert group of one AI system, as the service stores it."""

    source: str
    system_id: str
    group_key: str
    status: Status
    title: str
    description: str
    severity: Severity
    link: str | None
    fingerprints: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)


class _Lenient(BaseModel):
    # Alertmanager adds fields over time; what we do not read must not refuse a webhook.
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertmanagerAlert(_Lenient):
    status: Status
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None  # Alertmanager's field names, as it sends them
    endsAt: str | None = None
    generatorURL: str = ""
    fingerprint: str = ""


class AlertmanagerWebhook(_Lenient):
    version: str
    groupKey: str = Field(min_length=1)
    truncatedAlerts: int = 0
    status: Status
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


class GenericAlert(BaseModel):
    """``POST /alerts/generic``: ``system`` and ``title`` are required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    severity: str | None = None
    link: str | None = Field(default=None, max_length=URL_MAX)
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=500)
    status: Status = "firing"

    @field_validator("system", "title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("link")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and _web_link(value) is None:
            raise ValueError("must be an http(s) URL")
        return value


def read_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "malformed JSON") from None


def alertmanager_signals(body: bytes, config: AlertsConfig, lang: str) -> list[Signal]:
    """The webhook's alerts, one signal per AI system named in them."""
    data = read_json(body)
    if not isinstance(data, dict):
        raise Refused(400, "the body is not a JSON object")
    if data.get("version") != ALERTMANAGER_VERSION:
        raise Refused(422, "unknown payload version")
    try:
        hook = AlertmanagerWebhook.model_validate(data)
    except ValidationError as exc:
        raise Refused(422, f"not an Alertmanager webhook ({_first_error(exc)})") from None
    by_system: dict[str, list[AlertmanagerAlert]] = {}
    for alert in hook.alerts:
        system = alert.labels.get(config.system_label) or hook.commonLabels.get(
            config.system_label, ""
        )
        by_system.setdefault(system, []).append(alert)
    return [
        _alertmanager_signal(hook, system, alerts, config, lang)
        for system, alerts in sorted(by_system.items())
    ]


def _alertmanager_signal(
    hook: AlertmanagerWebhook,
    system: str,
    alerts: list[AlertmanagerAlert],
    config: AlertsConfig,
    lang: str,
) -> Signal:
    firing = [a for a in alerts if a.status == "firing"]
    shown = firing or alerts
    first = shown[0]
    name = first.labels.get("alertname") or hook.commonLabels.get("alertname") or "alert"
    title = first.annotations.get("summary") or hook.commonAnnotations.get("summary") or name
    text = first.annotations.get("description") or hook.commonAnnotations.get("description")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(first.labels.items()))
    severity = max(
        (config.severity(a.labels.get(config.severity_label)) for a in shown),
        key=SEVERITY_RANK.__getitem__,
    )
    return Signal(
        source="alertmanager",
        system_id=system,
        group_key=hook.groupKey,
        status="firing" if firing else "resolved",
        title=_cut(title, TITLE_MAX),
        description=_cut(
            t("alert.description", lang, text=text or title, labels=labels), DESCRIPTION_MAX
        ),
        severity=severity,
        link=next((link for a in shown if (link := _web_link(a.generatorURL))), None),
        fingerprints=tuple(dict.fromkeys(_fingerprint(a) for a in alerts)),
        evidence={
            "source": "alertmanager",
            "receiver": hook.receiver,
            "group_key": hook.groupKey,
            "group_labels": hook.groupLabels,
            "external_url": hook.externalURL,
            "truncated_alerts": hook.truncatedAlerts,
            "alert_count": len(alerts),
            "alerts": [
                {
                    "fingerprint": _fingerprint(a),
                    "status": a.status,
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "starts_at": a.startsAt,
                    "ends_at": a.endsAt,
                    "generator_url": a.generatorURL,
                }
                for a in alerts[:EVIDENCE_ALERTS]
            ],
        },
    )


def generic_signal(body: bytes, config: AlertsConfig) -> Signal:
    data = read_json(body)
    if not isinstance(data, dict):
        raise Refused(400, "the body is not a JSON object")
    try:
        alert = GenericAlert.model_validate(data)
    except ValidationError as exc:
        raise Refused(422, f"not a generic alert ({_first_error(exc)})") from None
    key = alert.dedupe_key or f"{alert.system}\n{alert.title}"
    return Signal(
        source="generic",
        system_id=alert.system,
        group_key=key,
        status=alert.status,
        title=alert.title,
        description=alert.description or alert.title,
        severity=config.severity(alert.severity),
        link=alert.link,
        fingerprints=(hashlib.sha256(key.encode()).hexdigest()[:16],),
        evidence={"source": "generic", **alert.model_dump(mode="json")},
    )


def _fingerprint(alert: AlertmanagerAlert) -> str:
    if alert.fingerprint:
        return alert.fingerprint
    labels = json.dumps(alert.labels, sort_keys=True)
    return hashlib.sha256(labels.encode()).hexdigest()[:16]


def _web_link(value: str) -> str | None:
    ok = value.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in value)
    return value if ok and len(value) <= URL_MAX else None


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_error(exc: ValidationError) -> str:
    """Where and what, never the value: a payload may carry anything."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"
