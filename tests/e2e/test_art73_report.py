"""The Article 73 report, drafted from a serious incident (issue 18): every section of the
Commission's draft template is there, what the case knows is filled in, the rest says "to be
completed"; md, pdf and json from ``nonconformity-bot export NC-n --report art73``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pypdf import PdfReader

from bot.devkit.local import LocalBot
from bot.messages import t
from bot.views import ids
from tests.e2e.test_dossier_reading import flat
from tests.e2e.test_export import uploaded_files, uploads
from tests.e2e.test_export_cli import run_export
from tests.scenarios import (
    ASSESSMENT,
    OFFICER,
    REPORTER,
    SERIOUS_ASSESSMENT,
    TRIAGE,
    assessed,
    case_card,
    duties_panel,
    record_duty,
    thread_replies,
    wait_for,
    walk_to,
)

SECTIONS = (
    "report_type",
    "provider",
    "system",
    "incident",
    "causal",
    "corrective",
    "other_reports",
    "contacts",
)


def test_the_initial_report_has_every_section_and_says_what_is_missing(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    result = run_export(bot, "NC-1", "--report", "art73", "--format", "json")
    assert (result.returncode, result.stderr) == (0, b"")
    report = json.loads(result.stdout)
    assert report["type"] == "initial"  # nothing recorded yet: the initial report is next
    assert [s["id"] for s in report["sections"]] == list(SECTIONS)
    values = {f"{s['id']}.{f['id']}": f["value"] for s in report["sections"] for f in s["fields"]}
    assert values["system.eu_database_id"] == "EUDB-HR-2026-000481"
    assert values["system.certificate"] == "NB-2841-AIA-0192"
    assert values["causal.causal_link"] == SERIOUS_ASSESSMENT["causal_link"]
    assert values["incident.harm"] == t(f"incident.{SERIOUS_ASSESSMENT['serious_incident']}")
    # where it occurred and whom it affected, as the assessment said (Art. 73(1))
    assert SERIOUS_ASSESSMENT["member_states"] == ["NL"]
    assert values["incident.member_states"] == values["report_type.member_states"]
    assert values["incident.member_states"] == "Netherlands (NL)"
    assert values["incident.persons_affected"] == "1"
    assert values["report_type.addressed_to"] == (
        "Dutch AI market surveillance authority, Netherlands (NL)"
    )
    # the provider named in the workspace file when the case was reported
    provider = bot.workspace.provider
    assert values["provider.provider"] == f"{provider.name}, {provider.address}"
    assert values["contacts.provider_contact"] == provider.contact
    # never invented: what the case does not know
    for unknown in ("incident.occurred_on", "other_reports.gdpr"):
        assert values[unknown] is None and unknown in report["to_be_completed"]

    markdown = run_export(bot, "NC-1", "--report", "art73").stdout.decode()
    for section in SECTIONS:
        assert f"## {t(f'art73.section.{section}')}" in markdown
    assert t("dossier.to_complete") in markdown


def test_after_the_initial_report_the_final_one_is_next_and_prints_in_dutch(
    bot: LocalBot, tmp_path: Path
) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    record_duty(bot, "initial_report")
    out = tmp_path / "art73.pdf"
    result = run_export(
        bot, "NC-1", "--report", "art73", "--format", "pdf", "--language", "nl", "-o", str(out)
    )
    assert (result.returncode, result.stderr) == (0, b"")
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = flat("\n".join(p.extract_text() or "" for p in reader.pages))
    assert t("art73.type.final", "nl") in text
    for section in SECTIONS:
        assert t(f"art73.section.{section}", "nl") in text
    assert t("dossier.to_complete", "nl") in text
    assert list(reader.attachments) == ["NC-1-art73-final.json"]

    follow_up = run_export(bot, "NC-1", "--report", "art73", "--type", "follow-up")
    assert t("art73.type.follow-up") in follow_up.stdout.decode()


def test_no_report_for_a_case_that_is_not_a_serious_incident(bot: LocalBot) -> None:
    walk_to(bot, "confirmed")
    assert ASSESSMENT["serious_incident"] == "none"
    result = run_export(bot, "NC-1", "--report", "art73")
    assert result.returncode == 2
    assert b"NC-1 is not a serious incident" in result.stderr
    wrong = run_export(bot, "NC-1", "--report", "art73", "--type", "interim")
    assert wrong.returncode == 2 and b"initial, follow-up, final" in wrong.stderr


def test_the_duties_panel_button_uploads_the_draft_into_the_thread(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    panel = duties_panel(bot)
    actions = [e.get("action_id") for b in panel.blocks or [] for e in b.get("elements") or []]
    assert ids.ART73_REPORT in actions
    card = case_card(bot)

    refused_answers = len(bot.standin.response_posts())
    response = bot.driver.click(TRIAGE, panel.ts, ids.ART73_REPORT, user=REPORTER)
    assert response.status == 200
    answer = wait_for(lambda: bot.standin.response_posts()[refused_answers:], what="the refusal")[0]
    assert answer.body["text"] == t("export.not_allowed")
    assert uploads(bot) == []

    response = bot.driver.click(TRIAGE, panel.ts, ids.ART73_REPORT, user=OFFICER)
    assert response.status == 200
    files = uploaded_files(bot)
    assert set(files) == {"NC-1-art73-initial.md", "NC-1-art73-initial.pdf"}
    call = uploads(bot)[-1]
    assert (call.args["channel_id"], call.args["thread_ts"]) == (TRIAGE, card.ts)
    markdown = files["NC-1-art73-initial.md"].decode()
    for section in SECTIONS:
        assert t(f"art73.section.{section}") in markdown
    comment = wait_for(
        lambda: [m for m in bot.standin.thread(TRIAGE, card.ts) if m.files], what="the upload"
    )[-1].text
    assert "NC-1" in comment and t("art73.type.initial") in comment


def test_no_draft_button_without_a_serious_incident(bot: LocalBot) -> None:
    assessed(bot, {**SERIOUS_ASSESSMENT, "serious_incident": "none"})
    for message in thread_replies(bot):
        actions = [
            e.get("action_id") for b in message.blocks or [] for e in b.get("elements") or []
        ]
        assert ids.ART73_REPORT not in actions


def test_the_report_goes_to_the_authority_of_each_member_state_where_it_occurred(
    bot: LocalBot,
) -> None:
    # BE has its own authority in the catalogue; DE has none and falls back to the system's;
    # how many persons were affected is not known yet.
    where = {"member_states": ["BE", "DE"], "persons_affected": None, "occurred_on": "2026-11-27"}
    assessed(bot, {**SERIOUS_ASSESSMENT, **where})
    report = json.loads(run_export(bot, "NC-1", "--report", "art73", "--format", "json").stdout)
    values = {f"{s['id']}.{f['id']}": f["value"] for s in report["sections"] for f in s["fields"]}
    assert values["report_type.addressed_to"] == (
        "Belgian AI market surveillance authority, Belgium (BE); "
        "Dutch AI market surveillance authority, Germany (DE)"
    )
    assert values["incident.member_states"] == "Belgium (BE), Germany (DE)"
    assert values["incident.persons_affected"] is None
    assert "incident.persons_affected" in report["to_be_completed"]
    assert values["incident.occurred_on"] == "2026-11-27"
    assert "incident.occurred_on" not in report["to_be_completed"]

    dutch = json.loads(
        run_export(bot, "NC-1", "--report", "art73", "--format", "json", "--language", "nl").stdout
    )
    values = {f"{s['id']}.{f['id']}": f["value"] for s in dutch["sections"] for f in s["fields"]}
    assert values["incident.member_states"] == "België (BE), Duitsland (DE)"
    assert values["report_type.addressed_to"].startswith(
        "Belgian AI market surveillance authority, België (BE); "
    )

    # the dossier keeps whom the case was fixed to report to, and reads where it occurred
    dossier = json.loads(run_export(bot, "NC-1", "--format", "json").stdout)
    assert dossier["assessment"]["member_states"] == ["BE", "DE"]
    assert dossier["assessment"]["persons_affected"] is None
    assert [
        (a["member_state"], a["authority"]["id"])
        for a in dossier["authorities"]["incident_authorities"]
    ] == [("BE", "be-ams"), ("DE", "nl-ams")]
    markdown = run_export(bot, "NC-1").stdout.decode()
    assert "It occurred in Belgium (BE), Germany (DE)." in markdown
    assert "Persons affected" in markdown and "not known yet" in markdown
