"""The dossier as an authority reads it (issue 18): the PDF is read back as text and must name
people as Slack showed them when they acted, hold the notice text exactly as sent, tell the
chronology in sentences, and keep Slack ids to the technical appendix — in English (the Slack
upload, the workspace's language) and in Dutch (``export --language nl``)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.devkit.local import LocalBot
from bot.dossier import service as dossier
from bot.messages import t
from storage import outbox as outbox_rows
from tests.e2e.test_export import export, uploaded_files
from tests.e2e.test_export_cli import run_export
from tests.scenarios import (
    APPROVER,
    OFFICER,
    PARTNER_USER,
    REPORTER,
    acknowledge_notices,
    case_events,
    case_row,
    wait_for,
    walk_to,
)

BARE_USER_ID = re.compile(r"\b[UW]0[A-Z0-9]{8}\b")
NAMES = {
    REPORTER: "Rita Reporter (engineer)",
    OFFICER: "Olga Officer (compliance, triage)",
    APPROVER: "Anna Approver (manager)",
    PARTNER_USER: "Pat Partner (external)",
}


def flat(text: str) -> str:
    """Text with every run of white space as one space: a PDF wraps lines where it likes."""
    return " ".join(text.split())


FOOTER = re.compile(r"^Dossier NC-\d+: .* — \d+/\d+$")


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as a reader would copy it, without the page footers between pages."""
    lines = [
        line
        for page in PdfReader(io.BytesIO(pdf)).pages
        for line in (page.extract_text() or "").splitlines()
        if not FOOTER.match(line.strip())
    ]
    return flat("\n".join(lines))


def notice_texts(bot: LocalBot) -> list[str]:
    """What each partner was sent, as the outbox holds it (the mentions resolved)."""
    from bot.dossier.sent import readable

    with bot.services.db.read() as session:
        rows = [
            r for r in outbox_rows.for_case(session, case_row(bot).id) if r.kind == "partner_notice"
        ]
        sent = [readable(r.payload["text"], r.payload.get("blocks")) for r in rows]
    assert len(sent) == 3
    return [flat(text.replace(f"<@{OFFICER}>", "@" + NAMES[OFFICER])) for text in sent]


def reads_like_a_dossier(bot: LocalBot, text: str, lang: str) -> None:
    appendix = t("dossier.section.appendix", lang)
    assert text.count(appendix) == 1
    body, technical = text.split(appendix)

    for name in NAMES.values():
        assert name in body, name
    assert "Olga Renamed" not in text  # what Slack says now does not rewrite who acted
    assert BARE_USER_ID.findall(body) == []  # ids only in the appendix…
    for user_id in NAMES:
        assert user_id in technical  # …where each is given beside the name

    for sent in notice_texts(bot):
        assert sent in body  # verbatim, as the partner read it

    assert t("dossier.section.chronology", lang) in body
    approved = t("chronology.approve", lang, who=NAMES[APPROVER])
    assert approved in body
    assert (
        t(
            "chronology.notice_acknowledged",
            lang,
            who=NAMES[PARTNER_USER],
            partner="Northwind Bank",
        )
        in body
    )
    assert "EUDB-HR-2026-000481" in body and "NB-2841-AIA-0192" in body
    for event in case_events(bot):
        assert event.hash in technical
    assert t("dossier.section.audit", lang) in technical


def test_the_uploaded_pdf_names_people_and_quotes_what_was_sent(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    bot.standin.rename_user(OFFICER, real_name="Olga Renamed", title="Former officer")

    export(bot, "NC-1")
    files = uploaded_files(bot)
    pdf = files["NC-1-dossier.pdf"]
    reads_like_a_dossier(bot, pdf_text(pdf), "en")

    attached = PdfReader(io.BytesIO(pdf)).attachments
    embedded = json.loads(attached["NC-1-dossier.json"][0])
    assert embedded == json.loads(files["NC-1-dossier.json"])  # one file carries both
    assert embedded["schema_version"] == dossier.SCHEMA_VERSION == "2.1"
    people = {p["id"]: p for p in embedded["people"]}
    assert people[OFFICER]["name"] == NAMES[OFFICER]
    assert people[OFFICER]["title"] == "Compliance officer"


def test_the_dutch_pdf_from_the_command_line(bot: LocalBot, tmp_path: Path) -> None:
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    bot.standin.rename_user(OFFICER, real_name="Olga Renamed")
    out = tmp_path / "NC-1.pdf"
    result = run_export(bot, "NC-1", "--format", "pdf", "--language", "nl", "-o", str(out))
    assert (result.returncode, result.stderr) == (0, b"")
    text = pdf_text(out.read_bytes())
    reads_like_a_dossier(bot, text, "nl")
    assert "Samenvatting" in text and "Chronologie" in text


def test_each_person_is_looked_up_once(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    export(bot, "NC-1")
    uploaded_files(bot)
    looked_up = Counter(c.args.get("user") for c in bot.standin.calls("users.info"))
    assert set(looked_up) >= {REPORTER, OFFICER, APPROVER, PARTNER_USER}
    assert max(looked_up.values()) == 1


def test_a_person_slack_does_not_know_is_named_as_such_not_by_id(bot: LocalBot) -> None:
    from storage.models import Person

    walk_to(bot, "reported")

    def known() -> int:
        with bot.services.db.transaction() as session:
            return session.query(Person).count()

    # The reporter is looked up after the report was answered and delivered: wait for it, or
    # a late look-up would put the name back after the delete below (seen under load).
    wait_for(known, what="the reporter to be looked up")
    with bot.services.db.transaction() as session:
        session.query(Person).delete()
    document = dossier.load(bot.services.db, 1, now=bot.clock())
    from bot.dossier.formats import render

    markdown = render(document, "md").decode()
    body = markdown.split(t("dossier.section.appendix"))[0]
    assert BARE_USER_ID.findall(body) == []
    assert t("dossier.person.unknown") in body


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_event_kind_has_a_sentence(lang: str) -> None:
    """A new audit event kind must come with its sentence in the chronology."""
    import bot.messages as catalogue

    kinds = set()
    for path in Path("bot").rglob("*.py"):
        source = path.read_text()
        kinds |= set(re.findall(r'audit\.record\(\s*session,\s*case,\s*"([a-z_0-9]+)"', source))
    kinds |= {"reported", "message_sent", "escalated", "reminded"}
    kinds |= {
        f"duty_{d}"
        for d in (
            "investigate",
            "inform_authority",
            "inform_notified_body",
            "initial_report",
            "complete_report",
        )
    }
    kinds |= {
        "acknowledge",
        "confirm",
        "dismiss",
        "propose_measure",
        "approve",
        "reject",
        "mark_done",
        "close",
        "reopen",
    }
    table = catalogue.EN if lang == "en" else catalogue.NL
    assert sorted(k for k in kinds if f"chronology.{k}" not in table) == []
    assert len(kinds) >= 25
