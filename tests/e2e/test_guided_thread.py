"""The guided thread, end to end: one case walked from report to closed with signed requests
against the running bot and the Slack stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from bot.cases.domain import PERSONS_AFFECTED_MAX
from bot.cases.state import Reasoned
from bot.devkit.local import LocalBot
from bot.messages import t
from bot.ops.workspace import Workspace
from tests.scenarios import (
    ADMIN,
    APPROVER,
    APPROVER2,
    ASSESSMENT,
    DONE_EVIDENCE,
    GENERAL,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    REPORTER,
    TRIAGE,
    block_texts,
    case_card,
    case_row,
    current_measure,
    decide,
    event_kinds,
    guided_workspace,
    last_step_message,
    open_step_modal,
    report,
    settle,
    thread_replies,
    wait_for,
    walk_to,
)


@pytest.fixture
def workspace() -> Workspace:
    """Systems without partners: nothing but the guided thread stands between Done and Close."""
    return guided_workspace()


MEASURE_LABELS = ["Bring into conformity", "Withdraw", "Disable", "Recall"]
PROPOSE_NEXT = "Next: propose a corrective action."


def buttons(message: Any) -> list[str]:
    """The texts of every button in a message, in order (actions blocks and accessories)."""
    found: list[str] = []
    for block in message.blocks or []:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if "accessory" in block:
            elements.append(block["accessory"])
        found += [e["text"]["text"] for e in elements if e.get("type") == "button"]
    return found


def has_no_buttons(message: Any) -> bool:
    return all(
        block.get("type") != "actions" and "accessory" not in block
        for block in message.blocks or []
    )


def card_field(card: Any, label: str) -> str:
    """The text of one field of the case card, e.g. ``card_field(card, "Owner")``."""
    for block in card.blocks:
        for field in block.get("fields") or []:
            title, _, value = field["text"].partition("\n")
            if title.strip("*") == label:
                return str(value)
    raise AssertionError(f"no {label!r} field on the card")


def timeline_of(message: Any) -> str:
    """How an answered step was answered: said once, at the foot of the step it answered."""
    block = message.blocks[-1]
    assert block["block_id"] == "done", message.blocks
    return str(block["elements"][0]["text"])


def last_outcome(bot: LocalBot) -> str:
    """The outcome of the newest answered step in the thread."""
    answered = [m for m in thread_replies(bot) if (m.blocks or [{}])[-1].get("block_id") == "done"]
    return timeline_of(answered[-1])


class Watch:
    """What one decision did in Slack: card updates, thread posts, the answered step."""

    def __init__(self, bot: LocalBot) -> None:
        self.bot = bot
        self.card = case_card(bot)
        self.asked = last_step_message(bot)
        self.posts = len(bot.standin.calls("chat.postMessage"))
        self.updates = len(bot.standin.calls("chat.update"))

    def check(self, timeline_words: str, next_step: str) -> Any:
        """Assert the three visible effects of a transition; return the new step message."""
        bot = self.bot
        settle(bot)
        updates = bot.standin.calls("chat.update")[self.updates :]
        assert any(u.args["ts"] == self.card.ts for u in updates), "the card was not updated"
        card = bot.standin.message(TRIAGE, self.card.ts)
        context = [b for b in card.blocks if b["type"] == "context"]
        assert f"_{next_step}_" in json.dumps(context), card.blocks
        cards = [m for m in bot.standin.messages(TRIAGE) if not m.is_reply]
        assert [c.ts for c in cards] == [self.card.ts], "a second card was posted"
        posts = [
            p
            for p in bot.standin.calls("chat.postMessage")[self.posts :]
            if p.args["channel"] == TRIAGE
        ]
        assert all(p.args.get("thread_ts") == self.card.ts for p in posts), posts
        steps = [p for p in posts if p.args["blocks"][0].get("block_id") == "step"]
        assert len(steps) == 1, posts
        step = bot.standin.message(TRIAGE, steps[0].response["ts"])
        answered = bot.standin.message(TRIAGE, self.asked.ts)
        assert has_no_buttons(answered), answered.blocks
        assert timeline_words in timeline_of(answered)
        # Each outcome once: on the step it answered, not again on top of the next one.
        said = timeline_of(answered)
        assert said not in json.dumps(step.blocks, ensure_ascii=False), step.blocks
        self.answered = answered
        return step

    def outcome(self) -> str:
        return timeline_of(self.bot.standin.message(TRIAGE, self.asked.ts))


def status(bot: LocalBot, user: str = REPORTER) -> dict[str, Any]:
    response = bot.driver.command("/nonconformity", "status NC-1", user=user, channel=GENERAL)
    assert response.status == 200, response.body
    answer: dict[str, Any] = response.json()
    return answer


def test_a_case_is_walked_from_report_to_closed_one_step_at_a_time(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    assert report(bot, risk="unknown").status == 200
    card = case_card(bot)
    settle(bot)
    first = last_step_message(bot)
    assert buttons(first) == ["Acknowledge"]
    assert card_field(card, "Owner") == "nobody" or "<@" not in card_field(card, "Owner")

    # 1. A triage member acknowledges and owns the case.
    watch = Watch(bot)
    decide(bot, "case_acknowledge", OFFICER)
    step = watch.check("Acknowledged", "Next: triage assesses whether this is a non-conformity.")
    card = bot.standin.message(TRIAGE, card.ts)
    assert card_field(card, "Owner") == f"<@{OFFICER}>"
    assert card_field(card, "State") == "Acknowledged"
    assert buttons(step) == ["Confirm non-conformity", "Not a non-conformity"]

    # 2. The assessment: the report said the risk was unknown, so nothing is preselected.
    view = open_step_modal(bot, "case_confirm", OFFICER)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "nature",
        "causal_link",
        "risk",
        "serious_incident",
        "aware_on",
        "member_states",
        "occurred_on",
        "persons_affected",
    ]
    risk = inputs["risk"]["element"]
    assert [o["value"] for o in risk["options"]] == ["yes", "no"]
    assert "initial_option" not in risk
    incident = inputs["serious_incident"]["element"]
    categories = [o["value"] for o in incident["options"]]
    assert categories[0] == "none" and {c[0] for c in categories[1:]} == set("abcd")
    assert inputs["aware_on"]["element"]["type"] == "datepicker"
    unsettled = bot.driver.submit(view["id"], user=OFFICER, values={**ASSESSMENT, "risk": None})
    assert unsettled.json()["response_action"] == "errors"
    assert list(unsettled.json()["errors"]) == ["risk"]
    assert case_row(bot).state == "acknowledged"

    watch = Watch(bot)
    settled = {**ASSESSMENT, "risk": "no", "serious_incident": "none"}
    submitted = bot.driver.submit(view["id"], user=OFFICER, values=settled)
    assert (submitted.status, submitted.body) == (200, b"")
    wait_for(lambda: case_row(bot).state == "confirmed", what="the assessment")
    step = watch.check("Non-conformity confirmed", PROPOSE_NEXT)
    case = case_row(bot)
    assert case.risk == "no"  # settled here, no longer "unknown"
    assessment = case.details.assessment
    assert assessment is not None
    assert (assessment.serious_incident, assessment.aware_on) == ("none", date(2026, 11, 29))
    assert assessment.by == OFFICER

    # 3. Four measures, each with its one-line meaning under Art. 20.
    assert buttons(step) == MEASURE_LABELS
    choices = [b for b in step.blocks if b.get("accessory")]
    assert [b["accessory"]["action_id"] for b in choices] == [
        "measure_choose_bring_into_conformity",
        "measure_choose_withdraw",
        "measure_choose_disable",
        "measure_choose_recall",
    ]
    for block, label in zip(choices, MEASURE_LABELS, strict=True):
        assert block["type"] == "section"
        line = block["text"]["text"]
        assert line.startswith(f"*{label}* — ") and "\n" not in line
        assert len(line) > len(label) + 20  # an explanation, not just the name again

    view = open_step_modal(bot, "measure_choose_withdraw", OFFICER)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "plan",
        "owner",
        "target_date",
        "affected",
        "keeps_running",
        "partner_ask",
        "partner_by",
    ]
    # What we ask of partners, and by when: optional, but asked, with a hint saying why.
    assert inputs["partner_ask"]["optional"] and inputs["partner_by"]["optional"]
    assert inputs["partner_ask"]["label"]["text"] == "What we ask of partners"
    assert inputs["partner_by"]["label"]["text"] == "Partners to act by"
    assert "measure owner's" in inputs["partner_by"]["hint"]["text"]
    assert inputs["owner"]["element"]["type"] == "users_select"
    assert inputs["owner"]["element"]["initial_user"] == OFFICER  # the one proposing
    assert [o["value"] for o in inputs["keeps_running"]["element"]["options"]] == ["yes", "no"]
    watch = Watch(bot)
    submitted = bot.driver.submit(view["id"], user=OFFICER, values=MEASURE_PLAN)
    assert (submitted.status, submitted.body) == (200, b"")
    wait_for(lambda: case_row(bot).state == "measure_proposed", what="the proposal")
    step = watch.check(
        "proposed *Withdraw*", "Next: an approver other than the proposer approves or rejects it."
    )
    asking = step.blocks[0]["text"]["text"]
    assert f"<@{APPROVER}>" in asking and f"<@{APPROVER2}>" in asking
    assert f"<@{OFFICER}>" not in asking  # the proposer is not asked to approve
    assert buttons(step) == ["Approve", "Reject"]
    measure = current_measure(bot)
    assert (measure.measure, measure.owner, measure.proposer) == (
        "withdraw",
        OFFICER2,
        OFFICER,
    )

    # 4. An approver other than the proposer approves.
    watch = Watch(bot)
    decide(bot, "measure_approve", APPROVER)
    step = watch.check("Approved", "Next: carry out the corrective action and mark it done.")
    assert buttons(step) == ["Done"]
    assert f"<@{OFFICER2}>" in step.blocks[0]["text"]["text"]  # the measure owner is asked
    assert [a.by for a in current_measure(bot).approvals] == [APPROVER]

    # 5. The measure owner records it as carried out, with evidence.
    watch = Watch(bot)
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    step = watch.check("Measure carried out", "Next: the case owner or triage closes the case.")
    assert DONE_EVIDENCE["evidence"] in watch.outcome()
    done = current_measure(bot).done
    assert done is not None
    assert (done.evidence, done.link, done.by) == (
        DONE_EVIDENCE["evidence"],
        DONE_EVIDENCE["link"],
        OFFICER2,
    )
    assert buttons(step) == ["Close"]

    # 6. The case owner closes; the card says so.
    watch = Watch(bot)
    decide(bot, "case_close", OFFICER)
    step = watch.check("Closed", "No further steps.")
    assert buttons(step) == ["Reopen"]
    card = bot.standin.message(TRIAGE, card.ts)
    assert card_field(card, "State") == "Closed"
    assert card.update_count == 6

    assert event_kinds(bot) == [
        "reported",
        "acknowledge",
        "confirm",
        "propose_measure",
        "approve",
        "mark_done",
        "close",
    ]
    assert [c for c in bot.standin.calls() if not c.response.get("ok")] == []


def test_status_shows_state_owner_and_the_timeline(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    answer = status(bot)
    text = json.dumps(answer["blocks"])
    assert "Corrective action approved" in text
    assert f"Owner*\\n<@{OFFICER}>" in text
    for line in ("reported by", "acknowledged by", "confirmed by", "proposed by", "approved by"):
        assert line in text, line


def test_status_shows_the_measure_and_who_approved_it(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    text = json.dumps(status(bot)["blocks"])
    assert "Withdraw" in text
    assert MEASURE_PLAN["plan"] in text
    assert f"Approved by <@{APPROVER}>" in text


def test_an_admin_reopens_a_closed_case_and_it_returns_to_choosing_a_measure(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    walk_to(bot, "closed")
    before = event_kinds(bot)
    view = open_step_modal(bot, "case_reopen", ADMIN)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["reason"]
    watch = Watch(bot)
    reason = "The authority found the withdrawal incomplete."
    assert bot.driver.submit(view["id"], user=ADMIN, values={"reason": reason}).body == b""
    wait_for(lambda: case_row(bot).state == "confirmed", what="the reopening")
    step = watch.check("Reopened", PROPOSE_NEXT)
    assert reason in watch.outcome()
    assert buttons(step) == MEASURE_LABELS
    assert event_kinds(bot) == [*before, "reopen"]
    case = case_row(bot)
    assert case.measure is None
    assert [(m.measure, m.status) for m in case.earlier_measures] == [("withdraw", "superseded")]
    assert case.details.reopenings[0].reason == reason
    assert case.details.reopenings[0].by == ADMIN
    card = bot.standin.message(TRIAGE, case_card(bot).ts)
    assert card_field(card, "State") == "Non-conformity confirmed"


def test_not_a_non_conformity_closes_the_case_and_tells_the_reporter_why(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_dismiss", OFFICER)
    watch = Watch(bot)
    reason = "The drift is within the accuracy range declared in the instructions for use."
    assert bot.driver.submit(view["id"], user=OFFICER, values={"reason": reason}).body == b""
    wait_for(lambda: case_row(bot).state == "dismissed", what="the dismissal")
    step = watch.check("Not a non-conformity", "No further steps.")
    assert reason in watch.outcome()
    assert buttons(step) == ["Reopen"]
    card = bot.standin.message(TRIAGE, case_card(bot).ts)
    assert card_field(card, "State") == "Not a non-conformity"

    dms = wait_for(lambda: bot.standin.messages(REPORTER), what="the reporter's DM")
    assert len(dms) == 1
    assert "NC-1" in dms[0].text and "not a non-conformity" in dms[0].text
    assert reason in dms[0].text
    assert event_kinds(bot) == ["reported", "acknowledge", "dismiss"]


def test_a_rejected_measure_sends_the_case_back_to_choosing_one(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    walk_to(bot, "measure_proposed")
    view = open_step_modal(bot, "measure_reject", APPROVER2)
    watch = Watch(bot)
    reason = "Withdrawal alone leaves the deployed copies running; recall them."
    assert bot.driver.submit(view["id"], user=APPROVER2, values={"reason": reason}).body == b""
    wait_for(lambda: case_row(bot).state == "confirmed", what="the rejection")
    step = watch.check("Rejected", PROPOSE_NEXT)
    assert reason in watch.outcome()
    assert buttons(step) == MEASURE_LABELS
    case = case_row(bot)
    assert case.measure is None
    rejected = case.earlier_measures[0]
    assert (rejected.measure, rejected.status) == ("withdraw", "rejected")
    assert rejected.rejection is not None
    assert (rejected.rejection.by, rejected.rejection.reason) == (APPROVER2, reason)

    # A new proposal can follow: here a recall, approved by the other approver.
    decide(bot, "measure_choose_recall", OFFICER, MEASURE_PLAN)
    decide(bot, "measure_approve", APPROVER)
    assert current_measure(bot).measure == "recall"
    assert event_kinds(bot)[-4:] == ["propose_measure", "reject", "propose_measure", "approve"]


def test_the_card_shows_the_measure_once_proposed(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    card = bot.standin.message(TRIAGE, case_card(bot).ts)
    assert "Withdraw" in json.dumps(card.blocks)


def test_what_people_type_into_a_decision_is_shown_as_text_not_markup(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_dismiss", OFFICER)
    reason = "<!channel> see <https://evil.example|the docs> & <@U0ADMIN001>"
    assert bot.driver.submit(view["id"], user=OFFICER, values={"reason": reason}).body == b""
    wait_for(lambda: case_row(bot).state == "dismissed", what="the dismissal")
    settle(bot)
    escaped = "&lt;!channel&gt; see &lt;https://evil.example|the docs&gt; &amp; &lt;@U0ADMIN001&gt;"
    assert escaped in last_outcome(bot)
    (dm,) = bot.standin.messages(REPORTER)
    assert escaped in dm.text and "<!channel>" not in dm.text
    assert _dismissal(bot).reason == reason  # stored as typed


@pytest.fixture
def dutch_bot(tmp_path: Any) -> Any:
    from bot.clock import FakeClock

    workspace = guided_workspace().model_copy(update={"language": "nl"})
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with LocalBot(workspace, database_url=url, clock=FakeClock()) as local:
        yield local


def test_the_buttons_speak_dutch_in_a_dutch_workspace(dutch_bot: LocalBot) -> None:
    bot = dutch_bot
    walk_to(bot, "reported")
    assert buttons(last_step_message(bot)) == ["In behandeling nemen"]
    decide(bot, "case_acknowledge", OFFICER)
    assert buttons(last_step_message(bot)) == [
        "Non-conformiteit bevestigen",
        "Geen non-conformiteit",
    ]
    decide(bot, "case_confirm", OFFICER, ASSESSMENT)
    assert buttons(last_step_message(bot)) == [
        "In overeenstemming brengen",
        "Uit de handel nemen",
        "Buiten gebruik stellen",
        "Terugroepen",
    ]


def test_an_admin_reopens_a_dismissed_case_for_a_new_assessment(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    decide(bot, "case_dismiss", OFFICER, {"reason": "Within the declared accuracy."})
    watch = Watch(bot)
    decide(bot, "case_reopen", ADMIN, {"reason": "New complaints from deployers."})
    step = watch.check("Reopened", "Next: triage assesses whether this is a non-conformity.")
    assert buttons(step) == ["Confirm non-conformity", "Not a non-conformity"]
    assert _dismissal(bot).reason == "Within the declared accuracy."
    assert event_kinds(bot) == ["reported", "acknowledge", "dismiss", "reopen"]


def _dismissal(bot: LocalBot) -> Reasoned:
    dismissal = case_row(bot).details.dismissal
    assert dismissal is not None, "the case was not dismissed"
    return dismissal


def test_a_serious_incident_says_where_it_occurred_and_whom_it_affected(
    dutch_bot: LocalBot,
) -> None:
    """Art. 73(1): the modal asks where (any of the EU and EEA states, by name in the reader's
    language) and how many; a serious incident without its Member States, or a count that is
    not a whole number, is refused next to its input and changes nothing."""
    bot = dutch_bot
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_confirm", OFFICER)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    where, persons = inputs["member_states"], inputs["persons_affected"]
    assert where["element"]["type"] == "multi_static_select" and where["optional"]
    options = {o["value"]: o["text"]["text"] for o in where["element"]["options"]}
    assert len(options) == 30 and options["NL"] == "Nederland (NL)" and "NO" in options
    assert persons["element"]["type"] == "number_input" and persons["optional"]
    assert persons["element"]["is_decimal_allowed"] is False

    serious = {**ASSESSMENT, "risk": "yes", "serious_incident": "a_health"}
    for values, block, message in [
        (serious, "member_states", t("assess.member_states.required", "nl")),
        (
            {**serious, "member_states": ["NL"], "persons_affected": "2.5"},
            "persons_affected",
            t("form.error.count", "nl", count=PERSONS_AFFECTED_MAX),
        ),
        (
            {**serious, "member_states": ["NL"], "persons_affected": "-1"},
            "persons_affected",
            t("form.error.count", "nl", count=PERSONS_AFFECTED_MAX),
        ),
        ({**serious, "member_states": ["EL"]}, "member_states", t("report.error.choice", "nl")),
        (
            {**serious, "member_states": ["NL"], "occurred_on": "2099-01-01"},
            "occurred_on",
            t("assess.occurred.future", "nl"),
        ),
    ]:
        answer = bot.driver.submit(view["id"], user=OFFICER, values=values).json()
        assert answer == {"response_action": "errors", "errors": {block: message}}, values
    assert case_row(bot).state == "acknowledged" and case_row(bot).details.assessment is None

    accepted = {
        **serious,
        "member_states": ["NL", "BE"],
        "persons_affected": "12",
        "occurred_on": "2026-11-27",
    }
    decide(bot, "case_confirm", OFFICER, accepted)
    found = case_row(bot).details.assessment
    assert found is not None
    assert (found.member_states, found.persons_affected) == (("NL", "BE"), 12)
    assert found.occurred_on is not None and found.occurred_on.isoformat() == "2026-11-27"
    # approvers read where and how many with the assessment they approve against
    decide(bot, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)
    approval = [
        text for m in thread_replies(bot) for text in block_texts(m.blocks) if "*Waar:*" in text
    ]
    assert (
        approval
        and "*Waar:* Nederland (NL), België (BE) · *Getroffen personen:* 12" in (approval[-1])
    )
