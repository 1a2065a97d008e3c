"""The shape of the code (docs/architecture.md): no import cycles, Slack only at the edge, the
pure domain free of SQL and Slack, and a ``bot/`` top level that stays small."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage")
TOP_LEVEL = {"__init__", "__main__", "app", "cli", "clock", "errors", "forms", "messages"}
TOP_LEVEL |= {"services"}
SLACK_EDGE = {"bot.app", "bot.ops.socket_mode"}  # and handlers/
PURE = ("bot.cases.workflow", "bot.cases.state", "bot.timers.policy", "bot.duties.deadlines")
PURE += ("bot.audit.chain", "bot.cases.domain")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ours that ``module`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.ImportFrom) and node.level:
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def third_party(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_only_the_app_and_socket_mode_and_the_handlers_import_slack_bolt() -> None:
    users = {
        name
        for name, path in modules().items()
        if "slack_bolt" in third_party(path) and not name.startswith("handlers")
    }
    assert users <= SLACK_EDGE


def test_the_pure_domain_knows_neither_sql_nor_slack() -> None:
    known = modules()
    for name in PURE:
        outside = third_party(known[name]) & {"sqlalchemy", "slack_sdk", "slack_bolt", "storage"}
        assert outside == set(), name


def test_bot_groups_by_domain_and_keeps_a_small_top_level() -> None:
    top = {path.stem for path in (ROOT / "bot").glob("*.py")}
    assert top <= TOP_LEVEL, sorted(top - TOP_LEVEL)
