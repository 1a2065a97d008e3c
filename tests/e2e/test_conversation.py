"""Issue 19: the conversation in Slack with less noise, in English and in Dutch.

Each outcome is said once; escalations keep one line in the thread while DMs and channel posts
still notify; approvers see what they approve; the report modal has no default severity and asks
before a risk is reported as Low; Close lists everything it needs and refuses naming every gap.
All through signed requests to the real bot, on the Slack stand-in.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.messages import t
from bot.ops.workspace import Workspace, load_workspace, sample_path
from bot.views import ids
from storage.models import Case
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    GOOD_REPORT,
    OFFICER,
    PARTNER_USER,
    REPORTER,
    TRIAGE,
    case_card,
    case_row,
    decide,
    last_step_message,
    open_report,
    refusal_after,
    refused,
    report,
    settle,
    thread_replies,
    wait_for,
    walk_to,
)

ACME, NORTHWIND, EU_IMPORT = "C0ACMEDIST", "C0NORTHWND", "C0EUIMPORT"
NAMES = {ACME: "ACME Distribution B.V.", NORTHWIND: "Northwind Bank", EU_IMPORT: "EU Import GmbH"}


@pytest.fixture(params=["en", "nl"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def workspace(lang: str) -> Workspace:
    return load_workspace(sample_path()).model_copy(update={"language": lang})


def texts(message: Any) -> str:
    return json.dumps(message.blocks or [], ensure_ascii=False) + message.text


# --- each outcome once ---------------------------------------------------------------------


def test_each_step_s_outcome_appears_once_in_the_thread(bot: LocalBot, lang: str) -> None:
    walk_to(bot, "measure_approved")
    replies = thread_replies(bot)
    outcomes = [
        m.blocks[-1]["elements"][0]["text"]
        for m in replies
        if (m.blocks or [{}])[-1].get("block_id") == "done"
    ]
    assert len(outcomes) == 4, outcomes  # acknowledged, confirmed, proposed, approved
    for outcome in outcomes:
        said = [m for m in replies if outcome in texts(m)]
        assert len(said) == 1, (outcome, [m.text for m in said])
    assert not any(b.get("block_id") == "timeline" for m in replies for b in m.blocks or [])
    ack = t("timeline.acknowledge", lang, who=f"<@{OFFICER}>", when="")
    assert any(ack.split("<@")[0].strip() in o for o in outcomes), outcomes


# --- escalations in one place --------------------------------------------------------------


def test_escalations_keep_one_line_in_the_thread_while_dms_still_notify(
    bot: LocalBot, clock: FakeClock, lang: str
) -> None:
    assert report(bot, severity="critical").status == 200
    wait_for(lambda: case_row(bot).details.permalink, what="the card")
    settle(bot)
    for delta in (10, 20, 30, 30):  # level 1, level 2, and two repeats of level 2
        clock.advance(timedelta(seconds=delta))
        bot.sweep()
        settle(bot)
    level = "Escalation level" if lang == "en" else "Escalatie niveau"
    lines = [m for m in thread_replies(bot) if level in m.text]
    assert len(lines) == 1, [m.text for m in lines]
    progress = (
        "level 2 · reminder 4 of 5 · last at"
        if lang == "en"
        else "niveau 2 · herinnering 4 van 5 · laatst om"
    )
    assert progress in lines[0].text, lines[0].text
    # DMs still go out once per firing: the officer at level 1, an approver at each level-2 firing
    dms = [m for m in bot.standin.messages(APPROVER) if m.text.startswith("⏰")]
    assert len(dms) == 3
    officer = [m for m in bot.standin.messages(OFFICER) if m.text.startswith("⏰")]
    assert len(officer) == 1


# --- approvers see what they approve ---------------------------------------------------------


def test_the_approval_step_repeats_risk_serious_incident_nature_and_measure(
    bot: LocalBot, lang: str
) -> None:
    walk_to(bot, "measure_proposed")
    step = last_step_message(bot)
    blocks = {b.get("block_id"): b for b in step.blocks}
    found = blocks["assessment"]["text"]["text"]
    assert t("approval.risk.label", lang) in found
    assert t(f"risk.{ASSESSMENT['risk']}", lang) in found
    assert t("approval.incident.label", lang) in found
    assert t(f"incident.{ASSESSMENT['serious_incident']}", lang) in found
    assert t("assess.nature.label", lang) in found and ASSESSMENT["nature"] in found
    assert t("measure.withdraw", lang) in blocks["measure"]["text"]["text"]
    assert [e["action_id"] for e in blocks[ids.STEP_BLOCK]["elements"]] == [
        ids.APPROVE,
        ids.REJECT,
    ]


# --- no default severity; Low with a risk is confirmed ---------------------------------------


def _severity(view: dict[str, Any]) -> dict[str, Any]:
    block = next(b for b in view["blocks"] if b.get("block_id") == "severity")
    element: dict[str, Any] = block["element"]
    return element


def test_the_report_modal_has_no_default_severity(bot: LocalBot, lang: str) -> None:
    view = open_report(bot)
    assert "initial_option" not in _severity(view)
    values = {k: v for k, v in GOOD_REPORT.items() if k != "severity"}
    response = bot.driver.submit(view["id"], user=REPORTER, values=values)
    assert response.json()["response_action"] == "errors"
    assert "severity" in response.json()["errors"]
    assert case_count(bot) == 0


def case_count(bot: LocalBot) -> int:
    with bot.services.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def test_a_risk_reported_as_low_is_confirmed_inline_before_a_case_is_made(
    bot: LocalBot, lang: str
) -> None:
    view = open_report(bot)
    low = {**GOOD_REPORT, "risk": "yes", "severity": "low"}
    first = bot.driver.submit(view["id"], user=REPORTER, values=low)
    assert first.json()["response_action"] == "update"
    asked = bot.driver.last_view(REPORTER)
    assert asked["id"] == view["id"]
    assert t("report.confirm_low.warning", lang) in json.dumps(asked, ensure_ascii=False)
    # What was typed stays in the modal.
    blocks = {b.get("block_id"): b for b in asked["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == GOOD_REPORT["title"]
    assert blocks["description"]["element"]["initial_value"] == GOOD_REPORT["description"]
    assert blocks["severity"]["element"]["initial_option"]["value"] == "low"
    assert blocks["risk"]["element"]["initial_option"]["value"] == "yes"
    assert case_count(bot) == 0

    # Submitted again without the box: an inline error next to it, still no case.
    again = bot.driver.submit(view["id"], user=REPORTER, values=low)
    assert again.json() == {
        "response_action": "errors",
        "errors": {"confirm_low": t("report.confirm_low.required", lang)},
    }
    assert case_count(bot) == 0

    # Ticked: the case is made, Low as confirmed.
    done = bot.driver.submit(view["id"], user=REPORTER, values={**low, "confirm_low": ["low"]})
    assert (done.status, done.body) == (200, b"")
    wait_for(lambda: case_count(bot) == 1, what="the case")
    assert case_row(bot).severity == "low"


def test_low_without_a_risk_and_a_higher_severity_after_the_question_need_no_confirmation(
    bot: LocalBot, lang: str
) -> None:
    view = open_report(bot)
    first = bot.driver.submit(
        view["id"], user=REPORTER, values={**GOOD_REPORT, "risk": "yes", "severity": "low"}
    )
    assert first.json()["response_action"] == "update"
    # The reporter chooses High instead: no box needed.
    raised = {**GOOD_REPORT, "risk": "yes", "severity": "high"}
    assert bot.driver.submit(view["id"], user=REPORTER, values=raised).body == b""
    wait_for(lambda: case_count(bot) == 1, what="the case")
    assert case_row(bot).severity == "high"

    second = open_report(bot)
    no_risk = {**GOOD_REPORT, "risk": "no", "severity": "low"}
    assert bot.driver.submit(second["id"], user=REPORTER, values=no_risk).body == b""
    wait_for(lambda: case_count(bot) == 2, what="the second case")


# --- close as a checklist --------------------------------------------------------------------


def close_step(bot: LocalBot) -> Any:
    def find() -> Any:
        steps = [
            m
            for m in thread_replies(bot)
            if any(b.get("block_id") == "checklist" for b in m.blocks or [])
        ]
        return steps[-1] if steps else None

    return wait_for(find, what="the close step")


def checklist(message: Any) -> str:
    block = next(b for b in message.blocks if b.get("block_id") == "checklist")
    return str(block["text"]["text"])


def close_button(message: Any) -> dict[str, Any]:
    actions = next(b for b in message.blocks if b.get("type") == "actions")
    button: dict[str, Any] = actions["elements"][0]
    assert button["action_id"] == ids.CLOSE
    return button


def acknowledge(bot: LocalBot, channel: str) -> None:
    notice = next(m for m in bot.standin.messages(channel) if not m.is_reply)
    response = bot.driver.click(channel, notice.ts, "notice_acknowledge_receipt", user=PARTNER_USER)
    assert response.status == 200, response.body
    settle(bot)


def test_close_lists_what_it_needs_keeps_it_current_and_names_every_gap(
    bot: LocalBot, lang: str
) -> None:
    walk_to(bot, "measure_done")
    settle(bot)
    step = close_step(bot)
    items = checklist(step)
    assert items.startswith(t("close.checklist", lang))
    assert "✅ " + t("close.item.measure_done", lang, who="<@U0OFFICER2>") in items
    sent = t("notice.status.sent", lang)
    for name in NAMES.values():
        assert "⬜ " + t("close.item.notice_open", lang, partner=name, state=sent) in items
    assert "style" not in close_button(step)  # not offered as the way forward yet

    # One refusal names every notice still open.
    answer = refused(bot, "case_close", OFFICER, message=step)
    assert answer.startswith(t("close.blocked.all", lang, ref="NC-1", items="").strip())
    for name in NAMES.values():
        assert t("close.item.notice_open", lang, partner=name, state=sent) in answer

    # The card's Next line points to the checklist rather than copying it: a receipt or a duty
    # recorded edits the checklist, not the card as well (issue 23: once per transition).
    card = json.dumps(case_card(bot).blocks, ensure_ascii=False)
    assert t("next.close", lang) not in card and t("next.close.checklist", lang) in card
    assert NAMES[EU_IMPORT] not in card

    # Receipts tick items off, in place: the same message, kept current.
    acknowledge(bot, ACME)
    acknowledge(bot, NORTHWIND)
    acked = t("notice.status.acknowledged", lang)
    wait_for(
        lambda: (
            "✅ " + t("close.item.notice_settled", lang, partner=NAMES[ACME], state=acked)
            in checklist(bot.standin.message(TRIAGE, step.ts))
        ),
        what="the checklist to tick ACME off",
    )
    answer = refused(bot, "case_close", OFFICER, message=step)
    assert NAMES[EU_IMPORT] in answer and NAMES[ACME] not in answer

    acknowledge(bot, EU_IMPORT)
    wait_for(
        lambda: "⬜" not in checklist(bot.standin.message(TRIAGE, step.ts)),
        what="every item ticked",
    )
    ready = bot.standin.message(TRIAGE, step.ts)
    assert close_button(ready)["style"] == "primary"
    wait_for(
        lambda: (
            t("next.close", lang)
            in json.dumps(case_card(bot).blocks, ensure_ascii=False).replace("\\", "")
        ),
        what="the card's Next line",
    )
    decide(bot, "case_close", OFFICER)
    assert case_row(bot).state == "closed"
    closed = wait_for(
        lambda: (lambda m: m if m.blocks[-1].get("block_id") == "done" else None)(
            bot.standin.message(TRIAGE, step.ts)
        ),
        what="the answered Close step",
    )
    assert not any(b.get("type") == "actions" for b in closed.blocks)
    # The answered step keeps its checklist as it last stood: everything ticked.
    assert "⬜" not in checklist(closed) and checklist(closed).count("✅") == 4


# --- act where you are told ------------------------------------------------------------------

MANAGERS = "C0MANAGERS"


def escalations_to(bot: LocalBot, channel: str) -> list[Any]:
    return [
        m
        for m in bot.standin.messages(channel)
        if not m.is_reply and m.text.startswith("⏰") and "NC-1" in m.text
    ]


def test_an_escalation_names_the_case_and_acknowledge_there_updates_every_copy(
    bot: LocalBot, clock: FakeClock, lang: str
) -> None:
    assert report(bot, severity="critical").status == 200
    wait_for(lambda: case_row(bot).details.permalink, what="the card")
    settle(bot)
    link = case_row(bot).details.permalink
    clock.advance(timedelta(minutes=5))  # level 1 and level 2, late: the case waited 5 min
    bot.sweep()
    settle(bot)
    officer_dm = bot.standin.dm_channel(OFFICER)
    approver_dm = bot.standin.dm_channel(APPROVER)
    [to_officer] = escalations_to(bot, officer_dm)
    [to_approver] = escalations_to(bot, approver_dm)
    [to_managers] = escalations_to(bot, MANAGERS)
    for message in (to_officer, to_approver, to_managers):
        facts = next(b for b in message.blocks if b.get("block_id") == "facts")["text"]["text"]
        assert "*Scores drift*" in facts and "Credit scoring model" in facts, facts
        assert t("severity.critical", lang) in facts
        assert t("waited.minutes", lang, m=5) in facts
        assert f"<{link}|" in facts  # the link to the thread
        [actions] = [b for b in message.blocks if b["type"] == "actions"]
        [button] = actions["elements"]
        assert button["action_id"] == ids.ACKNOWLEDGE
        assert button["text"]["text"] == t("button.acknowledge", lang)

    # An approver is told too, but only triage acknowledges: refused, naming who may.
    before = len(bot.standin.response_posts())
    bot.driver.click(approver_dm, to_approver.ts, ids.ACKNOWLEDGE, user=APPROVER)
    assert refusal_after(bot, before) == t("refusal.not_allowed", lang, who="@triage")
    assert case_row(bot).state == "reported"

    # A triage officer acknowledges from the managers' channel post: it works there.
    response = bot.driver.click(MANAGERS, to_managers.ts, ids.ACKNOWLEDGE, user="U0OFFICER2")
    assert response.status == 200
    wait_for(lambda: case_row(bot).state == "acknowledged", what="the acknowledgement")
    settle(bot)
    assert case_row(bot).owner_id == "U0OFFICER2"
    done = t("escalation.acknowledged", lang, who="<@U0OFFICER2>", when="").split("<!date")[0]
    for channel, message in (
        (officer_dm, to_officer),
        (approver_dm, to_approver),
        (MANAGERS, to_managers),
    ):
        now = wait_for(
            lambda c=channel, m=message: (
                lambda s: (
                    s if s.updated and s.blocks[-1].get("block_id") == "acknowledged" else None
                )
            )(bot.standin.message(c, m.ts)),
            what=f"the copy in {channel} to say it was acknowledged",
        )
        assert not any(b["type"] == "actions" for b in now.blocks)
        assert now.blocks[-1]["elements"][0]["text"].startswith(done.rstrip(". "))


def test_the_card_carries_the_next_action_and_refuses_whoever_may_not(
    bot: LocalBot, lang: str
) -> None:
    walk_to(bot, "reported")
    card = case_card(bot)
    actions = [b for b in card.blocks if b["type"] == "actions"]
    # The step's buttons, then the Change… menu (issue 20).
    assert [e["action_id"] for e in actions[0]["elements"]] == [ids.ACKNOWLEDGE, ids.CHANGE]
    # The reporter sees the button in the channel too: refused, naming who may act.
    answer = refused(bot, ids.ACKNOWLEDGE, REPORTER, message=card)
    assert answer == t("refusal.not_allowed", lang, who="@triage")
    # Triage acknowledges from the card; the card then offers the next step's buttons.
    response = bot.driver.click(TRIAGE, card.ts, ids.ACKNOWLEDGE, user=OFFICER)
    assert response.status == 200
    wait_for(lambda: case_row(bot).state == "acknowledged", what="the acknowledgement")
    settle(bot)
    card = bot.standin.message(TRIAGE, card.ts)
    [actions] = [b for b in card.blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [ids.CONFIRM, ids.DISMISS, ids.CHANGE]
    assert actions["block_id"] == f"card_actions_{case_row(bot).version}"


# --- report from a message -------------------------------------------------------------------

ELSEWHERE = "C0RANDOM01"  # a public channel the bot is not in
SECRET = "G0PRIVATE1"  # a private one, neither


def shortcut_modal(bot: LocalBot, channel: str, ts: str, user: str = REPORTER) -> dict[str, Any]:
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.message_shortcut(channel, ts, ids.REPORT_MESSAGE, user=user)
    assert (response.status, response.body) == (200, b"")
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="views.open")
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def initial(view: dict[str, Any], block_id: str) -> Any:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return block["element"].get("initial_value")


def test_a_message_is_reported_from_a_channel_the_bot_is_not_in(bot: LocalBot, lang: str) -> None:
    bot.standin.add_channel(ELSEWHERE, bot_is_member=False, members=[REPORTER, "U0CUSTOMR1"])
    said = "Customer says: scores for applicants > 60 dropped & nobody explains why"
    complaint = bot.standin.add_message(
        ELSEWHERE, said.replace("&", "&amp;").replace(">", "&gt;"), user="U0CUSTOMR1"
    )
    view = shortcut_modal(bot, ELSEWHERE, complaint.ts)
    assert view["title"]["text"] == t("report.modal.title", lang)
    assert initial(view, "description") == said  # as written, Slack's escapes undone
    link = bot.standin.calls("chat.getPermalink")[-1].response["permalink"]
    assert initial(view, "evidence") == link and ELSEWHERE in link

    # A report with no system chosen is refused inline, as from the command.
    values = {"title": "Scores drift", "description": said, "evidence": link}
    refused_now = bot.driver.submit(view["id"], user=REPORTER, values=values)
    assert refused_now.json()["response_action"] == "errors"
    assert "system" in refused_now.json()["errors"]

    chosen = {**GOOD_REPORT, "description": said, "evidence": link}
    assert bot.driver.submit(view["id"], user=REPORTER, values=chosen).body == b""
    wait_for(lambda: case_count(bot) == 1, what="the case")
    case = case_row(bot)
    assert (case.description, case.evidence_url) == (said, link)
    # The reporter hears back where they used the shortcut, though the bot cannot post there.
    answer = wait_for(
        lambda: [p for p in bot.standin.response_posts() if "NC-1" in str(p.body)],
        what="the reporter's confirmation",
    )
    assert answer[0].body["response_type"] == "ephemeral"
    assert not [m for m in bot.standin.messages(ELSEWHERE) if m.bot_id]


def test_a_message_without_text_brings_its_blocks_or_attachments_cut_to_the_limit(
    bot: LocalBot, lang: str
) -> None:
    bot.standin.add_channel(ELSEWHERE, bot_is_member=False, members=[REPORTER])
    rich = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "Drift alert from "},
                        {"type": "user", "user_id": "U0OFFICER1"},
                    ],
                }
            ],
        }
    ]
    typed = bot.standin.add_message(ELSEWHERE, "", user=REPORTER, blocks=rich)
    assert initial(shortcut_modal(bot, ELSEWHERE, typed.ts), "description").startswith(
        "Drift alert from <@U0OFFICER1>"
    )
    alert = bot.standin.add_message(
        ELSEWHERE,
        "",
        user="U0MONITOR1",
        bot_id="B0MONITOR1",
        attachments=[
            {
                "fallback": "[FIRING] ScoreDrift",
                "title": "[FIRING:1] ScoreDrift credit-scoring",
                "text": "Approval rate for 60+ fell 30% " + "x" * 4000,
            }
        ],
    )
    described = initial(shortcut_modal(bot, ELSEWHERE, alert.ts), "description")
    assert described.startswith("[FIRING:1] ScoreDrift credit-scoring\nApproval rate for 60+")
    assert len(described) == 2900  # the field's limit


def test_a_private_channel_s_message_gets_its_link_composed(bot: LocalBot, lang: str) -> None:
    bot.standin.add_channel(SECRET, bot_is_member=False, is_private=True, members=[REPORTER])
    message = bot.standin.add_message(SECRET, "Model outputs look off", user=REPORTER)
    view = shortcut_modal(bot, SECRET, message.ts)
    call = bot.standin.calls("chat.getPermalink")[-1]
    assert call.response == {"ok": False, "error": "channel_not_found"}
    expected = f"https://acceptance.slack.com/archives/{SECRET}/p{message.ts.replace('.', '')}"
    assert initial(view, "evidence") == expected
    assert initial(view, "description") == "Model outputs look off"
