"""Every kind of audit event the bot records is covered by the replay of ``audit verify``: a kind
added without its replay fails here before a real trail shows it as ``unknown_kind``."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.audit import replay
from bot.cases.state import DUTY_ORDER

ROOT = Path(__file__).resolve().parents[2]
RECORDERS = {"audit", "trail"}  # the names bot/ imports bot.audit.trail as


def _kinds(node: ast.expr) -> set[str]:
    """The kinds a ``kind`` argument can take: literals, both arms of a conditional, and
    ``f"duty_{duty}"`` for every duty."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _kinds(node.body) | _kinds(node.orelse)
    if isinstance(node, ast.JoinedStr):
        prefix = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        assert prefix == "duty_", ast.unparse(node)
        return {f"duty_{duty}" for duty in DUTY_ORDER}
    if isinstance(node, ast.Attribute) and node.attr == "value":
        return {"<step>"}  # ``action.value``: every Action, checked below
    raise AssertionError(f"cannot tell which kinds {ast.unparse(node)} records")


def recorded_kinds() -> set[str]:
    kinds: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in RECORDERS
            ):
                kinds |= _kinds(node.args[2])
    return kinds


def test_every_kind_recorded_in_bot_is_replayed() -> None:
    kinds = recorded_kinds()
    assert "<step>" in kinds and "notice_acknowledged" in kinds and "alert_fired" in kinds
    unknown = (kinds - {"<step>"}) - replay.KNOWN_KINDS
    assert not unknown, f"add these kinds to bot/audit/replay.py: {sorted(unknown)}"


def test_every_step_is_replayed() -> None:
    from bot.cases.workflow import Action

    assert {a.value for a in Action} <= replay.KNOWN_KINDS


def _row(**changes: object) -> replay.RowFacts:
    base: dict[str, object] = {
        "state": "reported",
        "version": 1,
        "owner": None,
        "reporter": "U1",
        "system_id": "s",
        "title": "t",
        "description": "d",
        "severity": "high",
        "risk": "yes",
        "measures": (),
        "duties": {},
        "aware_on": None,
        "notices": (),
    }
    return replay.RowFacts(**{**base, **changes})  # type: ignore[arg-type]


REPORT = replay.Event(
    1,
    "reported",
    "U1",
    {"system_id": "s", "title": "t", "description": "d", "severity": "high", "risk": "yes"},
)


def test_a_report_replays_to_its_row() -> None:
    assert replay.replay([REPORT], _row()) is None


def test_a_trail_that_does_not_start_with_the_report_is_a_finding() -> None:
    found = replay.replay([replay.Event(1, "acknowledge", "U2", {})], _row())
    assert found is not None and (found.seq, found.problem) == (1, "no_report")


def test_an_unknown_kind_is_a_finding() -> None:
    found = replay.replay([REPORT, replay.Event(2, "note", None, {})], _row())
    assert found is not None and (found.seq, found.problem) == (2, "unknown_kind")
