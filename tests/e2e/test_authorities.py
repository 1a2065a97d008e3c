"""The Art. 20(2) duties end to end (issue 7): a system that presents a risk (Art. 79(1)) must
have its causes investigated (with the reporting deployer, where there is one) and the market
surveillance authority and, where it holds a certificate, the notified body informed. The real
bot over HTTP, the Slack stand-in and a FakeClock.

In the sample workspace credit-scoring names the authority nl-ams (a catalogue partner with the
Slack channel C0AUTHORTY) and the notified body cert-body (no channel); cv-screening names
neither and falls back on the catalogue's default authority, nl-ams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace, parse_workspace, sample_path
from storage import outbox as outbox_rows
from storage.models import OutboxMessage
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    DONE_EVIDENCE,
    DUTY_VALUES,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    PARTNER_USER,
    REPORTER,
    RISK_ASSESSMENT,
    TRIAGE,
    acknowledge_notices,
    assessed,
    case_card,
    case_events,
    case_row,
    decide,
    duties_panel,
    open_duty,
    record_duty,
    refusal_after,
    refused,
    report,
    settle,
    thread_replies,
    view_text,
    wait_for,
)

AUTHORITY_CHANNEL = "C0AUTHORTY"
NORTHWIND = "C0NORTHWND"
DEPLOYER_CONTACT = "U0REPORTR2"  # Ravi, listed as Northwind Bank's contact in one workspace
ART20_2 = ("investigate", "inform_authority", "inform_notified_body")
WITHDRAW = MEASURE_PLAN  # the measure is the button: Withdraw


def buttons(message: Any) -> list[str]:
    return [
        e["action_id"]
        for b in message.blocks or []
        for e in b.get("elements", [])
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def panel_text(bot: LocalBot) -> str:
    return "\n".join(
        b["text"]["text"] for b in duties_panel(bot).blocks or [] if b.get("type") == "section"
    )


def measure_done(bot: LocalBot) -> None:
    """From a confirmed case to a carried-out withdrawal whose notices are acknowledged."""
    decide(bot, "measure_choose_withdraw", OFFICER, WITHDRAW)
    decide(bot, "measure_approve", APPROVER)
    acknowledge_notices(bot)
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)


def channel_rows(bot: LocalBot, channel: str) -> list[OutboxMessage]:
    from sqlalchemy import select

    with bot.services.db.read() as session:
        return list(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.target == channel, OutboxMessage.kind == "channel"
                )
            )
        )


def deployer_workspace() -> Workspace:
    """The sample workspace with Ravi (of our own workspace) as Northwind Bank's contact."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "northwind":
            partner["contacts"] = [DEPLOYER_CONTACT]
    return parse_workspace(yaml.safe_dump(data, sort_keys=False), "deployer-contact.yml")


@pytest.fixture
def deployer_bot(sqlite_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    with LocalBot(deployer_workspace(), database_url=sqlite_url, clock=clock) as local:
        yield local


# --- the steps appear ---------------------------------------------------------------------------


def test_a_case_assessed_with_a_risk_shows_the_authority_steps(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT)
    text = panel_text(bot)
    assert text.startswith("*Duties to the authorities for NC-1*")
    assert "⬜ Investigate the causes (Art. 20(2))" in text
    assert (
        "⬜ Inform the market surveillance authority (Dutch AI market surveillance authority)"
        in text
    )
    assert "⬜ Inform the notified body (EU AI Certification N.V.) (Art. 20(2))" in text
    assert "Serious incident" not in text and "Art. 73" not in text  # no serious incident
    assert buttons(duties_panel(bot)) == [f"duty_record_{d}" for d in ART20_2]
    case = case_row(bot)
    assert (case.details.authority, case.details.notified_body) == ("nl-ams", "cert-body")
    assert case.details.reporting_deployer is None  # Rita is nobody's contact
    assert "reporting deployer" not in text
    assert channel_rows(bot, NORTHWIND) == []  # nobody to invite


def test_a_system_without_a_certificate_has_no_notified_body_step_and_the_default_authority(
    bot: LocalBot,
) -> None:
    assessed(bot, RISK_ASSESSMENT, system="cv-screening")
    assert buttons(duties_panel(bot)) == ["duty_record_investigate", "duty_record_inform_authority"]
    assert "Dutch AI market surveillance authority" in panel_text(bot)  # the catalogue default
    assert "notified body" not in panel_text(bot)


def test_a_case_without_a_risk_has_no_duties_panel(bot: LocalBot) -> None:
    assessed(bot, ASSESSMENT)
    settle(bot)
    assert not any(m.text.startswith("Duties to the authorities") for m in thread_replies(bot))


def test_the_reporting_deployer_is_named_and_invited_in_their_channel(
    deployer_bot: LocalBot,
) -> None:
    bot = deployer_bot
    assessed(bot, RISK_ASSESSMENT, user=DEPLOYER_CONTACT)
    deployer = case_row(bot).details.reporting_deployer
    assert deployer is not None and deployer.id == "northwind"
    assert "Investigate together with the reporting deployer: *Northwind Bank*." in panel_text(bot)

    [invite] = wait_for(
        lambda: [m for m in bot.standin.messages(NORTHWIND) if "Article 20(2)" in m.text],
        what="the invitation in Northwind's channel",
    )
    assert invite.text.startswith("Northwind Bank: our high-risk AI system *Credit scoring model*")
    assert "(NC-1)" in invite.text and "reporting deployer" in invite.text
    [row] = channel_rows(bot, NORTHWIND)
    assert row.status == outbox_rows.SENT and row.payload["step"] == "investigate_invite"

    view = open_duty(bot, "investigate")
    assert "reporting deployer: *Northwind Bank*" in view_text(view)
    record_duty(bot, "investigate", values={**DUTY_VALUES["investigate"], "how": "With Northwind"})
    [event] = [e for e in case_events(bot) if e.kind == "duty_investigate"]
    assert event.payload["data"]["how"] == "With Northwind"


# --- drafts, recording, the authority's channel -------------------------------------------------


def test_each_authority_step_has_a_draft_and_is_recorded_with_who_when_and_how(
    any_db_bot: LocalBot, clock: FakeClock
) -> None:
    bot = any_db_bot
    assessed(bot, RISK_ASSESSMENT)
    measure_done(bot)

    for duty in ("inform_authority", "inform_notified_body"):
        draft = view_text(open_duty(bot, duty))
        assert "AI system: Credit scoring model, version 2.3" in draft
        assert f"Nature of the non-compliance: {RISK_ASSESSMENT['nature']}" in draft
        assert f"Causes and risk, as far as known: {RISK_ASSESSMENT['causal_link']}" in draft
        assert f"Corrective action taken: Withdraw — {WITHDRAW['plan']}" in draft
        assert "Case: NC-1" in draft

    at = clock()
    for duty in ART20_2:
        record_duty(bot, duty, user=OFFICER2 if duty == "investigate" else OFFICER)

    text = panel_text(bot)
    for label in (
        "Investigate the causes",
        "Inform the market surveillance",
        "Inform the notified",
    ):
        line = next(line for line in text.splitlines() if label in line)
        assert line.startswith("✅"), line
        assert "by <@U0OFFICER" in line and f"|{at:%Y-%m-%d %H:%M} UTC>" in line, line
    assert "Authority's web form" in text and "E-mail to the certification desk" in text
    assert buttons(duties_panel(bot)) == []

    events = {e.kind: e for e in case_events(bot) if e.kind.startswith("duty_")}
    assert set(events) == {f"duty_{d}" for d in ART20_2}
    assert events["duty_investigate"].actor_id == OFFICER2
    assert (
        events["duty_investigate"].payload["data"]["findings"]
        == DUTY_VALUES["investigate"]["findings"]
    )
    assert events["duty_inform_authority"].actor_id == OFFICER
    assert events["duty_inform_authority"].payload["data"] == {
        "choice": "other",
        "on": "2026-11-30",
        "how": "Authority's web form",
        "reference": "MSA-17",
    }
    assert events["duty_inform_authority"].payload["at"].startswith(at.isoformat()[:19])

    # The authority has a Slack channel, but the officer informed it another way: nothing was
    # posted there (test_authority_step.py shows "Send it now"). The notified body has none.
    assert bot.standin.messages(AUTHORITY_CHANNEL) == []
    assert channel_rows(bot, AUTHORITY_CHANNEL) == []

    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"


def test_close_is_refused_until_each_authority_step_is_recorded_naming_the_missing_one(
    bot: LocalBot,
) -> None:
    assessed(bot, RISK_ASSESSMENT)
    measure_done(bot)
    labels = {
        "investigate": "Investigate the causes (Art. 20(2))",
        "inform_authority": "Inform the market surveillance authority "
        "(Dutch AI market surveillance authority) (Art. 20(2))",
        "inform_notified_body": "Inform the notified body (EU AI Certification N.V.) (Art. 20(2))",
    }
    for i, duty in enumerate(ART20_2):
        # Every duty still open, in one refusal; each recorded one drops off the list.
        answer = refused(bot, "case_close", OFFICER)
        assert answer == "NC-1 cannot be closed yet. Still missing:\n" + "\n".join(
            f"• Not yet recorded: {labels[d]}." for d in ART20_2[i:]
        ), answer
        record_duty(bot, duty)
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    assert "close" in [e.kind for e in case_events(bot)]


# --- refusals -----------------------------------------------------------------------------------


def duty_refusal(bot: LocalBot, duty: str, user: str, **click: Any) -> str:
    """Click ``duty``'s button on the panel as ``user``: the ephemeral answer, no modal."""
    views = len(bot.standin.calls("views.open"))
    answers = len(bot.standin.response_posts())
    before = case_row(bot).details.duties
    response = bot.driver.click(
        TRIAGE, duties_panel(bot).ts, f"duty_record_{duty}", user=user, **click
    )
    assert response.status == 200, response.body
    text = refusal_after(bot, answers)
    assert len(bot.standin.calls("views.open")) == views
    assert case_row(bot).details.duties == before
    return text


def test_a_slack_connect_user_or_a_non_member_cannot_record_a_duty(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT)
    external = duty_refusal(bot, "investigate", PARTNER_USER, team_id="T0PARTNER1")
    assert external == "People from other organisations can follow this case but not change it."
    answer = duty_refusal(bot, "investigate", REPORTER)
    assert answer.startswith("Only ") and "@triage, @approvers can do this." in answer, answer
    assert not any(e.kind.startswith("duty_") for e in case_events(bot))


def test_a_modal_submitted_by_someone_who_may_not_record_is_refused_inline(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT)
    view = open_duty(bot, "inform_authority")
    response = bot.driver.submit(
        view["id"], user=OFFICER, values=DUTY_VALUES["inform_authority"], team_id="T0PARTNER1"
    )
    assert response.json()["response_action"] == "errors"
    assert "other organisations" in str(response.json()["errors"])
    assert "inform_authority" not in case_row(bot).details.duties


def test_a_duty_that_does_not_apply_is_refused(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT, system="cv-screening")
    for duty in ("inform_notified_body", "initial_report", "complete_report"):
        answer = duty_refusal(bot, duty, OFFICER, force=True, value="1")
        assert answer == "This step does not apply to this case.", duty


def test_a_duty_recorded_twice_is_refused_the_second_time(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT)
    first = open_duty(bot, "investigate")
    second = open_duty(bot, "investigate", user=OFFICER2)
    ok = bot.driver.submit(first["id"], user=OFFICER, values=DUTY_VALUES["investigate"])
    assert (ok.status, ok.body) == (200, b"")
    late = bot.driver.submit(second["id"], user=OFFICER2, values=DUTY_VALUES["investigate"])
    assert late.json() == {
        "response_action": "errors",
        "errors": {"findings": "This was already recorded for NC-1 by <@U0OFFICER1>."},
    }
    assert [e.kind for e in case_events(bot)].count("duty_investigate") == 1


def test_a_closed_case_refuses_to_record(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT)
    measure_done(bot)
    for duty in ART20_2:
        record_duty(bot, duty)
    decide(bot, "case_close", OFFICER)
    answer = duty_refusal(bot, "investigate", OFFICER, force=True, value="1")
    assert answer == "NC-1 is closed; reopen it first."


def test_a_report_from_another_workspace_names_the_systems_only_deployer(bot: LocalBot) -> None:
    # cv-screening has one deployer, Northwind Bank; Pat reports from another workspace.
    response = report(bot, user=PARTNER_USER, system="cv-screening")
    assert response.status == 200, response.body
    assert case_row(bot).reporter_team == "T0PARTNER1"
    case_card(bot)
    settle(bot)
    decide(bot, "case_acknowledge", OFFICER)
    decide(bot, "case_confirm", OFFICER, RISK_ASSESSMENT)
    deployer = case_row(bot).details.reporting_deployer
    assert deployer is not None and deployer.id == "northwind"
