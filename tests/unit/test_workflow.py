"""The case state machine, checked against expectations written out here by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.cases.workflow import (
    Action,
    Actor,
    Allowed,
    CaseFacts,
    CaseState,
    Refused,
    Role,
    available_actions,
    decide,
    next_step_key,
)
from bot.messages import EN, NL

REPORTER, OWNER, PROPOSER, MEASURE_OWNER = "U_REPORTER", "U_OWNER", "U_PROPOSER", "U_MOWNER"

ACTORS: dict[str, Actor] = {
    "triage": Actor("U_TRIAGE", frozenset({Role.TRIAGE}), external=False),
    "approver": Actor("U_APPROVER", frozenset({Role.APPROVERS}), external=False),
    "admin": Actor("U_ADMIN", frozenset({Role.ADMINS}), external=False),
    "proposer": Actor(PROPOSER, frozenset({Role.APPROVERS}), external=False),
    "case_owner": Actor(OWNER, frozenset(), external=False),
    "measure_owner": Actor(MEASURE_OWNER, frozenset(), external=False),
    "reporter": Actor(REPORTER, frozenset(), external=False),
    "external_with_every_role": Actor("U_EXT", frozenset(Role), external=True),
    "external_case_owner": Actor(OWNER, frozenset(Role), external=True),
}

# The procedure as written in the brief, one line per arrow.
ARROWS: dict[tuple[Action, CaseState], CaseState] = {
    (Action.ACKNOWLEDGE, CaseState.REPORTED): CaseState.ACKNOWLEDGED,
    (Action.CONFIRM, CaseState.ACKNOWLEDGED): CaseState.CONFIRMED,
    (Action.DISMISS, CaseState.ACKNOWLEDGED): CaseState.DISMISSED,
    (Action.PROPOSE_MEASURE, CaseState.CONFIRMED): CaseState.MEASURE_PROPOSED,
    (Action.APPROVE, CaseState.MEASURE_PROPOSED): CaseState.MEASURE_APPROVED,
    (Action.REJECT, CaseState.MEASURE_PROPOSED): CaseState.CONFIRMED,
    (Action.MARK_DONE, CaseState.MEASURE_APPROVED): CaseState.MEASURE_DONE,
    (Action.CLOSE, CaseState.MEASURE_DONE): CaseState.CLOSED,
    (Action.REOPEN, CaseState.CLOSED): CaseState.CONFIRMED,
    (Action.REOPEN, CaseState.DISMISSED): CaseState.ACKNOWLEDGED,
}

# Which of the actors above pass the role check, and how the refusal names who may.
MAY: dict[Action, tuple[set[str], str]] = {
    Action.ACKNOWLEDGE: ({"triage"}, "@triage"),
    Action.CONFIRM: ({"triage"}, "@triage"),
    Action.DISMISS: ({"triage"}, "@triage"),
    Action.PROPOSE_MEASURE: ({"triage", "approver", "proposer"}, "@triage, @approvers"),
    Action.APPROVE: ({"approver", "proposer"}, "@approvers"),
    Action.REJECT: ({"approver", "proposer"}, "@approvers"),
    Action.MARK_DONE: ({"triage", "measure_owner"}, "<@U_MOWNER>, @triage"),
    Action.CLOSE: ({"triage", "case_owner"}, "<@U_OWNER>, @triage"),
    Action.REOPEN: ({"admin"}, "@admins"),
}


def facts(state: CaseState, *blockers: tuple[str, dict[str, str]]) -> CaseFacts:
    return CaseFacts(state, REPORTER, OWNER, PROPOSER, MEASURE_OWNER, tuple(blockers))


def expected(action: Action, state: CaseState, kind: str) -> Allowed | Refused:
    if kind.startswith("external"):
        return Refused("refusal.external")
    if (action, state) not in ARROWS:
        return Refused("refusal.wrong_state", {"action": action.value, "state": state.value})
    kinds, who = MAY[action]
    if kind not in kinds:
        return Refused("refusal.not_allowed", {"action": action.value, "who": who})
    if kind == "proposer" and action in (Action.APPROVE, Action.REJECT):
        return Refused("refusal.four_eyes")
    return Allowed(action, state, ARROWS[action, state])


@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("state", CaseState)
@pytest.mark.parametrize("action", Action)
def test_every_action_in_every_state_by_every_kind_of_actor(
    action: Action, state: CaseState, kind: str
) -> None:
    assert decide(facts(state), action, ACTORS[kind]) == expected(action, state, kind)


def test_the_whole_procedure_from_report_to_close() -> None:
    steps = [
        ("triage", Action.ACKNOWLEDGE, CaseState.ACKNOWLEDGED),
        ("triage", Action.CONFIRM, CaseState.CONFIRMED),
        ("proposer", Action.PROPOSE_MEASURE, CaseState.MEASURE_PROPOSED),
        ("approver", Action.APPROVE, CaseState.MEASURE_APPROVED),
        ("measure_owner", Action.MARK_DONE, CaseState.MEASURE_DONE),
        ("case_owner", Action.CLOSE, CaseState.CLOSED),
    ]
    state = CaseState.REPORTED
    for kind, action, target in steps:
        outcome = decide(facts(state), action, ACTORS[kind])
        assert outcome == Allowed(action, state, target)
        state = target


def test_a_second_approver_clicking_after_the_first_is_told_the_case_moved_on() -> None:
    second_approver = Actor("U_SECOND", frozenset({Role.APPROVERS}), external=False)
    outcome = decide(facts(CaseState.MEASURE_APPROVED), Action.APPROVE, second_approver)
    assert outcome == Refused(
        "refusal.wrong_state", {"action": "approve", "state": "measure_approved"}
    )


def test_the_proposer_cannot_approve_their_own_measure_even_with_every_role() -> None:
    proposer = Actor(PROPOSER, frozenset(Role), external=False)
    for action in (Action.APPROVE, Action.REJECT):
        outcome = decide(facts(CaseState.MEASURE_PROPOSED), action, proposer)
        assert outcome == Refused("refusal.four_eyes")


def test_a_rejected_measure_goes_back_to_choosing_one() -> None:
    outcome = decide(facts(CaseState.MEASURE_PROPOSED), Action.REJECT, ACTORS["approver"])
    assert outcome == Allowed(Action.REJECT, CaseState.MEASURE_PROPOSED, CaseState.CONFIRMED)


def test_a_case_without_a_recorded_proposer_can_be_approved_by_any_approver() -> None:
    case = replace(facts(CaseState.MEASURE_PROPOSED), measure_proposer_id=None)
    assert isinstance(decide(case, Action.APPROVE, ACTORS["proposer"]), Allowed)


def test_without_a_measure_owner_only_triage_may_mark_it_done() -> None:
    case = replace(facts(CaseState.MEASURE_APPROVED), measure_owner_id=None)
    outcome = decide(case, Action.MARK_DONE, ACTORS["measure_owner"])
    assert outcome == Refused("refusal.not_allowed", {"action": "mark_done", "who": "@triage"})


def test_close_is_refused_with_every_blocker_while_any_remain() -> None:
    blockers = (
        ("close.partner_unacknowledged", {"partner": "Acme"}),
        ("close.authority_missing", {}),
    )
    case = facts(CaseState.MEASURE_DONE, *blockers)
    for kind in ("triage", "case_owner"):
        outcome = decide(case, Action.CLOSE, ACTORS[kind])
        assert outcome == Refused("close.blocked.all", {"blockers": blockers})


def test_blockers_do_not_hide_that_the_actor_may_not_close_at_all() -> None:
    case = facts(CaseState.MEASURE_DONE, ("close.authority_missing", {}))
    outcome = decide(case, Action.CLOSE, ACTORS["approver"])
    assert outcome == Refused(
        "refusal.not_allowed", {"action": "close", "who": "<@U_OWNER>, @triage"}
    )
    assert decide(case, Action.CLOSE, ACTORS["external_case_owner"]) == Refused("refusal.external")


def test_an_admin_reopens_a_closed_case_to_choose_a_new_measure() -> None:
    outcome = decide(facts(CaseState.CLOSED), Action.REOPEN, ACTORS["admin"])
    assert outcome == Allowed(Action.REOPEN, CaseState.CLOSED, CaseState.CONFIRMED)


def test_an_admin_reopens_a_dismissed_case_to_assess_it_again() -> None:
    outcome = decide(facts(CaseState.DISMISSED), Action.REOPEN, ACTORS["admin"])
    assert outcome == Allowed(Action.REOPEN, CaseState.DISMISSED, CaseState.ACKNOWLEDGED)


def test_triage_cannot_reopen_a_closed_case() -> None:
    outcome = decide(facts(CaseState.CLOSED), Action.REOPEN, ACTORS["triage"])
    assert outcome == Refused("refusal.not_allowed", {"action": "reopen", "who": "@admins"})


@pytest.mark.parametrize(
    ("state", "kind", "actions"),
    [
        (CaseState.REPORTED, "triage", [Action.ACKNOWLEDGE]),
        (CaseState.ACKNOWLEDGED, "triage", [Action.CONFIRM, Action.DISMISS]),
        (CaseState.CONFIRMED, "approver", [Action.PROPOSE_MEASURE]),
        (CaseState.MEASURE_PROPOSED, "approver", [Action.APPROVE, Action.REJECT]),
        (CaseState.MEASURE_PROPOSED, "proposer", []),
        (CaseState.MEASURE_APPROVED, "measure_owner", [Action.MARK_DONE]),
        (CaseState.MEASURE_DONE, "case_owner", [Action.CLOSE]),
        (CaseState.CLOSED, "admin", [Action.REOPEN]),
        (CaseState.CLOSED, "triage", []),
        (CaseState.REPORTED, "reporter", []),
        (CaseState.ACKNOWLEDGED, "external_with_every_role", []),
    ],
)
def test_available_actions_are_the_buttons_the_actor_may_press_now(
    state: CaseState, kind: str, actions: list[Action]
) -> None:
    assert available_actions(facts(state), ACTORS[kind]) == actions


def test_a_blocked_close_is_not_offered_as_a_button() -> None:
    case = facts(CaseState.MEASURE_DONE, ("close.authority_missing", {}))
    assert available_actions(case, ACTORS["triage"]) == []


@pytest.mark.parametrize(
    ("state", "key"),
    [
        (CaseState.REPORTED, "next.acknowledge"),
        (CaseState.ACKNOWLEDGED, "next.assess"),
        (CaseState.CONFIRMED, "next.propose_measure"),
        (CaseState.MEASURE_PROPOSED, "next.approve"),
        (CaseState.MEASURE_APPROVED, "next.mark_done"),
        (CaseState.MEASURE_DONE, "next.close"),
        (CaseState.CLOSED, "next.none"),
        (CaseState.DISMISSED, "next.none"),
    ],
)
def test_each_state_names_what_it_waits_for(state: CaseState, key: str) -> None:
    assert next_step_key(state) == key


def test_every_key_the_machine_uses_has_an_english_and_a_dutch_text() -> None:
    keys = {"refusal.external", "refusal.wrong_state", "refusal.not_allowed", "refusal.four_eyes"}
    keys |= {next_step_key(state) for state in CaseState}
    keys |= {f"state.{state.value}" for state in CaseState}
    assert keys <= EN.keys()
    assert keys <= NL.keys()
