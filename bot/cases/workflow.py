"""The case state machine of the Article 20 procedure: who may move a case where, and when not.

Pure on purpose: services load the facts, ask ``decide`` and save the outcome, so every rule
about order, roles and four-eyes lives in ``TRANSITIONS`` and can be read and tested in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class CaseState(StrEnum):
    REPORTED = "reported"  # waits for Acknowledge
    ACKNOWLEDGED = "acknowledged"  # waits for the assessment: confirm or dismiss
    CONFIRMED = "confirmed"  # non-conformity confirmed, waits for a measure
    MEASURE_PROPOSED = "measure_proposed"  # waits for approval
    MEASURE_APPROVED = "measure_approved"  # being carried out, waits for Done
    MEASURE_DONE = "measure_done"  # waits for Close
    CLOSED = "closed"
    DISMISSED = "dismissed"  # closed as "not a non-conformity"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    PROPOSE_MEASURE = "propose_measure"
    APPROVE = "approve"
    REJECT = "reject"
    MARK_DONE = "mark_done"
    CLOSE = "close"
    REOPEN = "reopen"


class Role(StrEnum):
    TRIAGE = "triage"
    APPROVERS = "approvers"
    ADMINS = "admins"


class Party(StrEnum):
    """A person a transition also admits because of what they own, whatever their roles."""

    CASE_OWNER = "case_owner"
    MEASURE_OWNER = "measure_owner"


@dataclass(frozen=True)
class Actor:
    user_id: str
    roles: frozenset[Role]
    external: bool  # a user of another workspace (Slack Connect)


Blocker = tuple[str, Mapping[str, object]]
"""Why a case cannot close yet: a message key and its parameters, computed by services."""

CLOSE_BLOCKED = "close.blocked.all"
"""The refusal of Close while blockers remain; its ``blockers`` parameter lists them all."""


@dataclass(frozen=True)
class CaseFacts:
    state: CaseState
    reporter_id: str
    owner_id: str | None
    measure_proposer_id: str | None
    measure_owner_id: str | None
    close_blockers: tuple[Blocker, ...] = ()
    # Who last amended the measure in force: under four eyes, they may not approve it either.
    measure_amenders: frozenset[str] = frozenset()  # since its last approval
    # Where the measures before the newest leave the case (added measures): a rejection of the
    # added one returns the case there — carried out, or still being carried out.
    earlier_measures: CaseState | None = None
    # Done for one measure while another approved one is still to be carried out: the case
    # stays where it is, and the thread asks for the next one's Done.
    open_after_done: bool = False


@dataclass(frozen=True)
class Allowed:
    action: Action
    from_state: CaseState
    to_state: CaseState


@dataclass(frozen=True)
class Refused:
    key: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    action: Action
    source: CaseState
    target: CaseState
    roles: frozenset[Role]
    party: Party | None = None
    four_eyes: bool = False  # the measure's proposer may not decide on it
    blockable: bool = False  # refused while the case has close blockers


def _t(
    action: Action,
    source: CaseState,
    target: CaseState,
    *roles: Role,
    party: Party | None = None,
    four_eyes: bool = False,
    blockable: bool = False,
) -> Transition:
    return Transition(action, source, target, frozenset(roles), party, four_eyes, blockable)


S, A, R = CaseState, Action, Role  # short names so each transition fits on one line

TRANSITIONS: tuple[Transition, ...] = (
    _t(A.ACKNOWLEDGE, S.REPORTED, S.ACKNOWLEDGED, R.TRIAGE),
    _t(A.CONFIRM, S.ACKNOWLEDGED, S.CONFIRMED, R.TRIAGE),
    _t(A.DISMISS, S.ACKNOWLEDGED, S.DISMISSED, R.TRIAGE),
    _t(A.PROPOSE_MEASURE, S.CONFIRMED, S.MEASURE_PROPOSED, R.TRIAGE, R.APPROVERS),
    _t(A.APPROVE, S.MEASURE_PROPOSED, S.MEASURE_APPROVED, R.APPROVERS, four_eyes=True),
    _t(A.REJECT, S.MEASURE_PROPOSED, S.CONFIRMED, R.APPROVERS, four_eyes=True),
    _t(A.MARK_DONE, S.MEASURE_APPROVED, S.MEASURE_DONE, R.TRIAGE, party=Party.MEASURE_OWNER),
    _t(A.CLOSE, S.MEASURE_DONE, S.CLOSED, R.TRIAGE, party=Party.CASE_OWNER, blockable=True),
    _t(A.REOPEN, S.CLOSED, S.CONFIRMED, R.ADMINS),
    _t(A.REOPEN, S.DISMISSED, S.ACKNOWLEDGED, R.ADMINS),
)

_BY_KEY: dict[tuple[Action, CaseState], Transition] = {(t.action, t.source): t for t in TRANSITIONS}

_NEXT_STEP: dict[CaseState, str] = {
    S.REPORTED: "next.acknowledge",
    S.ACKNOWLEDGED: "next.assess",
    S.CONFIRMED: "next.propose_measure",
    S.MEASURE_PROPOSED: "next.approve",
    S.MEASURE_APPROVED: "next.mark_done",
    S.MEASURE_DONE: "next.close",
    S.CLOSED: "next.none",
    S.DISMISSED: "next.none",
}


def decide(facts: CaseFacts, action: Action, actor: Actor) -> Allowed | Refused:
    """Allow ``action`` or say precisely why not.

    The state is checked before the roles so that a stale button (the second approver clicking
    after the first) is told the case has moved on, not that they lack a role they do have.
    """
    if actor.external:
        return Refused("refusal.external")
    transition = _BY_KEY.get((action, facts.state))
    if transition is None:
        return Refused("refusal.wrong_state", {"action": action.value, "state": facts.state.value})
    party_id = _party_id(facts, transition.party)
    if not (actor.roles & transition.roles or (party_id and actor.user_id == party_id)):
        return Refused(
            "refusal.not_allowed", {"action": action.value, "who": _who(transition, party_id)}
        )
    if transition.four_eyes and actor.user_id == facts.measure_proposer_id:
        return Refused("refusal.four_eyes")
    if transition.four_eyes and actor.user_id in facts.measure_amenders:
        return Refused("refusal.four_eyes.amended")
    if transition.blockable and facts.close_blockers:
        # Every missing item at once: one refusal per blocker would have people press again.
        return Refused(CLOSE_BLOCKED, {"blockers": facts.close_blockers})
    if action is Action.REJECT and facts.earlier_measures is not None:
        # An added measure refused: the measures before it stay where they were.
        return Allowed(action, transition.source, facts.earlier_measures)
    if action is Action.MARK_DONE and facts.open_after_done:
        return Allowed(action, transition.source, transition.source)
    return Allowed(action, transition.source, transition.target)


class Change(StrEnum):
    """A change to a case that does not start it over (the card's **Change…** menu)."""

    SEVERITY = "change_severity"
    REASSIGN = "reassign"
    TARGET_DATE = "change_target_date"
    AMEND_MEASURE = "amend_measure"
    ADD_MEASURE = "add_measure"


OPEN_STATES = frozenset(s for s in CaseState if s not in (S.CLOSED, S.DISMISSED))
WITH_MEASURE = frozenset({S.MEASURE_PROPOSED, S.MEASURE_APPROVED})


@dataclass(frozen=True)
class ChangeRule:
    """Who may make a change, in which states, and where it leaves the case (``None``: where it
    was). Amending a measure sends it back to approval, under the four-eyes rule; adding one
    starts its own proposal once the measures before it are approved."""

    change: Change
    states: frozenset[CaseState]
    roles: frozenset[Role]
    target: CaseState | None = None


CHANGES: dict[Change, ChangeRule] = {
    rule.change: rule
    for rule in (
        ChangeRule(Change.SEVERITY, OPEN_STATES, frozenset({R.TRIAGE, R.ADMINS})),
        ChangeRule(Change.REASSIGN, OPEN_STATES, frozenset({R.TRIAGE, R.ADMINS})),
        ChangeRule(Change.TARGET_DATE, WITH_MEASURE, frozenset({R.TRIAGE, R.APPROVERS})),
        ChangeRule(
            Change.AMEND_MEASURE,
            WITH_MEASURE,
            frozenset({R.TRIAGE, R.APPROVERS}),
            S.MEASURE_PROPOSED,
        ),
        ChangeRule(
            Change.ADD_MEASURE,
            frozenset({S.MEASURE_APPROVED, S.MEASURE_DONE}),
            frozenset({R.TRIAGE, R.APPROVERS}),
            S.MEASURE_PROPOSED,
        ),
    )
}


def decide_change(facts: CaseFacts, change: Change, actor: Actor) -> Refused | None:
    """None when ``actor`` may make ``change`` now, else why not (the state before the roles,
    as for steps)."""
    if actor.external:
        return Refused("refusal.external")
    rule = CHANGES[change]
    if facts.state not in rule.states:
        return Refused("change.wrong_state", {"change": change.value, "state": facts.state.value})
    if not actor.roles & rule.roles:
        who = ", ".join(f"@{role.value}" for role in Role if role in rule.roles)
        return Refused("refusal.not_allowed", {"action": change.value, "who": who})
    return None


def offered_changes(state: CaseState) -> list[Change]:
    """The card's **Change…** menu in this state (everyone sees it; a press by someone not
    allowed is refused naming who may)."""
    return [change for change, rule in CHANGES.items() if state in rule.states]


def available_actions(facts: CaseFacts, actor: Actor) -> list[Action]:
    """The buttons to offer ``actor``: exactly what ``decide`` would allow, in procedure order."""
    return [action for action in Action if isinstance(decide(facts, action, actor), Allowed)]


def next_step_key(state: CaseState) -> str:
    """The message key telling everyone in the thread what the case waits for."""
    return _NEXT_STEP[state]


def _party_id(facts: CaseFacts, party: Party | None) -> str | None:
    if party is Party.CASE_OWNER:
        return facts.owner_id
    if party is Party.MEASURE_OWNER:
        return facts.measure_owner_id
    return None


def _who(transition: Transition, party_id: str | None) -> str:
    """Name who may act in a form that reads the same in every language: mentions and @roles."""
    people = [f"<@{party_id}>"] if party_id else []
    roles = [f"@{role.value}" for role in Role if role in transition.roles]
    return ", ".join(people + roles)
