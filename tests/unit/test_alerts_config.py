"""The workspace file's ``alerts:`` block (issue 24): exactly its four keys, with defaults."""

from __future__ import annotations

import pytest

from bot.cases.domain import Severity
from bot.errors import ConfigError
from bot.ops.workspace import parse_workspace
from tests.unit.test_workspace_file import ISSUE_SHAPE

ALERTS = """\
alerts:
  system_label: model
  severity_label: level
  severity_map: {warning: medium, critical: high}
  default_severity: low
"""


def test_the_alerts_block_from_the_issue_loads() -> None:
    alerts = parse_workspace(ISSUE_SHAPE + ALERTS, "w.yml").alerts
    assert (alerts.system_label, alerts.severity_label) == ("model", "level")
    assert alerts.severity("warning") is Severity.MEDIUM
    assert alerts.severity("critical") is Severity.HIGH  # the map wins over the plain value
    assert alerts.severity("Low") is Severity.LOW
    assert alerts.severity("page-me") is Severity.LOW  # unmapped: the default
    assert alerts.severity(None) is Severity.LOW


def test_without_the_block_an_alert_is_high_unless_it_says_otherwise() -> None:
    alerts = parse_workspace(ISSUE_SHAPE, "w.yml").alerts
    assert (alerts.system_label, alerts.severity_label) == ("ai_system", "severity")
    assert alerts.severity(None) is Severity.HIGH
    assert alerts.severity("critical") is Severity.CRITICAL


@pytest.mark.parametrize(
    ("change", "key", "line"),
    [
        (("default_severity: low", "default_severity: urgent"), "alerts.default_severity", 17),
        (("warning: medium", "warning: loud"), "alerts.severity_map.warning", 16),
        (("system_label: model", "system_lable: model"), "alerts.system_lable", 14),
    ],
    ids=["severity", "mapped severity", "misspelt key"],
)
def test_a_mistake_in_the_block_names_the_key_and_the_line(
    change: tuple[str, str], key: str, line: int
) -> None:
    text = (ISSUE_SHAPE + ALERTS).replace(*change)
    with pytest.raises(ConfigError) as refused:
        parse_workspace(text, "w.yml")
    assert str(refused.value).startswith(f"w.yml: line {line}: {key}"), str(refused.value)
