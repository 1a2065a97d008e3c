"""The ``alerts:`` block of the workspace file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.cases.domain import Severity


class AlertsConfig(BaseModel):
    """How an alert's labels map onto a case. ``default_severity`` is ``high``: an unexamined
    alert about a high-risk system should escalate rather than wait."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_label: str = Field(default="ai_system", min_length=1, max_length=100)
    severity_label: str = Field(default="severity", min_length=1, max_length=100)
    severity_map: dict[str, Severity] = Field(default_factory=dict)
    default_severity: Severity = Severity.HIGH

    def severity(self, value: object) -> Severity:
        """A label value as a severity: mapped, taken as is, or the default."""
        if isinstance(value, str):
            if value in self.severity_map:
                return self.severity_map[value]
            if value.lower() in {s.value for s in Severity}:
                return Severity(value.lower())
        return self.default_severity
