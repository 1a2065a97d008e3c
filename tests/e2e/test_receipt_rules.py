"""Who can acknowledge receipt of a partner notice, and where (issue 15, item 3).

A receipt comes from the notice's own channel, and from the partner: its workspace (``team``)
or one of its ``contacts``. For a partner without ``team``, a user of another workspace counts
only when the channel is shared with exactly one other organisation — the one that user belongs
to, as Slack's ``conversations.info`` says."""

from __future__ import annotations

import logging

import pytest

from bot.devkit.local import LocalBot
from bot.views import ids
from tests.scenarios import (
    ACME_CONTACT,
    PARTNER_USER,
    TRIAGE,
    case_card,
    case_events,
    notice_rows,
    notices_in,
    refusal_after,
    settle,
    wait_for,
    walk_to,
)

ACME = "C0ACMEDIST"
NORTHWIND = "C0NORTHWND"  # Northwind names no team in the sample workspace
THIRD_TEAM = "T0THIRD001"
THIRD_USER = "U0THIRD001"  # of a third organisation that also shares Northwind's channel


def approved(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    wait_for(lambda: notices_in(bot, NORTHWIND) and notices_in(bot, ACME), what="the notices")


def notice_id(bot: LocalBot, partner: str) -> int:
    return int(notice_rows(bot)[partner].id)


def press(bot: LocalBot, channel: str, user: str) -> str:
    """Press "Acknowledge receipt" as ``user``; the ephemeral answer, once the click applied."""
    notice = notices_in(bot, channel)[0]
    before = len(bot.standin.response_posts())
    response = bot.driver.click(channel, notice.ts, ids.NOTICE_ACK, user=user)
    assert response.status == 200, response.body
    answer = refusal_after(bot, before)
    settle(bot)
    return answer


def test_a_receipt_clicked_in_the_triage_channel_is_refused_and_recorded_nowhere(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    approved(bot)
    events = len(case_events(bot))
    before = len(bot.standin.response_posts())
    with caplog.at_level(logging.WARNING, logger="ncbot.notices"):
        response = bot.driver.click(
            TRIAGE,
            case_card(bot).ts,
            ids.NOTICE_ACK,
            user=PARTNER_USER,
            value=str(notice_id(bot, "northwind")),
            force=True,
        )
    assert response.status == 200, response.body
    text = refusal_after(bot, before)
    assert "only be acknowledged in the channel it was sent to" in text
    assert "Northwind Bank" in text
    northwind = notice_rows(bot)["northwind"]
    assert (northwind.status, northwind.staff_clicks) == ("sent", [])
    assert len(case_events(bot)) == events
    refusals = [r for r in caplog.records if "outside the notice's channel" in r.getMessage()]
    assert len(refusals) == 1


def test_a_receipt_clicked_in_another_partners_channel_is_refused(bot: LocalBot) -> None:
    approved(bot)
    acme_notice = notices_in(bot, ACME)[0]
    before = len(bot.standin.response_posts())
    bot.driver.click(
        ACME,
        acme_notice.ts,
        ids.NOTICE_ACK,
        user=ACME_CONTACT,
        value=str(notice_id(bot, "northwind")),
        force=True,
    )
    assert "only be acknowledged in the channel it was sent to" in refusal_after(bot, before)
    assert notice_rows(bot)["northwind"].status == "sent"


def test_the_one_other_organisation_in_the_channel_acknowledges_for_a_partner_without_team(
    bot: LocalBot,
) -> None:
    approved(bot)
    press(bot, NORTHWIND, PARTNER_USER)
    northwind = notice_rows(bot)["northwind"]
    assert (northwind.status, northwind.ack_by) == ("acknowledged", PARTNER_USER)


def test_a_third_organisation_does_not_acknowledge_for_a_partner_without_team(
    bot: LocalBot,
) -> None:
    bot.standin.add_user(THIRD_USER, team_id=THIRD_TEAM, real_name="Tom Third")
    approved(bot)
    answer = press(bot, NORTHWIND, THIRD_USER)  # not in the channel's organisations at all
    assert "only someone from Northwind Bank can acknowledge" in answer
    assert notice_rows(bot)["northwind"].status == "sent"
    assert "notice_click_other_workspace" in [e.kind for e in case_events(bot)]


def test_in_a_channel_shared_with_two_organisations_only_contacts_acknowledge(
    bot: LocalBot,
) -> None:
    bot.standin.add_user(THIRD_USER, team_id=THIRD_TEAM, real_name="Tom Third")
    shared = bot.standin.channel_info(NORTHWIND)
    bot.standin.add_channel(
        NORTHWIND,
        name=shared.name,
        members=[*shared.members, THIRD_USER],
        is_ext_shared=True,
    )
    approved(bot)
    press(bot, NORTHWIND, PARTNER_USER)
    press(bot, NORTHWIND, THIRD_USER)
    assert notice_rows(bot)["northwind"].status == "sent"
    kinds = [e.kind for e in case_events(bot)]
    assert kinds.count("notice_click_other_workspace") == 2

    press(bot, ACME, ACME_CONTACT)  # a listed contact still counts
    assert notice_rows(bot)["acme-dist"].status == "acknowledged"
