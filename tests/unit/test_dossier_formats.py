"""The dossier's renderings, from a hand-made dossier: the schema is a valid JSON Schema and
rejects what it should, Markdown keeps its layout whatever people typed, PDF prints any text."""

from __future__ import annotations

import copy
import io
import json
import logging
from importlib import resources
from typing import Any

import jsonschema
import pytest
from pypdf import PdfReader

from bot.dossier.export import Dossier, schema_text
from bot.dossier.formats import filename, render
from bot.dossier.service import SCHEMA_VERSION

HASH_A, HASH_B = "a" * 64, "b" * 64


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files("bot").joinpath("resources/dossier.schema.json").read_text()
    )
    return loaded


def sample(title: str = "Scores drift", description: str = "Rates dropped.") -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": "2026-12-01T10:00:00+00:00",
        "case": {
            "ref": "NC-7",
            "number": 7,
            "title": title,
            "state": "reported",
            "severity": "high",
            "risk": "unknown",
            "requirements": ["art10"],
            "reporter": "U0REPORTR1",
            "reporter_team": "T0TEAM0001",
            "owner": None,
            "language": "en",
            "channel": "C0TRIAGE01",
            "thread_ts": "1.000100",
            "permalink": None,
            "reported_at": "2026-12-01T09:00:00+00:00",
            "updated_at": "2026-12-01T09:00:00+00:00",
            "version": 1,
        },
        "system": {
            "id": "credit-scoring",
            "name": "Credit scoring model",
            "version": "2.3",
            "provider": None,
            "eu_database_id": None,
            "notified_body_certificate": None,
        },
        "people": [
            {
                "id": "U0REPORTR1",
                "team": "T0TEAM0001",
                "name": "Rita Reporter",
                "title": "ML engineer",
                "looked_up_at": "2026-12-01T09:00:00+00:00",
            }
        ],
        "report": {
            "at": "2026-12-01T09:00:00+00:00",
            "by": "U0REPORTR1",
            "data": {"title": title, "description": description, "severity": "high"},
        },
        "assessment": None,
        "dismissal": None,
        "measure": None,
        "earlier_measures": [],
        "reopenings": [],
        "partner_notices": [],
        "authorities": {
            "authority": None,
            "notified_body": None,
            "required_duties": [],
            "duties": [],
            "art73": None,
            "messages": [],
        },
        "escalations": [],
        "timeline": [
            {
                "seq": 1,
                "kind": "reported",
                "actor": "U0REPORTR1",
                "at": "2026-12-01T09:00:00+00:00",
                "data": {"title": title},
                "prev_hash": "0" * 64,
                "hash": HASH_A,
            },
            {
                "seq": 2,
                "kind": "message_sent",
                "actor": None,
                "at": "2026-12-01T09:00:01+00:00",
                "data": {"kind": "card_post"},
                "prev_hash": HASH_A,
                "hash": HASH_B,
            },
        ],
        "audit": {
            "intact": True,
            "checked": 2,
            "first_bad_seq": None,
            "problem": None,
            "detail": "intact",
            "event_count": 2,
            "head_hash": HASH_B,
            "genesis": "0" * 64,
            "algorithm": "sha256",
        },
    }


def test_the_schema_is_a_valid_json_schema_and_accepts_a_dossier() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.Draft202012Validator(schema()).validate(sample())
    Dossier.model_validate(sample())  # the export models and the schema agree


def test_the_shipped_schema_is_the_one_the_export_models_generate() -> None:
    """Nobody edits the schema by hand, and nobody changes an export model without it: run
    ``python -m bot.dossier_export > bot/resources/dossier.schema.json``."""
    shipped = resources.files("bot").joinpath("resources/dossier.schema.json").read_text()
    assert shipped == schema_text()


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("audit"),
        lambda d: d.update(schema_version="1.0"),
        lambda d: d["timeline"][0].update(hash="not-a-hash"),
        lambda d: d["case"].update(state="lost"),
        lambda d: d.update(surprise=True),
    ],
)
def test_the_schema_refuses_a_dossier_a_reader_could_not_rely_on(breakage: Any) -> None:
    broken = copy.deepcopy(sample())
    breakage(broken)
    assert list(jsonschema.Draft202012Validator(schema()).iter_errors(broken))


def test_markdown_keeps_its_tables_whatever_was_typed() -> None:
    typed = sample(title="a | b\nc", description="# not a heading\n\nsecond | paragraph")
    markdown = render(typed, "md").decode()
    assert "| **Title** | a \\| b c |" in markdown
    assert "> # not a heading" in markdown and "> second | paragraph" in markdown
    assert "\n# not a heading" not in markdown
    assert markdown.startswith("# Dossier NC-7: a | b c\n")


def test_markdown_names_each_event_with_its_hashes_and_the_verdict() -> None:
    markdown = render(sample(), "md").decode()
    assert "| 1 | 2026-12-01 09:00:00 UTC | reported | U0REPORTR1 |" in markdown
    assert f"`{HASH_A}` | `{HASH_B}`" in markdown
    assert "CHAIN INTACT: all 2 events" in markdown


def test_a_chain_of_one_event_is_said_in_the_singular() -> None:
    dossier = sample()
    dossier["audit"].update(checked=1)
    assert "CHAIN INTACT: the 1 event matches its hash and link" in render(dossier, "md").decode()


def test_a_broken_chain_is_said_plainly() -> None:
    dossier = sample()
    dossier["audit"].update(
        intact=False, checked=1, first_bad_seq=2, problem="changed", detail="row 2 changed"
    )
    markdown = render(dossier, "md").decode()
    assert "CHAIN BROKEN at event 2 (changed): row 2 changed" in markdown
    assert "; 1 event before it is sound." in markdown


def test_the_dutch_dossier_uses_the_catalogue() -> None:
    dossier = sample()
    dossier["case"]["language"] = "nl"
    markdown = render(dossier, "md").decode()
    assert "## Zaak en AI-systeem" in markdown
    assert "KETEN INTACT: alle 2 gebeurtenissen kloppen met hun hashes" in markdown


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_pdf_prints_names_in_any_script_with_the_font_the_package_ships() -> None:
    title = "Zoë’s “drift” — Ελένη Παπαδοπούλου, Дмитрий Иванов, שרה כהן"
    pdf = render(sample(title=title), "pdf")
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)  # selectable: the text reads back as it was typed
    for name in ("Zoë’s", "Ελένη Παπαδοπούλου", "Дмитрий Иванов", "“drift”"):
        assert name in text
    assert b"DejaVuSans" in pdf and b"Helvetica" not in pdf


def test_the_pdf_carries_the_json_dossier_as_an_attachment() -> None:
    dossier = sample()
    reader = PdfReader(io.BytesIO(render(dossier, "pdf")))
    attached = reader.attachments
    assert list(attached) == ["NC-7-dossier.json"]
    assert json.loads(attached["NC-7-dossier.json"][0]) == dossier


def test_rendering_a_pdf_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """fontTools says about 75 INFO lines while subsetting a font; none reach the console."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    render(sample(title="Ελένη 日本"), "pdf")
    assert [r.getMessage() for r in caplog.records] == []


def test_file_names_and_an_unknown_format() -> None:
    assert filename(sample(), "pdf") == "NC-7-dossier.pdf"
    with pytest.raises(ValueError, match="unknown dossier format"):
        render(sample(), "docx")
