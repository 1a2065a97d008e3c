"""Notices people outside can act on (issue 16): the provider named, what the measure means for
the partner's role, what we ask and by when, whether the system keeps running, whom to contact
and what acknowledging means — in the partner's language first; and every reply and reminder a
partner reads in its language. The real bot over HTTP, the Slack stand-in and a FakeClock.

In the sample workspace ACME Distribution (distributor, C0ACMEDIST) reads Dutch; Northwind Bank
(deployer, C0NORTHWND) and EU Import (importer, C0EUIMPORT) read English. The provider is
Example AI B.V.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.dossier import service as dossier
from bot.dossier.formats import render
from bot.ops.workspace import Workspace, parse_workspace, sample_path
from bot.views import ids
from tests.scenarios import (
    ACME_CONTACT,
    APPROVER,
    MEASURE_PLAN,
    OFFICER,
    PARTNER_USER,
    block_texts,
    case_card,
    case_row,
    decide,
    notices_in,
    refusal_after,
    report,
    settle,
    thread_replies,
    wait_for,
)

ACME, NORTHWIND, EU_IMPORT = "C0ACMEDIST", "C0NORTHWND", "C0EUIMPORT"
ASK = "Remove version 2.3 from your offer and tell us which customers received it."
ASKED = {**MEASURE_PLAN, "partner_ask": ASK, "partner_by": "2026-12-08"}


def readable(message: Any) -> str:
    """What a person reads: the text of every block, bold markers dropped."""
    return "\n".join(block_texts(message.blocks)).replace("*", "")


def approved(bot: LocalBot, plan: dict[str, Any], measure: str = "withdraw") -> None:
    response = report(bot)
    assert response.status == 200, response.body
    case_card(bot)
    wait_for(lambda: thread_replies(bot), what="the first step")
    settle(bot)
    decide(bot, "case_acknowledge", OFFICER)
    from tests.scenarios import ASSESSMENT

    decide(bot, "case_confirm", OFFICER, ASSESSMENT)
    decide(bot, f"measure_choose_{measure}", OFFICER, plan)
    decide(bot, "measure_approve", APPROVER)
    settle(bot)


def notice(bot: LocalBot, channel: str) -> Any:
    return wait_for(lambda: notices_in(bot, channel), what=f"the notice in {channel}")[0]


def test_an_english_notice_names_the_provider_and_says_what_to_do_and_by_when(
    bot: LocalBot,
) -> None:
    approved(bot, ASKED)
    text = readable(notice(bot, EU_IMPORT))
    lines = text.splitlines()
    assert lines[0] == "Corrective action notice — NC-1"
    assert lines[1] == (
        "Provider: Example AI B.V. · Keizersgracht 1, 1015 CJ Amsterdam, NL · "
        "compliance@example.com"
    )
    assert lines[2].startswith(
        "Dear EU Import GmbH, Example AI B.V., the provider of Credit scoring model, informs you"
    )
    body = "\n".join(lines)
    assert "What this means for you as importer\nDo not place the system on the market" in body
    assert f"What we ask of you, and by when\n{ASK}\nBy 2026-12-08." in body
    assert "Does the system keep running?\nNo: the system is taken out of use" in body
    assert "Questions? Contact Example AI B.V. at compliance@example.com, quoting NC-1." in body
    assert "tells us that you received this notice; it does not mean that you agree" in body
    # In the order someone acting on it reads it.
    order = ["NC-1", "Nature of the non-conformity", "What this means", "What we ask", "keep run"]
    positions = [body.index(part) for part in order]
    assert positions == sorted(positions), positions


def test_a_dutch_notice_says_the_same_in_dutch_first(bot: LocalBot) -> None:
    approved(bot, ASKED)
    message = notice(bot, ACME)
    assert message.text.startswith("Example AI B.V.: NC-1: corrigerende maatregel *Uit de handel")
    text = readable(message)
    assert "Aanbieder: Example AI B.V. · Keizersgracht 1" in text
    assert "Beste ACME Distribution B.V., Example AI B.V., aanbieder van Credit scoring" in text
    assert "Uit de handel nemen (Withdraw)" in text  # Dutch first, the English term after
    assert "Wat dit voor u als distributeur betekent\nBied het systeem niet langer aan" in text
    assert f"Wat wij van u vragen, en wanneer\n{ASK}\nUiterlijk op 2026-12-08." in text
    assert "Blijft het systeem draaien?\nNee: het systeem wordt buiten gebruik gesteld" in text
    assert "Neem contact op met Example AI B.V. via compliance@example.com en vermeld NC-1" in text
    assert "het betekent niet dat u het ermee eens bent" in text
    for english in ("What this means", "What we ask", "Questions?", "Provider:"):
        assert english not in text


def test_a_deployer_of_a_system_that_keeps_running_is_not_told_to_stop(bot: LocalBot) -> None:
    approved(bot, {**MEASURE_PLAN, "keeps_running": "yes"}, measure="bring_into_conformity")
    text = readable(notice(bot, NORTHWIND))
    assert "What this means for you as deployer\nYou may keep using the system" in text
    assert "Yes: the system keeps running" in text
    assert "stop" not in text.lower() and "suspend" not in text.lower()
    # Nothing asked: the notice says so rather than leaving a blank.
    assert "Nothing beyond what your role requires above" in text


def test_a_dutch_partner_is_thanked_in_dutch(bot: LocalBot) -> None:
    approved(bot, ASKED)
    message = notice(bot, ACME)
    before = len(bot.standin.response_posts())
    response = bot.driver.click(ACME, message.ts, ids.NOTICE_ACK, user=ACME_CONTACT)
    assert response.status == 200, response.body
    answer = refusal_after(bot, before)
    assert answer == "Dank u — de ontvangst van de melding over NC-1 is vastgelegd."
    settle(bot)
    again_before = len(bot.standin.response_posts())
    notice_id = str(message.metadata["event_payload"]["notice_id"])
    bot.driver.click(
        ACME, message.ts, ids.NOTICE_ACK, user=ACME_CONTACT, force=True, value=notice_id
    )
    assert refusal_after(bot, again_before).startswith("De ontvangst is al bevestigd door")
    # An English partner is still thanked in English.
    english = notice(bot, NORTHWIND)
    before = len(bot.standin.response_posts())
    bot.driver.click(NORTHWIND, english.ts, ids.NOTICE_ACK, user=PARTNER_USER)
    assert refusal_after(bot, before).startswith("Thank you — receipt of the notice")


def test_a_dutch_partner_is_reminded_in_dutch(bot: LocalBot, clock: FakeClock) -> None:
    approved(bot, ASKED)
    notice(bot, ACME)
    clock.advance(timedelta(hours=25))
    bot.sweep()
    settle(bot)
    reminders = wait_for(
        lambda: [m for m in bot.standin.messages(ACME) if m.text.startswith("⏰")],
        what="the reminder in ACME's channel",
    )
    [reminder] = reminders
    assert reminder.text.startswith("⏰ Herinnering: bevestig alstublieft de ontvangst")
    assert "corrigerende maatregel *Uit de handel nemen*" in reminder.text
    assert "Withdraw" not in reminder.text
    [english] = [m for m in bot.standin.messages(EU_IMPORT) if m.text.startswith("⏰")]
    assert english.text.startswith("⏰ Reminder: please acknowledge receipt")
    assert "*Withdraw*" in english.text


def test_the_dossier_names_the_provider_on_its_cover_and_the_ask_on_the_measure(
    bot: LocalBot, clock: FakeClock
) -> None:
    approved(bot, ASKED)
    data = dossier.load(bot.services.db, 1, now=clock())
    assert data["schema_version"] == "2.1"
    assert data["provider"] == {
        "name": "Example AI B.V.",
        "address": "Keizersgracht 1, 1015 CJ Amsterdam, NL",
        "contact": "compliance@example.com",
    }
    assert (data["measure"]["partner_ask"], data["measure"]["partner_by"]) == (ASK, "2026-12-08")
    markdown = render(data, "md").decode("utf-8")
    cover = markdown[: markdown.index("Case")]
    assert "Example AI B.V." in cover and "compliance@example.com" in cover
    assert case_row(bot).details.provider is not None
    assert json.loads(render(data, "json"))["provider"]["name"] == "Example AI B.V."


def acme_with_its_own_workspace() -> Workspace:
    """The sample workspace where ACME (Dutch) names its Slack workspace: a user of any other
    workspace is a third party whose click is no receipt."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    for partner in data["catalogue"]["partners"]:
        if partner["id"] == "acme-dist":
            partner["team"] = "T0ACMEDIST"
    return parse_workspace(yaml.safe_dump(data, sort_keys=False), "acme-team.yml")


@pytest.fixture
def acme_bot(sqlite_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    with LocalBot(acme_with_its_own_workspace(), database_url=sqlite_url, clock=clock) as local:
        yield local


def test_a_click_that_is_no_receipt_is_explained_in_the_clickers_language(
    acme_bot: LocalBot,
) -> None:
    bot = acme_bot
    approved(bot, ASKED)
    message = notice(bot, ACME)

    def answer(user: str) -> str:
        before = len(bot.standin.response_posts())
        response = bot.driver.click(ACME, message.ts, ids.NOTICE_ACK, user=user)
        assert response.status == 200, response.body
        return refusal_after(bot, before)

    # Someone of a third organisation in the shared channel reads ACME's language...
    assert answer(PARTNER_USER) == (
        "Uw klik is vastgelegd, maar alleen iemand van ACME Distribution B.V. kan de ontvangst "
        "namens hen bevestigen."
    )
    # ...our own staff reads the workspace's.
    assert answer(OFFICER).startswith("Recorded that you clicked, but only someone from ACME")
