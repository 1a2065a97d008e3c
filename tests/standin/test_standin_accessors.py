"""Listing what the stand-in holds: channels, users and user groups, as snapshots."""

from __future__ import annotations

from bot.devkit.standin import SlackStandIn


def test_channels_lists_every_channel_and_dm_in_creation_order(standin: SlackStandIn) -> None:
    dm = standin.dm_channel("U0REPORTR1")
    ids = [c.id for c in standin.channels()]
    assert ids == ["C0TRIAGE01", "C0GENERAL1", "C0NOTBOT01", "C0ARCHIVE1", dm]
    assert next(c for c in standin.channels() if c.id == dm).is_im


def test_users_and_usergroups_are_listed(standin: SlackStandIn) -> None:
    standin.add_usergroup("S0APPROVRS", handle="approvers", users=["U0OFFICER1"])
    users = {u.id: u for u in standin.users()}
    assert users["U0EXTERNL1"].team_id == "T0PARTNER1"
    assert users[standin.bot_user_id].is_bot
    assert [(g.id, g.handle, g.users) for g in standin.usergroups()] == [
        ("S0APPROVRS", "approvers", ["U0OFFICER1"])
    ]


def test_listings_are_snapshots_that_do_not_change_the_stand_in(standin: SlackStandIn) -> None:
    standin.channels()[0].members.append("U0INTRUDER")
    standin.users()[0].real_name = "Someone else"
    assert "U0INTRUDER" not in standin.channel_info(standin.channels()[0].id).members
    assert standin.users()[0].real_name != "Someone else"
