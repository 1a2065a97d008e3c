"""A serious incident end to end (issue 7, Art. 73): the deadline in the thread and on the card,
reminders before it and escalation once it passes, the initial and complete reports, and the
Art. 73(6) warning before the system is altered. The real bot over HTTP, the Slack stand-in and
a FakeClock moved by days (the deadline counts in days, so second-scale timers would not reach
it).

The sample workspace shortens the Art. 73 timer for the demo: one reminder 1 day before the
deadline to the owner and the approvers, then, once it has passed, the admins as well, daily,
at most 3 times more. The assessment says (a) serious harm to health, aware on 2026-11-29: due
2026-12-14 (Art. 73(2)), late from 2026-12-14 23:00 UTC (midnight in Amsterdam).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from tests.scenarios import (
    ADMIN,
    APPROVER,
    APPROVER2,
    DONE_EVIDENCE,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    RISK_ASSESSMENT,
    SERIOUS_ASSESSMENT,
    TRIAGE,
    WHERE,
    acknowledge_notices,
    assessed,
    case_card,
    case_events,
    case_row,
    decide,
    duties_panel,
    open_duty,
    open_step_modal,
    record_duty,
    refusal_after,
    refused,
    settle,
    thread_replies,
    view_text,
    wait_for,
)

DUE = datetime(2026, 12, 14, 23, 0, tzinfo=UTC)
BRING = "measure_choose_bring_into_conformity"
WARNING = "Art. 73(6) — do not alter the AI system"
PLAN = {**MEASURE_PLAN, "plan": "Retrain 2.3 on a sample that includes applicants over 60."}
READ = {**PLAN, "art73_6": ["read"]}


def panel_text(bot: LocalBot) -> str:
    return "\n".join(
        b["text"]["text"] for b in duties_panel(bot).blocks or [] if b.get("type") == "section"
    )


def buttons(message: Any) -> list[str]:
    return [
        e["action_id"]
        for b in message.blocks or []
        for e in b.get("elements", [])
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def card_notes(bot: LocalBot) -> list[str]:
    card = bot.standin.message(TRIAGE, case_row(bot).card_ts)
    return [
        str(e.get("text", ""))
        for b in card.blocks or []
        if b.get("type") == "context"
        for e in b.get("elements", [])
    ]


def art73_dms(bot: LocalBot, user: str) -> list[str]:
    return [
        m.text
        for m in bot.standin.messages(user)
        if m.text.startswith(("⏰", "🚨")) and "Art. 73" in m.text
    ]


def tick_to(bot: LocalBot, clock: FakeClock, moment: datetime) -> None:
    clock.now = moment
    bot.sweep()
    settle(bot)


def carried_out(bot: LocalBot) -> None:
    """Bring into conformity (the 73(6) box ticked), approved, notices acknowledged, done."""
    view = open_step_modal(bot, BRING, OFFICER)
    response = bot.driver.submit(view["id"], user=OFFICER, values=READ)
    assert (response.status, response.body) == (200, b"")
    wait_for(lambda: case_row(bot).state == "measure_proposed", what="the proposal")
    settle(bot)
    decide(bot, "measure_approve", APPROVER)
    acknowledge_notices(bot)
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)


def test_the_thread_and_the_card_show_the_deadline(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    text = panel_text(bot)
    assert (
        "⏳ *Serious incident* — (a) serious harm to a person's health — 15 days. Report to the "
        "market surveillance authority by *2026-12-14* (15 days after awareness, Art. 73(2))."
    ) in text
    assert "⬜ Initial report of the serious incident (Art. 73)" in text
    assert "⬜ Complete report (Art. 73(5))" in text
    assert buttons(duties_panel(bot)) == [
        "duty_record_investigate",
        "duty_record_inform_authority",
        "duty_record_inform_notified_body",
        "duty_record_initial_report",
        "duty_record_complete_report",
        "duty_correct_awareness",
        "duty_draft_art73_report",
    ]
    assert "Art. 73 report due: 2026-12-14" in card_notes(bot)
    confirmed = next(m.text for m in thread_replies(bot) if "Non-conformity confirmed" in m.text)
    assert "Risk (Art. 79(1)): Yes" in confirmed and "serious harm" in confirmed


def test_a_death_is_due_in_10_days_and_critical_infrastructure_in_2(bot: LocalBot) -> None:
    assessed(bot, {**RISK_ASSESSMENT, "serious_incident": "a_death", **WHERE})
    assert "by *2026-12-09* (10 days after awareness, Art. 73(4))" in panel_text(bot)
    assert "Art. 73 report due: 2026-12-09" in card_notes(bot)


def test_reminded_before_the_deadline_and_escalated_once_it_passes_at_most_3_times_more(
    bot: LocalBot, clock: FakeClock
) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    tick_to(bot, clock, DUE - timedelta(days=5))  # the sample workspace has no 5-day reminder
    assert art73_dms(bot, OFFICER) == []
    tick_to(bot, clock, DUE - timedelta(days=1))
    for user in (OFFICER, APPROVER, APPROVER2):
        assert [m[:1] for m in art73_dms(bot, user)] == ["⏰"], user
    assert art73_dms(bot, ADMIN) == [] and art73_dms(bot, OFFICER2) == []
    line = next(m.text for m in thread_replies(bot) if "*Art. 73 deadline*" in m.text)
    assert "NC-1" in line and f"<@{OFFICER}>" in line

    tick_to(bot, clock, DUE - timedelta(seconds=1))
    assert len(art73_dms(bot, OFFICER)) == 1
    tick_to(bot, clock, DUE)
    [late] = art73_dms(bot, ADMIN)
    assert late.startswith("🚨") and "deadline" in late and "has passed" in late
    for day in range(1, 8):
        tick_to(bot, clock, DUE + timedelta(days=day))
    assert len(art73_dms(bot, ADMIN)) == 4  # the escalation and its 3 repeats
    events = [e.payload["data"] for e in case_events(bot) if e.kind == "reminded"]
    assert [(e["timer"], e["level"], e["repeat"]) for e in events] == [
        ("art73_report", 1, 0),
        *(("art73_report", 2, r) for r in range(4)),
    ]


def test_recording_the_initial_report_stops_the_deadline_reminders(
    bot: LocalBot, clock: FakeClock
) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    tick_to(bot, clock, DUE - timedelta(days=1))
    assert len(art73_dms(bot, OFFICER)) == 1
    record_duty(bot, "initial_report")
    for day in range(0, 6):
        tick_to(bot, clock, DUE + timedelta(days=day))
    assert len(art73_dms(bot, OFFICER)) == 1 and art73_dms(bot, ADMIN) == []
    [event] = [e for e in case_events(bot) if e.kind == "duty_initial_report"]
    assert event.actor_id == OFFICER
    assert event.payload["data"]["how"] == "Authority's incident form"


def test_the_complete_report_comes_after_the_initial_one_and_is_needed_to_close(
    bot: LocalBot,
) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    answers = len(bot.standin.response_posts())
    bot.driver.click(TRIAGE, duties_panel(bot).ts, "duty_record_complete_report", user=OFFICER)
    assert refusal_after(bot, answers) == "Record the initial report before the complete one."
    assert "complete_report" not in case_row(bot).details.duties

    carried_out(bot)
    for duty in ("investigate", "inform_authority", "inform_notified_body", "initial_report"):
        record_duty(bot, duty)
    answer = refused(bot, "case_close", OFFICER)
    assert answer == (
        "NC-1 cannot be closed yet. Still missing:\n"
        "• Not yet recorded: Complete report (Art. 73(5))."
    ), answer

    record_duty(bot, "complete_report")
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    card = case_card(bot)
    assert "Closed" in str(card.blocks)
    assert not any(n.startswith("Art. 73 report due") for n in card_notes(bot))


# --- Art. 73(6) ---------------------------------------------------------------------------------


def test_bring_into_conformity_warns_first_and_going_on_needs_the_box_ticked(
    bot: LocalBot,
) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    view = open_step_modal(bot, BRING, OFFICER)
    shown = view_text(view)
    assert WARNING in shown and "before the competent authorities are informed" in shown
    assert "I have read this warning and go on" in shown

    unticked = bot.driver.submit(view["id"], user=OFFICER, values=PLAN)
    assert unticked.json() == {
        "response_action": "errors",
        "errors": {"art73_6": "Confirm that you read the Art. 73(6) warning."},
    }
    assert case_row(bot).state == "confirmed"

    ticked = bot.driver.submit(view["id"], user=OFFICER, values=READ)
    assert (ticked.status, ticked.body) == (200, b"")
    wait_for(lambda: case_row(bot).state == "measure_proposed", what="the proposal")
    settle(bot)
    proposed = next(m.text for m in thread_replies(bot) if "proposed *Bring into" in m.text)
    assert proposed.endswith(f"(The Art. 73(6) warning was shown; <@{OFFICER}> went on.)")
    measure = case_row(bot).measure
    assert measure is not None and measure.art73_6_warning is not None
    assert measure.art73_6_warning.model_dump() == {"shown": True, "continued_by": OFFICER}
    [event] = [e for e in case_events(bot) if e.kind == "propose_measure"]
    assert event.actor_id == OFFICER and event.payload["data"]["art73_6"] == ["read"]


def test_no_warning_for_a_withdrawal_of_a_serious_incident(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    view = open_step_modal(bot, "measure_choose_withdraw", OFFICER)
    assert WARNING not in view_text(view)
    assert "art73_6" not in {b.get("block_id") for b in view["blocks"]}


def test_no_warning_when_the_case_is_not_a_serious_incident(bot: LocalBot) -> None:
    assessed(bot, RISK_ASSESSMENT)
    view = open_step_modal(bot, BRING, OFFICER)
    assert WARNING not in view_text(view)
    decide(bot, BRING, OFFICER, PLAN)
    proposed = next(m.text for m in thread_replies(bot) if "proposed *Bring into" in m.text)
    assert "73(6)" not in proposed


def test_the_whole_serious_incident_is_in_the_audit_trail(bot: LocalBot, clock: FakeClock) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    tick_to(bot, clock, DUE - timedelta(days=1))
    carried_out(bot)
    for duty in (
        "investigate",
        "inform_authority",
        "inform_notified_body",
        "initial_report",
        "complete_report",
    ):
        record_duty(bot, duty)
    decide(bot, "case_close", OFFICER)
    kinds = [e.kind for e in case_events(bot)]
    expected = [
        "reported",
        "acknowledge",
        "confirm",
        "reminded",
        "propose_measure",
        "approve",
        "mark_done",
        "duty_investigate",
        "duty_inform_authority",
        "duty_inform_notified_body",
        "duty_initial_report",
        "duty_complete_report",
        "close",
    ]
    assert [k for k in kinds if k in expected] == expected
    confirm = next(e for e in case_events(bot) if e.kind == "confirm")
    assert confirm.payload["data"]["serious_incident"] == "a_health"
    assert confirm.payload["data"]["aware_on"] == "2026-11-29"


# --- the awareness date, and dates that have not come yet ---------------------------------------


def correct_awareness(bot: LocalBot, aware_on: str, **submit: Any) -> Any:
    before = len(bot.standin.calls("views.open"))
    bot.driver.click(TRIAGE, duties_panel(bot).ts, "duty_correct_awareness", user=OFFICER)
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="the awareness modal")
    view = bot.driver.last_view(OFFICER)
    values = {"aware_on": aware_on, "reason": "Checked the deployer's e-mails."}
    return bot.driver.submit(view["id"], user=OFFICER, values=values, **submit)


def test_an_awareness_date_still_to_come_is_refused_next_to_it(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)  # the fake clock says 2026-11-30
    answer = correct_awareness(bot, "2026-12-24")
    assert answer.json() == {
        "response_action": "errors",
        "errors": {
            "aware_on": "The provider cannot have become aware on a day that has not come yet."
        },
    }
    assert case_row(bot).details.aware_on is None
    assert not any(e.kind == "awareness_corrected" for e in case_events(bot))
    assert "*2026-12-14*" in panel_text(bot)


def test_a_slack_connect_user_cannot_correct_the_awareness_date(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    answer = correct_awareness(bot, "2026-11-27", team_id="T0PARTNER1")
    assert "other organisations" in str(answer.json()["errors"])
    assert case_row(bot).details.aware_on is None


def test_a_report_dated_in_the_future_is_refused(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    view = open_duty(bot, "initial_report")
    answer = bot.driver.submit(
        view["id"], user=OFFICER, values={"on": "2026-12-24", "how": "Authority's form"}
    )
    assert answer.body and answer.json()["response_action"] == "errors"
    assert "initial_report" not in case_row(bot).details.duties


def test_the_card_no_longer_says_the_report_is_due_once_it_is_made(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    record_duty(bot, "initial_report")
    record_duty(bot, "complete_report")
    assert not any(n.startswith("Art. 73 report due") for n in card_notes(bot)), card_notes(bot)
