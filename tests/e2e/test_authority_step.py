"""Informing an authority asks first (issue 16): the modal shows the message exactly as it will
be posted in the authority's channel and offers "Send it now" or "I informed them another way";
nothing leaves without that choice, and what was sent is kept verbatim (the outbox row and the
audit event). The draft names the provider and says what partners were asked, and by when, in
the authority's language. The real bot over HTTP, the Slack stand-in and a FakeClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace, parse_workspace, sample_path
from handlers.timeline import timeline_lines
from storage import outbox as outbox_rows
from storage.models import OutboxMessage
from tests.scenarios import (
    APPROVER,
    MEASURE_PLAN,
    OFFICER,
    RISK_ASSESSMENT,
    case_events,
    case_row,
    decide,
    duties_panel,
    open_duty,
    record_duty,
    settle,
    view_text,
    wait_for,
)

AUTHORITY_CHANNEL = "C0AUTHORTY"
ASKED = {
    **MEASURE_PLAN,
    "partner_ask": "Remove 2.3 from your catalogue and tell us which customers hold it.",
    "partner_by": "2026-12-08",
}


def dutch_authority() -> Workspace:
    """The sample workspace whose market surveillance authority reads Dutch."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "nl-ams":
            partner["language"] = "nl"
    return parse_workspace(yaml.safe_dump(data, sort_keys=False), "dutch-authority.yml")


@pytest.fixture
def dutch_bot(sqlite_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    with LocalBot(dutch_authority(), database_url=sqlite_url, clock=clock) as local:
        yield local


def approved_with_a_risk(bot: LocalBot) -> None:
    from tests.scenarios import assessed

    assessed(bot, RISK_ASSESSMENT)
    decide(bot, "measure_choose_withdraw", OFFICER, ASKED)
    decide(bot, "measure_approve", APPROVER)
    settle(bot)


def posted_to_authority(bot: LocalBot) -> list[Any]:
    return bot.standin.messages(AUTHORITY_CHANNEL)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_the_modal_shows_the_message_as_it_will_be_sent_naming_the_provider_and_the_ask(
    bot: LocalBot,
) -> None:
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_authority")
    text = view_text(view)
    assert "Exactly as it will be posted in <#C0AUTHORTY>:" in text
    assert "To Dutch AI market surveillance authority: Example AI B.V., as provider" in text
    assert "Provider: Example AI B.V., Keizersgracht 1, 1015 CJ Amsterdam, NL" in text
    assert "Contact: compliance@example.com" in text
    assert f"Asked of distributors, importers and deployers: {ASKED['partner_ask']}" in text
    assert "(by 2026-12-08)" in text
    assert "Target date of the corrective action: 2026-12-15" in text
    assert "The system keeps running meanwhile: No" in text
    assert "Nothing is sent until you choose *Send it now*." in text
    choice = inputs(view)["choice"]
    assert [o["value"] for o in choice["element"]["options"]] == ["send", "other"]
    assert "initial_option" not in choice["element"]  # no default: the person must choose
    assert choice.get("optional") is not True
    assert posted_to_authority(bot) == []  # opening the modal sends nothing


def test_nothing_is_sent_without_a_choice_nor_when_informed_another_way(bot: LocalBot) -> None:
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_authority")
    unchosen = bot.driver.submit(view["id"], user=OFFICER, values={"how": "Phone"})
    assert unchosen.json()["response_action"] == "errors"
    assert set(unchosen.json()["errors"]) == {"choice"}

    another_way = bot.driver.submit(view["id"], user=OFFICER, values={"choice": "other"})
    assert another_way.json()["response_action"] == "errors"
    assert "how" in another_way.json()["errors"]  # another way must say how (and when)
    assert "inform_authority" not in case_row(bot).details.duties

    record_duty(
        bot,
        "inform_authority",
        values={"choice": "other", "how": "Phoned the case handler", "on": "2026-11-30"},
    )
    settle(bot)
    assert posted_to_authority(bot) == []
    [event] = [e for e in case_events(bot) if e.kind == "duty_inform_authority"]
    assert event.payload["data"]["choice"] == "other"
    assert event.payload["data"]["how"] == "Phoned the case handler"
    assert "message" not in event.payload["data"]
    assert case_row(bot).details.duties["inform_authority"].sent_to is None
    [line] = [
        line
        for line in timeline_lines(bot.services, case_row(bot))
        if "market surveillance authority informed" in line
    ]
    assert "informed, recorded by" in line and "Send it now" not in line


def test_send_it_now_posts_exactly_what_was_shown_once_and_keeps_it_verbatim(
    bot: LocalBot, clock: FakeClock
) -> None:
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_authority")
    shown = [b for b in view["blocks"] if b["type"] in ("header", "section")][2:]
    response = bot.driver.submit(view["id"], user=OFFICER, values={"choice": "send"})
    assert (response.status, response.body) == (200, b"")
    [posted] = wait_for(lambda: posted_to_authority(bot), what="the authority's message")
    settle(bot)
    assert posted.blocks == shown[: len(posted.blocks)]  # the modal showed these very blocks
    assert posted.text.startswith("To Dutch AI market surveillance authority: Example AI B.V.")

    [event] = [e for e in case_events(bot) if e.kind == "duty_inform_authority"]
    data = event.payload["data"]
    assert data["choice"] == "send" and data["on"] == clock().date().isoformat()
    assert data["message"] == {
        "channel": AUTHORITY_CHANNEL,
        "text": posted.text,
        "blocks": posted.blocks,
    }
    with bot.services.db.read() as session:
        [row] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.target == AUTHORITY_CHANNEL)
        ).all()
        assert row.status == outbox_rows.SENT and row.payload["step"] == "inform_authority"
        assert (row.payload["text"], row.payload["blocks"]) == (posted.text, posted.blocks)
    recorded = case_row(bot).details.duties["inform_authority"]
    assert recorded.sent_to == AUTHORITY_CHANNEL
    panel = str(duties_panel(bot).blocks)
    assert "Sent by nonconformity-bot in the Slack channel of Dutch AI market" in panel

    # The case's chronology says which way: the bot sent it, chosen by the officer.
    [line] = [
        line
        for line in timeline_lines(bot.services, case_row(bot))
        if "market surveillance authority informed" in line
    ]
    assert "the bot sent the message in its Slack channel (Send it now), chosen by" in line

    # The same submission again (a retry, a double click) sends nothing more.
    again = bot.driver.submit(view["id"], user=OFFICER, values={"choice": "send"})
    assert again.json()["response_action"] == "errors"
    settle(bot)
    assert len(posted_to_authority(bot)) == 1


def test_a_message_that_changed_since_the_modal_opened_is_refused_not_sent(bot: LocalBot) -> None:
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_authority")
    metadata = view["private_metadata"].replace('"shown": "', '"shown": "0')
    response = bot.driver.submit(
        view["id"], user=OFFICER, values={"choice": "send"}, private_metadata=metadata
    )
    assert response.json()["response_action"] == "errors"
    assert "changed since you opened this" in response.json()["errors"]["choice"]
    settle(bot)
    assert posted_to_authority(bot) == []
    assert "inform_authority" not in case_row(bot).details.duties


def test_a_dutch_authority_reads_the_draft_in_dutch_naming_the_provider_and_the_ask(
    dutch_bot: LocalBot,
) -> None:
    bot = dutch_bot
    approved_with_a_risk(bot)
    text = view_text(open_duty(bot, "inform_authority"))
    assert "Aan Dutch AI market surveillance authority: Example AI B.V. informeert u" in text
    assert "Aanbieder: Example AI B.V., Keizersgracht 1" in text
    asked = "Gevraagd van distributeurs, importeurs en gebruiksverantwoordelijken: "
    assert f"{asked}{ASKED['partner_ask']} (uiterlijk op 2026-12-08)" in text
    assert "Genomen corrigerende maatregel: Uit de handel nemen" in text
    assert "Het systeem blijft intussen draaien: Nee" in text
    # The officer's own words around it stay in the workspace's language.
    assert "Exactly as it will be posted in <#C0AUTHORTY>:" in text
    record_duty(bot, "inform_authority", values={"choice": "send"})
    [posted] = wait_for(lambda: posted_to_authority(bot), what="the authority's message")
    assert posted.text.startswith("Aan Dutch AI market surveillance authority: Example AI B.V.")


def test_a_notified_body_without_a_channel_is_informed_another_way_only(bot: LocalBot) -> None:
    approved_with_a_risk(bot)
    view = open_duty(bot, "inform_notified_body")
    assert "choice" not in inputs(view)
    assert "Provider: Example AI B.V." in view_text(view)  # the draft to copy names the provider
    record_duty(bot, "inform_notified_body")
    [event] = [e for e in case_events(bot) if e.kind == "duty_inform_notified_body"]
    assert event.payload["data"]["choice"] == "other"
