"""The dossier, end to end: ``/nonconformity export NC-n`` uploads it into the case thread with
files upload v2; it names every event, follows its schema, and says when the chain is broken."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
from sqlalchemy import update

from bot.devkit.local import LocalBot
from bot.dossier import service as dossier
from bot.dossier.formats import render
from bot.messages import t
from storage.models import CaseEvent
from tests.scenarios import (
    ASSESSMENT,
    GENERAL,
    OFFICER,
    REPORTER,
    TRIAGE,
    WHERE,
    acknowledge_notices,
    case_card,
    case_events,
    case_row,
    decide,
    wait_for,
    walk_to,
)

EVENTS = CaseEvent.__table__


def schema() -> dict[str, Any]:
    text = resources.files("bot").joinpath("resources/dossier.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def assert_valid(document: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def export(bot: LocalBot, text: str, user: str = OFFICER) -> str:
    """The command's immediate (ephemeral) answer."""
    response = bot.driver.command("/nonconformity", f"export {text}", user=user, channel=GENERAL)
    assert response.status == 200, response.body
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return str(response.json().get("text", ""))
    return response.text


def uploads(bot: LocalBot) -> list[Any]:
    return bot.standin.calls("files.completeUploadExternal")


def uploaded_files(bot: LocalBot, before: int = 0) -> dict[str, bytes]:
    """The files of the newest upload, by file name, as Slack stored them."""
    wait_for(lambda: len(uploads(bot)) > before, what="files.completeUploadExternal")
    call = uploads(bot)[-1]
    assert call.response.get("ok"), call.response
    return {f["name"]: bot.standin.file_content(f["id"]) for f in call.response["files"]}


def dossier_of(bot: LocalBot, number: int = 1) -> dict[str, Any]:
    return dossier.load(bot.services.db, number, now=bot.clock())


def test_the_export_command_uploads_the_dossier_into_the_case_thread(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    card = case_card(bot)
    before = len(bot.standin.calls("files.getUploadURLExternal"))

    assert export(bot, "NC-1") == t("export.started", ref="NC-1")
    files = uploaded_files(bot)

    assert len(bot.standin.calls("files.getUploadURLExternal")) == before + 3
    call = uploads(bot)[-1]
    assert (call.args["channel_id"], call.args["thread_ts"]) == (TRIAGE, card.ts)
    reply = wait_for(
        lambda: next((m for m in bot.standin.thread(TRIAGE, card.ts) if m.files), None),
        what="the upload in the thread",
    )
    assert "NC-1" in reply.text and t("export.verdict.intact") in reply.text
    assert set(files) == {"NC-1-dossier.md", "NC-1-dossier.json", "NC-1-dossier.pdf"}
    assert files["NC-1-dossier.pdf"].startswith(b"%PDF")

    markdown = files["NC-1-dossier.md"].decode()
    events = case_events(bot)
    assert len(events) > 10
    for event in events:  # every event, with its place in the chain
        assert f"| {event.seq} |" in markdown and f"| {event.kind} |" in markdown
        assert event.hash in markdown and event.prev_hash in markdown
    assert "CHAIN INTACT" in markdown
    uploaded = json.loads(files["NC-1-dossier.json"])
    assert_valid(uploaded)
    assert [e["seq"] for e in uploaded["timeline"]] == [e.seq for e in events]


def test_the_json_dossier_holds_the_whole_case_and_follows_its_schema(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    document = json.loads(render(dossier_of(bot), "json"))
    assert_valid(document)
    assert document["schema_version"] == dossier.SCHEMA_VERSION
    assert document["case"]["ref"] == "NC-1" and document["system"]["id"] == "credit-scoring"
    assert document["report"]["by"] == REPORTER
    assert document["report"]["data"]["title"] == "Scores drift"
    assert document["assessment"]["nature"] == ASSESSMENT["nature"]
    assert document["measure"]["approvals"][0]["by"]
    notices = document["partner_notices"]
    assert {n["partner_id"] for n in notices} == {"acme-dist", "northwind", "eu-import"}
    assert all(n["sent_at"] and n["acknowledged_at"] for n in notices)
    assert document["audit"]["intact"] is True
    assert document["audit"]["checked"] == len(document["timeline"]) == case_row(bot).event_count


def test_a_serious_incident_brings_its_duties_and_art73_deadline_into_the_dossier(
    bot: LocalBot,
) -> None:
    walk_to(bot, "acknowledged")
    serious = {**ASSESSMENT, "risk": "yes", "serious_incident": "a_health", **WHERE}
    decide(bot, "case_confirm", OFFICER, serious)
    document = dossier_of(bot)
    assert_valid(json.loads(render(document, "json")))
    authorities = document["authorities"]
    assert authorities["authority"]["id"] == "nl-ams"
    assert "initial_report" in authorities["required_duties"]
    assert authorities["art73"]["category"] == "a_health"
    assert authorities["art73"]["initial_report"] is None
    markdown = render(document, "md").decode()
    assert authorities["art73"]["due"] in markdown


def test_a_tampered_event_makes_the_dossier_say_the_chain_is_broken(bot: LocalBot) -> None:
    walk_to(bot, "measure_proposed")
    case = case_row(bot)
    approved = next(e.seq for e in case_events(bot) if e.kind == "acknowledge")
    with bot.services.db.engine.begin() as connection:
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.case_id == case.id, EVENTS.c.seq == approved)
            .values(payload={"kind": "acknowledge", "actor": "U0SOMEONE1", "data": {}})
        )
    document = dossier_of(bot)
    assert_valid(json.loads(render(document, "json")))
    assert document["audit"]["intact"] is False
    assert (document["audit"]["problem"], document["audit"]["first_bad_seq"]) == (
        "changed",
        approved,
    )
    markdown = render(document, "md").decode()
    assert f"CHAIN BROKEN at event {approved} (changed)" in markdown

    before = len(uploads(bot))
    export(bot, "NC-1")
    uploaded_files(bot, before)
    comment = wait_for(
        lambda: [m for m in bot.standin.thread(TRIAGE, case.card_ts) if m.files], what="upload"
    )[-1].text
    assert t("export.verdict.broken") in comment


@pytest.mark.parametrize(
    ("text", "user", "answer"),
    [
        ("NC-1", REPORTER, t("export.not_allowed")),  # the reporter has no role
        ("NC-9", OFFICER, t("case.unknown", ref="NC-9")),
        ("", OFFICER, t("export.usage")),
        ("the first one", OFFICER, t("export.usage")),
    ],
)
def test_refusals_are_ephemeral_and_upload_nothing(
    bot: LocalBot, text: str, user: str, answer: str
) -> None:
    walk_to(bot, "reported")
    assert export(bot, text, user) == answer
    assert bot.standin.calls("files.getUploadURLExternal") == []
    assert uploads(bot) == []


def test_exporting_changes_nothing_in_the_case(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    before = case_row(bot)
    export(bot, "NC-1")
    uploaded_files(bot)
    after = case_row(bot)
    assert (after.version, after.event_count, after.head_hash) == (
        before.version,
        before.event_count,
        before.head_hash,
    )


def test_a_refused_upload_is_told_to_the_person_who_asked(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    bot.standin.inject("files.completeUploadExternal", error="not_in_channel")
    answers = len(bot.standin.response_posts())
    assert export(bot, "NC-1") == t("export.started", ref="NC-1")
    posts = wait_for(
        lambda: (lambda p: p if len(p) > answers else None)(bot.standin.response_posts()),
        what="the failure answer",
    )
    body = posts[answers].body
    assert body.get("response_type") == "ephemeral"
    assert body["text"] == t("export.failed", ref="NC-1", error="not_in_channel")
