"""Changing a case without starting over (issue 20), end to end through signed requests: the
card's **Change…** menu — Change severity, Reassign, Change target date, Amend measure, Add a
measure — each with its reason, its line in the thread, the card, the people told, the audit
event that ``audit verify`` replays, and its refusals; in English and Dutch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace
from tests.scenarios import (
    APPROVER,
    APPROVER2,
    DONE_EVIDENCE,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    REPORTER,
    TRIAGE,
    WHERE,
    case_events,
    case_row,
    current_measure,
    decide,
    guided_workspace,
    last_step_message,
    refusal_after,
    settle,
    snapshot,
    thread_replies,
    wait_for,
    walk_to,
)

REASON = "Triage misjudged the impact on applicants."


@pytest.fixture
def workspace() -> Workspace:
    """Systems without partners: nothing but the guided thread stands between Done and Close."""
    return guided_workspace()


# --- the card's Change… menu, as a person uses it -------------------------------------------


def card(bot: LocalBot) -> Any:
    return bot.standin.message(TRIAGE, case_row(bot).card_ts)


def menu(bot: LocalBot) -> dict[str, Any]:
    for block in card(bot).blocks or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == "case_change":
                return dict(element)
    raise AssertionError("no Change… menu on the card")


def menu_labels(bot: LocalBot) -> list[str]:
    return [option["text"]["text"] for option in menu(bot)["options"]]


def choose(bot: LocalBot, label: str, user: str) -> None:
    """Pick ``label`` in the card's Change… menu, as ``user``."""
    (value,) = [o["value"] for o in menu(bot)["options"] if o["text"]["text"] == label]
    response = bot.driver.click(TRIAGE, card(bot).ts, "case_change", user=user, value=value)
    assert response.status == 200, response.body


def open_change(bot: LocalBot, label: str, user: str) -> dict[str, Any]:
    before = len(bot.standin.calls("views.open"))
    choose(bot, label, user)
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="views.open")
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def change(bot: LocalBot, label: str, user: str, values: dict[str, Any]) -> Any:
    """Choose the change, fill in its modal and submit it; wait until Slack shows it. Returns
    the submission (its request can be replayed)."""
    view = open_change(bot, label, user)
    events = case_row(bot).event_count
    response = bot.driver.submit(view["id"], user=user, values=values)
    assert (response.status, response.body) == (200, b""), response.body
    wait_for(lambda: case_row(bot).event_count > events, what=f"{label} to apply")
    settle(bot)
    return response


def refused_change(bot: LocalBot, label: str, user: str) -> str:
    """Choose the change as ``user``: an ephemeral explanation, no modal, nothing changed."""
    before = snapshot(bot)
    answers = len(bot.standin.response_posts())
    choose(bot, label, user)
    text = refusal_after(bot, answers)
    assert snapshot(bot) == before, "a refused change changed something"
    return text


def modal_errors(bot: LocalBot, label: str, user: str, values: dict[str, Any]) -> dict[str, str]:
    view = open_change(bot, label, user)
    before = snapshot(bot)
    response = bot.driver.submit(view["id"], user=user, values=values)
    assert response.status == 200, response.body
    body = response.json()
    assert body["response_action"] == "errors", body
    assert snapshot(bot) == before
    errors: dict[str, str] = body["errors"]
    return errors


def thread_texts(bot: LocalBot) -> list[str]:
    return [m.text for m in thread_replies(bot)]


def audit_verified(bot: LocalBot) -> bool:
    from bot.audit.trail import verify_case
    from storage import cases as case_rows

    with bot.services.db.transaction() as session:
        case = case_rows.by_number(session, 1)
        assert case is not None
        result = verify_case(session, case)
    assert result.ok, result
    return True


def timers(bot: LocalBot, kind: str) -> list[Any]:
    from storage.models import Timer

    with bot.services.db.transaction() as session:
        rows = session.scalars(
            select(Timer).where(Timer.case_id == case_row(bot).id, Timer.kind == kind)
        ).all()
        return [(t.status, t.anchor_at, t.due_at) for t in rows]


def dms(bot: LocalBot, user: str) -> list[str]:
    return [m.text for m in bot.standin.messages(user)]


def chronology(bot: LocalBot) -> str:
    """The dossier as an authority reads it (Markdown), its chronology in sentences."""
    from bot.dossier import service as dossier
    from bot.dossier.formats import render

    return render(dossier.load(bot.services.db, 1, now=bot.clock()), "md").decode()


# --- Change severity --------------------------------------------------------------------------


def test_the_menu_offers_what_the_state_allows_with_the_issues_words(bot: LocalBot) -> None:
    walk_to(bot, "reported")
    assert menu(bot)["placeholder"]["text"] == "Change…"
    assert menu_labels(bot) == ["Change severity", "Reassign"]
    walk_to_more(bot, "measure_approved")
    assert menu_labels(bot) == [
        "Change severity",
        "Reassign",
        "Change target date",
        "Amend measure",
        "Add a measure",
    ]
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    assert menu_labels(bot) == ["Change severity", "Reassign", "Add a measure"]


def walk_to_more(bot: LocalBot, state: str) -> None:
    """``walk_to`` for a case already reported (it reports only when there is none)."""
    from tests.scenarios import STEP_PATH

    states = ["reported", *(reached for reached, *_ in STEP_PATH)]
    for reached, action_id, user, values in STEP_PATH:
        if case_row(bot).state == state:
            return
        if states.index(reached) <= states.index(case_row(bot).state):
            continue  # already past this step
        decide(bot, action_id, user, values)
        assert case_row(bot).state == reached


def test_triage_raises_the_severity_and_the_critical_policy_counts_from_then(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "reported")  # "high": the default policy, 30m then 2h
    clock.advance(timedelta(minutes=20))
    changed_at = clock()
    change(bot, "Change severity", OFFICER, {"severity": "critical", "reason": REASON})

    assert case_row(bot).severity == "critical"
    assert "🔴 Critical" in str(card(bot).blocks)
    (line,) = [t for t in thread_texts(bot) if "Severity changed" in t]
    assert f"from High to Critical: {REASON}" in line
    assert "follows the `critical` policy, its levels counted from this change (10s, 30s)" in line
    # The old policy's timer is gone; the new one counts from the change, not from the report.
    running = [t for t in timers(bot, "escalation") if t[0] == "pending"]
    assert [(anchor, due) for _, anchor, due in running] == [
        (changed_at, changed_at + timedelta(seconds=10))
    ]
    clock.advance(timedelta(seconds=11))
    bot.sweep()
    wait_for(
        lambda: any(t.startswith("⏰") for t in dms(bot, OFFICER)), what="the critical escalation"
    )
    events = [e for e in case_events(bot) if e.kind == "severity_changed"]
    assert events[0].payload["data"] == {"from": "high", "to": "critical", "reason": REASON}
    assert audit_verified(bot)
    assert f"changed the severity from High to Critical: {REASON}" in chronology(bot)


def test_a_user_without_a_role_cannot_change_the_severity(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    text = refused_change(bot, "Change severity", REPORTER)
    assert text == "Only @triage, @admins can do this."
    assert refused_change(bot, "Change severity", APPROVER) == text


def test_the_same_severity_again_is_refused_inline(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    errors = modal_errors(bot, "Change severity", OFFICER, {"severity": "high", "reason": REASON})
    assert errors == {"severity": "The case already has this severity."}
    errors = modal_errors(bot, "Change severity", OFFICER, {"severity": "low", "reason": ""})
    assert list(errors) == ["reason"]


FORM = "application/x-www-form-urlencoded"


def test_a_replayed_change_changes_nothing_and_an_earlier_one_is_stale(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    first = change(bot, "Change severity", OFFICER, {"severity": "low", "reason": REASON})
    events = case_row(bot).event_count
    again = bot.driver.raw(first.request_body, FORM)  # Slack's retry of the same submission
    assert (again.status, again.body) == (200, b"")
    assert case_row(bot).event_count == events
    change(bot, "Change severity", OFFICER, {"severity": "critical", "reason": "Worse."})
    late = bot.driver.raw(first.request_body, FORM)  # the first, after a newer change
    assert late.json()["response_action"] == "errors"
    assert "has moved on" in str(late.json()["errors"])
    assert case_row(bot).severity == "critical"
    assert [e.payload["data"]["to"] for e in case_events(bot) if e.kind == "severity_changed"] == [
        "low",
        "critical",
    ]


def test_a_forged_or_out_of_state_choice_is_refused_and_changes_nothing(bot: LocalBot) -> None:
    walk_to(bot, "reported")
    before = snapshot(bot)
    answers = len(bot.standin.response_posts())
    ts = card(bot).ts
    bot.driver.click(TRIAGE, ts, "case_change", user=OFFICER, value="amend_measure:1:1")
    assert refusal_after(bot, answers) == (
        "Amend measure is not possible while the case is at “Reported”."
    )
    bot.driver.click(TRIAGE, ts, "case_change", user=OFFICER, value="change_severity:NC-1:1")
    assert refusal_after(bot, answers + 1).startswith("This button or form could not be read")
    bot.driver.click(TRIAGE, ts, "case_change", user=OFFICER, value="rename:1:1")
    assert refusal_after(bot, answers + 2).startswith("This button or form could not be read")
    assert snapshot(bot) == before


# --- Reassign -------------------------------------------------------------------------------


def test_triage_reassigns_the_case_and_the_new_owner_is_told(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    change(bot, "Reassign", OFFICER, {"whose": "case", "owner": OFFICER2, "reason": REASON})
    assert case_row(bot).owner_id == OFFICER2
    assert f"<@{OFFICER2}>" in str(card(bot).blocks)
    (told,) = [t for t in dms(bot, OFFICER2) if "You now own case" in t]
    assert f"assigned by <@{OFFICER}>: {REASON}" in told
    (line,) = [t for t in thread_texts(bot) if "Case owner reassigned" in t]
    assert f"from <@{OFFICER}> to <@{OFFICER2}>" in line
    assert audit_verified(bot)


def test_the_measure_owner_is_reassigned_and_may_then_mark_it_done(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    change(bot, "Reassign", OFFICER, {"whose": "measure", "owner": APPROVER, "reason": REASON})
    assert current_measure(bot).owner == APPROVER
    assert any("You now own the corrective action" in t for t in dms(bot, APPROVER))
    # The measure owner may carry it out (Done admits the measure's owner, whatever their roles).
    decide(bot, "measure_done", APPROVER, DONE_EVIDENCE)
    assert case_row(bot).state == "measure_done"
    assert audit_verified(bot)


def test_an_approver_cannot_reassign(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    assert refused_change(bot, "Reassign", APPROVER) == "Only @triage, @admins can do this."


# --- Change target date --------------------------------------------------------------------


def test_an_approver_moves_the_target_date_approvers_are_told_and_overdue_moves(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_approved")
    (before,) = [t for t in timers(bot, "measure_overdue") if t[0] == "pending"]
    change(bot, "Change target date", APPROVER, {"target_date": "2026-12-31", "reason": REASON})
    assert current_measure(bot).target_date.isoformat() == "2026-12-31"
    # The other approvers are told (the one who moved it knows).
    assert any("moved from 2026-12-15 to 2026-12-31" in t for t in dms(bot, APPROVER2))
    assert not any("moved from" in t for t in dms(bot, APPROVER))
    (line,) = [t for t in thread_texts(bot) if "Target date changed" in t]
    assert "from 2026-12-15 to 2026-12-31" in line
    running = [t for t in timers(bot, "measure_overdue") if t[0] == "pending"]
    assert len(running) == 1 and running[0][1] - before[1] == timedelta(days=16)
    assert "2026-12-31" in str(card(bot).blocks)
    # The case stays where it was: the thread's Done button still works.
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    assert audit_verified(bot)


def test_a_target_date_in_the_past_is_refused_inline(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    errors = modal_errors(
        bot, "Change target date", APPROVER, {"target_date": "2020-01-01", "reason": REASON}
    )
    assert list(errors) == ["target_date"]


# --- Amend measure ---------------------------------------------------------------------------


AMENDED = {**MEASURE_PLAN, "plan": "Pull 2.3 and roll back to 2.2.", "reason": REASON}


def test_an_approver_who_amended_the_measure_cannot_approve_the_amendment(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    view = open_change(bot, "Amend measure", APPROVER)
    plan = next(b for b in view["blocks"] if b.get("block_id") == "plan")
    assert plan["element"]["initial_value"] == MEASURE_PLAN["plan"]  # as it stands
    change(bot, "Amend measure", APPROVER, AMENDED)

    case = case_row(bot)
    assert case.state == "measure_proposed"
    assert current_measure(bot).plan == AMENDED["plan"]
    assert current_measure(bot).approvals == ()
    assert any("Measure amended" in t and "goes back to approval" in t for t in thread_texts(bot))
    before = snapshot(bot)
    answers = len(bot.standin.response_posts())
    from tests.scenarios import click_step

    click_step(bot, "measure_approve", APPROVER)
    assert refusal_after(bot, answers) == (
        "You amended this corrective action, so someone else must approve or reject the amendment."
    )
    assert snapshot(bot) == before
    decide(bot, "measure_approve", APPROVER2)
    assert case_row(bot).state == "measure_approved"
    assert audit_verified(bot)
    assert "amended measure 1 (Withdraw)" in chronology(bot)


def test_every_amender_since_the_last_approval_is_barred_from_approving(bot: LocalBot) -> None:
    """Four eyes over what awaits approval: A amends, B amends again, and A still wrote part of
    it — A may not approve; the one who wrote none of it may."""
    from tests.scenarios import click_step

    walk_to(bot, "measure_approved")
    change(bot, "Amend measure", APPROVER, AMENDED)
    change(bot, "Amend measure", OFFICER, {**AMENDED, "plan": "Pull 2.3; roll back to 2.2.1."})
    answers = len(bot.standin.response_posts())
    click_step(bot, "measure_approve", APPROVER)
    assert refusal_after(bot, answers) == (
        "You amended this corrective action, so someone else must approve or reject the amendment."
    )
    assert case_row(bot).state == "measure_proposed"
    decide(bot, "measure_approve", APPROVER2)
    assert case_row(bot).state == "measure_approved"
    assert audit_verified(bot)


def test_a_measure_awaiting_approval_changed_is_asked_anew(bot: LocalBot) -> None:
    """A new target date or measure owner while the measure awaits approval changes what the
    approvers approve: the Approve button they were shown goes stale, the thread asks anew."""
    walk_to(bot, "measure_proposed")
    shown, version = last_step_message(bot), case_row(bot).version
    change(bot, "Change target date", OFFICER, {"target_date": "2026-12-31", "reason": REASON})
    assert case_row(bot).version == version + 1  # an Approve of the version shown is stale
    answered = bot.standin.message(shown.channel, shown.ts)
    assert not [b for b in answered.blocks or [] if b.get("type") == "actions"]
    assert case_row(bot).state == "measure_proposed" and current_measure(bot).approvals == ()
    asked = last_step_message(bot)
    assert asked.ts != shown.ts and "2026-12-31" in str(asked.blocks)
    decide(bot, "measure_approve", APPROVER)
    assert case_row(bot).state == "measure_approved"
    assert audit_verified(bot)


def test_a_user_without_a_role_cannot_amend(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    assert refused_change(bot, "Amend measure", REPORTER) == "Only @triage, @approvers can do this."


# --- Add a measure ---------------------------------------------------------------------------


def add_measure(bot: LocalBot, user: str, kind: str, plan: dict[str, Any]) -> None:
    view = open_change(bot, "Add a measure", user)
    response = bot.driver.submit(view["id"], user=user, values={"measure": kind})
    assert response.status == 200 and response.json()["response_action"] == "update"
    form = bot.driver.last_view(user)
    events = case_row(bot).event_count
    response = bot.driver.submit(form["id"], user=user, values=plan)
    assert (response.status, response.body) == (200, b""), response.body
    wait_for(lambda: case_row(bot).event_count > events, what="the measure to be added")
    settle(bot)


LATER = {
    "plan": "Retrain with applicants over 60 and release 2.4.",
    "owner": OFFICER,
    "target_date": "2027-02-01",
    "affected": "credit-scoring 2.3",
    "keeps_running": "no",
    "reason": "Disabled now; brought into conformity later.",
}


def test_disable_now_bring_into_conformity_later_is_one_case(any_db_bot: LocalBot) -> None:
    bot = any_db_bot  # on SQLite and PostgreSQL
    walk_to(bot, "measure_done")
    add_measure(bot, OFFICER, "bring_into_conformity", LATER)
    case = case_row(bot)
    assert case.state == "measure_proposed"
    assert [m.measure.value for m in case.measures_in_force] == [
        "withdraw",
        "bring_into_conformity",
    ]
    assert any("Measure added" in t for t in thread_texts(bot))
    decide(bot, "measure_approve", APPROVER)
    decide(bot, "measure_done", OFFICER, DONE_EVIDENCE)
    step = last_step_message(bot)
    checklist = str(step.blocks)  # Close waits for both
    assert "Withdraw carried out" in checklist and "Bring into conformity carried out" in checklist
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    assert all(m.done is not None for m in case_row(bot).measures)
    assert audit_verified(bot)
    assert "added measure 2 (Bring into conformity)" in chronology(bot)


def test_an_added_measure_rejected_leaves_the_first_one_carried_out(bot: LocalBot) -> None:
    walk_to(bot, "measure_done")
    add_measure(bot, OFFICER, "bring_into_conformity", LATER)
    decide(bot, "measure_reject", APPROVER, {"reason": "Not needed."})
    assert case_row(bot).state == "measure_done"
    decide(bot, "case_close", OFFICER)
    assert audit_verified(bot)


def pending_overdue(bot: LocalBot) -> list[Any]:
    return [anchor for status, anchor, _ in timers(bot, "measure_overdue") if status == "pending"]


def test_a_measure_added_while_the_first_is_carried_out_is_done_on_its_own(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_approved")  # Withdraw, owned by OFFICER2, by 2026-12-15
    add_measure(bot, OFFICER, "bring_into_conformity", LATER)
    assert case_row(bot).state == "measure_proposed"
    assert pending_overdue(bot) == []  # nothing falls overdue while a proposal waits
    decide(bot, "measure_approve", APPROVER)
    assert case_row(bot).state == "measure_approved"
    assert len(pending_overdue(bot)) == 2  # each approved measure from its own target date
    step = last_step_message(bot).text
    assert "Withdraw" in step and "2026-12-15" in step  # the first one first

    # Two measures open: the date (or the owner) changed is the one chosen in the modal.
    view = open_change(bot, "Change target date", APPROVER)
    (which,) = [b for b in view["blocks"] if b.get("block_id") == "measure"]
    assert [o["text"]["text"] for o in which["element"]["options"]] == [
        "1. Withdraw (target 2026-12-15)",
        "2. Bring into conformity (target 2027-02-01)",
    ]
    moved = {"measure": "1", "target_date": "2026-12-20", "reason": REASON}
    errors = modal_errors(bot, "Change target date", APPROVER, {**moved, "measure": "7"})
    assert errors == {"measure": "Choose one of the measures still to be carried out."}
    change(bot, "Change target date", APPROVER, moved)
    first, second = case_row(bot).measures
    assert (str(first.target_date), str(second.target_date)) == ("2026-12-20", "2027-02-01")
    assert len(pending_overdue(bot)) == 2
    change(
        bot,
        "Reassign",
        OFFICER,
        {"whose": "measure", "measure": "1", "owner": OFFICER, "reason": REASON},
    )
    first, second = case_row(bot).measures
    assert (first.owner, second.owner) == (OFFICER, OFFICER)
    assert audit_verified(bot)
    decide(bot, "measure_done", OFFICER, DONE_EVIDENCE)
    assert case_row(bot).state == "measure_approved"  # the second is still to be done
    assert len(pending_overdue(bot)) == 1
    step = last_step_message(bot).text
    assert "Bring into conformity" in step and "2027-02-01" in step
    from tests.scenarios import refused as refused_click

    text = refused_click(bot, "measure_done", APPROVER)
    assert text == f"Only <@{OFFICER}>, @triage can do this."  # the second's owner now
    decide(bot, "measure_done", OFFICER, DONE_EVIDENCE)
    assert case_row(bot).state == "measure_done"
    assert pending_overdue(bot) == []
    decide(bot, "case_close", OFFICER)
    assert audit_verified(bot)


def test_an_added_measure_rejected_while_the_first_is_carried_out_goes_back_to_it(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_approved")
    add_measure(bot, OFFICER, "bring_into_conformity", LATER)
    decide(bot, "measure_reject", APPROVER, {"reason": "Retraining is not needed."})
    assert case_row(bot).state == "measure_approved"
    assert len(pending_overdue(bot)) == 1  # the first measure's, again
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    assert case_row(bot).state == "measure_done"
    assert audit_verified(bot)


# --- Dutch -----------------------------------------------------------------------------------


@pytest.fixture
def dutch_bot(tmp_path: Path) -> Iterator[LocalBot]:
    workspace = guided_workspace().model_copy(update={"language": "nl"})
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with LocalBot(workspace, database_url=url, clock=FakeClock()) as local:
        yield local


def test_changes_speak_dutch_in_a_dutch_workspace(dutch_bot: LocalBot) -> None:
    bot = dutch_bot
    walk_to(bot, "measure_approved")
    assert menu(bot)["placeholder"]["text"] == "Wijzigen…"
    assert menu_labels(bot) == [
        "Ernst wijzigen",
        "Toewijzen",
        "Streefdatum wijzigen",
        "Maatregel aanpassen",
        "Maatregel toevoegen",
    ]
    assert (
        refused_change(bot, "Ernst wijzigen", REPORTER) == "Alleen @triage, @admins kan dit doen."
    )
    change(bot, "Ernst wijzigen", OFFICER, {"severity": "low", "reason": "Minder erg."})
    assert any("*Ernst gewijzigd*" in t and "van Hoog naar Laag" in t for t in thread_texts(bot))
    change(bot, "Maatregel aanpassen", APPROVER, {**AMENDED, "reason": "Beter plan."})
    from tests.scenarios import click_step

    answers = len(bot.standin.response_posts())
    click_step(bot, "measure_approve", APPROVER)
    assert refusal_after(bot, answers).startswith(
        "Je hebt deze corrigerende maatregel zelf aangepast"
    )
    decide(bot, "measure_approve", APPROVER2)
    change(
        bot, "Toewijzen", OFFICER2, {"whose": "measure", "owner": OFFICER, "reason": "Vakantie."}
    )
    assert any("Je bent nu eigenaar van de corrigerende maatregel" in t for t in dms(bot, OFFICER))
    refusal = refused_change(bot, "Streefdatum wijzigen", REPORTER)
    assert refusal == "Alleen @triage, @approvers kan dit doen."
    change(bot, "Streefdatum wijzigen", APPROVER, {"target_date": "2026-12-31", "reason": "Later."})
    assert any("*Streefdatum gewijzigd*" in t for t in thread_texts(bot))
    assert any("is verschoven van 2026-12-15 naar 2026-12-31" in t for t in dms(bot, APPROVER2))
    decide(bot, "measure_done", OFFICER, DONE_EVIDENCE)
    assert menu_labels(bot) == ["Ernst wijzigen", "Toewijzen", "Maatregel toevoegen"]
    assert audit_verified(bot)


# --- Amend measure after partners were informed ---------------------------------------------


@pytest.fixture
def partner_bot(tmp_path: Path) -> Iterator[LocalBot]:
    """The sample workspace: credit-scoring has three partners to inform."""
    from bot.ops.workspace import load_workspace, sample_path

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with LocalBot(load_workspace(sample_path()), database_url=url, clock=FakeClock()) as local:
        yield local


def test_partners_informed_get_an_update_notice_and_close_waits_for_its_receipt(
    partner_bot: LocalBot,
) -> None:
    from tests.scenarios import PARTNER_CHANNELS, acknowledge_notices, notices_in, refused

    bot = partner_bot
    walk_to(bot, "measure_approved")
    acknowledge_notices(bot)
    change(bot, "Amend measure", OFFICER, AMENDED)
    assert all(len(notices_in(bot, channel)) == 1 for channel in PARTNER_CHANNELS)
    decide(bot, "measure_approve", APPROVER)  # neither the proposer nor the amender

    for channel in PARTNER_CHANNELS:
        first, update = notices_in(bot, channel)
        assert "update" not in {b.get("block_id") for b in first.blocks}
        (said,) = [b["text"]["text"] for b in update.blocks if b.get("block_id") == "update"]
        assert said.startswith("*Update:*") and REASON in said
        assert any(e.get("action_id") == "notice_acknowledge_receipt" for e in _elements(update))
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    text = refused(bot, "case_close", OFFICER)
    assert "Northwind Bank" in text and "EU Import GmbH" in text
    acknowledge_notices(bot)
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    assert audit_verified(bot)


def test_a_notice_not_yet_acknowledged_is_replaced_by_the_update_and_stops_reminding(
    partner_bot: LocalBot,
) -> None:
    from tests.scenarios import PARTNER_CHANNELS, PARTNER_USER, notices_in

    bot = partner_bot
    walk_to(bot, "measure_approved")  # nobody acknowledges the first notices
    assert timers(bot, "notice_receipt")  # they remind
    change(bot, "Amend measure", OFFICER, AMENDED)
    assert all(status == "cancelled" for status, *_ in timers(bot, "notice_receipt"))
    decide(bot, "measure_approve", APPROVER)
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    for channel in PARTNER_CHANNELS:  # only the update is acknowledged
        update = notices_in(bot, channel)[-1]
        bot.driver.click(channel, update.ts, "notice_acknowledge_receipt", user=PARTNER_USER)
    wait_for(
        lambda: sum(n.status == "acknowledged" for n in notice_statuses(bot)) == 3,
        what="the three update notices acknowledged",
    )
    settle(bot)
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    assert audit_verified(bot)


def notice_statuses(bot: LocalBot) -> list[Any]:
    from storage import notices as stored

    with bot.services.db.transaction() as session:
        return list(stored.of_case(session, case_row(bot).id))


def _elements(message: Any) -> list[dict[str, Any]]:
    return [e for b in message.blocks or [] for e in b.get("elements") or []]


# --- Art. 73(6) -----------------------------------------------------------------------------


SERIOUS = {
    "nature": "Credit was refused to applicants over 60 without a legal basis.",
    "causal_link": "The March retraining used a sample without applicants over 60.",
    "risk": "no",
    "serious_incident": "c",
    "aware_on": "2026-11-29",
    **WHERE,
}


def test_adding_a_measure_that_alters_a_serious_incidents_system_needs_the_warning_confirmed(
    bot: LocalBot,
) -> None:
    from tests.scenarios import assessed, view_text

    assessed(bot, SERIOUS)
    walk_to_more(bot, "measure_done")
    view = open_change(bot, "Add a measure", OFFICER)
    response = bot.driver.submit(
        view["id"], user=OFFICER, values={"measure": "bring_into_conformity"}
    )
    assert response.json()["response_action"] == "update"
    form = bot.driver.last_view(OFFICER)
    assert "Art. 73(6) — do not alter the AI system" in view_text(form)
    unticked = bot.driver.submit(form["id"], user=OFFICER, values=LATER)
    assert unticked.json() == {
        "response_action": "errors",
        "errors": {"art73_6": "Confirm that you read the Art. 73(6) warning."},
    }
    assert case_row(bot).state == "measure_done"
    ticked = bot.driver.submit(form["id"], user=OFFICER, values={**LATER, "art73_6": ["read"]})
    assert (ticked.status, ticked.body) == (200, b"")
    wait_for(lambda: case_row(bot).state == "measure_proposed", what="the added measure")
    settle(bot)
    (line,) = [t for t in thread_texts(bot) if "Measure added" in t]
    assert line.endswith(f"(The Art. 73(6) warning was shown; <@{OFFICER}> went on.)")
    warning = current_measure(bot).art73_6_warning
    assert warning is not None and warning.continued_by == OFFICER
    assert audit_verified(bot)


# --- the demo shows it ----------------------------------------------------------------------


def test_the_demo_plays_disable_now_bring_into_conformity_later_as_one_case() -> None:
    """``nonconformity-bot demo --two-measures``."""
    import io

    from bot.devkit.demo import TWO_MEASURES, run_demo

    out, err = io.StringIO(), io.StringIO()
    assert run_demo(out, err, TWO_MEASURES) == 0, err.getvalue()
    shown = out.getvalue()
    assert "chooses [Change… ▾] → Add a measure" in shown
    assert "✅ Disable carried out (recorded by @Omar Officer)" in shown
    assert "✅ Bring into conformity carried out (recorded by @Omar Officer)" in shown
    assert "Closed by @Olga Officer" in shown
