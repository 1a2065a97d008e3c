"""What each step's and duty's modal must contain, validated before a transition is attempted.

Built from ``bot.forms``' field types, as the report is: a rule is written there once.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.cases.domain import (
    DESCRIPTION_MAX,
    MEMBER_STATES,
    PERSONS_AFFECTED_MAX,
    REASON_MAX,
    Measure,
    SeriousIncident,
    Severity,
)
from bot.forms import (
    Choice,
    ChosenDate,
    Form,
    OptionalDate,
    OptionalText,
    Text,
    Url,
    any_of,
    at_most,
    count_up_to,
    one_of,
    required,
)

Reason = Annotated[Text, required(REASON_MAX)]
LongText = Annotated[Text, required(DESCRIPTION_MAX)]
YesNo = Annotated[Choice, one_of(("yes", "no"))]


class Assessment(Form):
    """Step 2: why this is (or is not) a non-conformity, and whether Art. 79(1) / 73 apply."""

    nature: LongText
    causal_link: LongText
    risk: YesNo
    serious_incident: Annotated[Choice, one_of([s.value for s in SeriousIncident])]
    aware_on: ChosenDate
    # A serious incident's where and how many (Art. 73 report, section 4): the Member States
    # are required for one (``Steps`` says so: the modal cannot make a field depend on another),
    # the number of persons may not be known yet.
    member_states: Annotated[list[str], any_of(MEMBER_STATES)] = Field(default_factory=list)
    persons_affected: Annotated[int | None, count_up_to(PERSONS_AFFECTED_MAX)] = None
    occurred_on: OptionalDate = None  # when it happened, where known (not after today)


class Reasoned(Form):
    """Not a non-conformity, Reject, Reopen and waivers: a decision that must say why."""

    reason: Reason


class MeasurePlan(Form):
    """Step 3: the corrective action, its owner and its timing."""

    measure: Annotated[Choice, one_of([m.value for m in Measure])]
    plan: LongText
    owner: Choice
    target_date: ChosenDate
    affected: Annotated[Text, required(500)]
    keeps_running: YesNo
    # What the partners are asked to do, and by when: the target date above is the measure
    # owner's, not the partners'. Optional, but the modal asks for both.
    partner_ask: Annotated[OptionalText, at_most(2000)] = None
    partner_by: OptionalDate = None
    # the serious-incident warning's checkbox, where it was shown
    art73_6: list[str] = Field(default_factory=list)


class DoneEvidence(Form):
    """Step 5: proof that the measure was carried out."""

    evidence: LongText
    link: Url = None


class Investigation(Form):
    """Art. 20(2): what was found about the causes, and with whom."""

    findings: LongText
    how: OptionalText = None


class Sent(Form):
    """An authority informed, or an Art. 73 report made: when, how, under which reference."""

    on: ChosenDate
    how: Annotated[Text, required(500)]
    reference: OptionalText = None


class Informed(Form):
    """An authority informed: "Send it now" (the bot posts what the modal showed), or "I
    informed them another way", with how and when."""

    choice: Annotated[Choice, one_of(("send", "other"))]
    on: OptionalDate = None
    how: Annotated[OptionalText, at_most(500)] = None
    reference: OptionalText = None

    def missing(self) -> dict[str, tuple[str, dict[str, object]]]:
        """Another way needs how and when; sending needs neither."""
        if self.choice == "send":
            return {}
        fields = {"on": self.on, "how": self.how}
        return {name: ("report.error.required", {}) for name, value in fields.items() if not value}


class AwarenessCorrection(Form):
    """The date the provider became aware of a serious incident, corrected with a reason."""

    aware_on: ChosenDate
    reason: Reason


class RecordedReceipt(Form):
    """Record receipt: who received a notice outside Slack and the receipt link, how they
    confirmed it, and when (a date and a time where the organisation works)."""

    notice: Choice
    received_by: Annotated[Text, required(200)]
    how: Annotated[Text, required(200)]
    on: ChosenDate
    at: Choice  # "HH:MM", as Slack's timepicker gives it


# --- changes to a case that do not start it over (the card's "Change…" menu) ---


class SeverityChange(Form):
    """**Change severity**: the new severity and why."""

    severity: Annotated[Choice, one_of([s.value for s in Severity])]
    reason: Reason


class Reassignment(Form):
    """**Reassign**: the case owner or the measure owner, who now, and why."""

    whose: Annotated[Choice, one_of(("case", "measure"))]
    owner: Choice
    reason: Reason
    measure: OptionalText = None  # which measure (its position), where several are open


class TargetDateChange(Form):
    """**Change target date**: the measure's new target date and why."""

    target_date: ChosenDate
    reason: Reason
    measure: OptionalText = None  # which measure (its position), where several are open


class MeasureChange(MeasurePlan):
    """**Amend measure** and **Add a measure**: a measure's plan, as proposed, and why."""

    reason: Reason
