"""The workspace file: the shape from the issue loads, and a mistake is one line naming the file,
the key as written and its line."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.ops.workspace import PartnerRole, load_workspace, parse_workspace, sample_path

ISSUE_SHAPE = textwrap.dedent(
    """\
    language: en            # or nl
    triage_channel: C0TRIAGE01
    roles: {triage: [U0OFFICER1], approvers: [U0APPROVE1], admins: [U0ADMIN001]}
    escalation:
      sweep_interval: 60s
      policies:
        default: [{after: 30m, notify: [U0OFFICER1]}, {after: 2h, notify: [C0MANAGERS]}]
    catalogue:
      partners:
        - {id: acme-dist, name: ACME Distribution B.V., role: distributor, channel: C0ACMEDIST}
      systems:
        - {id: credit-scoring, name: Credit scoring model, version: "2.3", partners: [acme-dist]}
    """
)


def test_the_shape_from_the_issue_loads() -> None:
    workspace = parse_workspace(ISSUE_SHAPE, "workspace.yml")
    assert workspace.language == "en"
    assert workspace.triage_channel == "C0TRIAGE01"
    assert workspace.roles.approvers == ["U0APPROVE1"]
    assert workspace.escalation.sweep_interval == timedelta(seconds=60)
    levels = workspace.escalation.policies["default"].levels
    assert [level.after for level in levels] == [timedelta(minutes=30), timedelta(hours=2)]
    assert levels[1].notify == ["C0MANAGERS"]
    assert workspace.catalogue.partners[0].role is PartnerRole.DISTRIBUTOR
    system = workspace.catalogue.systems[0]
    assert (system.id, system.version, system.partners) == ("credit-scoring", "2.3", ["acme-dist"])
    assert workspace.is_member("U0ADMIN001") and not workspace.is_member("U0REPORTR1")


def test_the_shipped_sample_loads() -> None:
    assert load_workspace(sample_path()).catalogue.system("credit-scoring") is not None


@pytest.mark.parametrize("role", [r.value for r in PartnerRole])
def test_every_partner_role_of_the_act_is_accepted(role: str) -> None:
    text = ISSUE_SHAPE.replace("role: distributor", f"role: {role}")
    assert parse_workspace(text, "w.yml").catalogue.partners[0].role.value == role


@pytest.mark.parametrize(
    ("written", "expected"), [("45s", 45), ("5m", 300), ("2h", 7200), ("1d", 86400)]
)
def test_durations_are_n_with_s_m_h_or_d(written: str, expected: int) -> None:
    text = ISSUE_SHAPE.replace("sweep_interval: 60s", f"sweep_interval: {written}")
    assert parse_workspace(text, "w.yml").escalation.sweep_interval == timedelta(seconds=expected)


MISTAKES = [
    pytest.param(
        ("role: distributor", "role: reseller"), "catalogue.partners.0.role", 10, id="partner role"
    ),
    pytest.param(("after: 2h", "after: 2 hours"), "escalation.policies.default", 7, id="duration"),
    pytest.param(
        ("triage_channel: C0TRIAGE01", "triage_channel: nc-triage"),
        "triage_channel",
        2,
        id="channel id",
    ),
    pytest.param(("admins: [U0ADMIN001]", "admins: [ada]"), "roles.admins.0", 3, id="user id"),
    pytest.param(
        ("partners: [acme-dist]", "partners: [nobody]"), "catalogue", 8, id="unknown partner"
    ),
    pytest.param(("language: en", "language: fr"), "language", 1, id="language"),
    pytest.param(("language: en", "langauge: en"), "langauge", 1, id="misspelt key"),
]


@pytest.mark.parametrize(("change", "key", "line"), MISTAKES)
def test_a_mistake_names_the_file_the_key_and_the_line(
    change: tuple[str, str], key: str, line: int
) -> None:
    text = ISSUE_SHAPE.replace(*change)
    assert text != ISSUE_SHAPE
    with pytest.raises(ConfigError) as refused:
        parse_workspace(text, "/etc/ncbot/workspace.yml")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"/etc/ncbot/workspace.yml: line {line}: {key}"), message


def test_yaml_that_does_not_parse_names_its_line() -> None:
    text = ISSUE_SHAPE.replace("roles: {triage:", "roles: {triage: [")
    with pytest.raises(ConfigError, match=r"^w\.yml: line \d+: not valid YAML$"):
        parse_workspace(text, "w.yml")


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yml: cannot read"):
        load_workspace(tmp_path / "nowhere.yml")


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^w\.yml: line 1: "):
        parse_workspace("- just\n- a list\n", "w.yml")


def test_timers_accept_their_other_names_a_single_level_or_a_duration() -> None:
    from bot.ops.workspace import parse_workspace

    workspace = parse_workspace(
        "triage_channel: C0TRIAGE01\n"
        "escalation:\n"
        "  timers:\n"
        "    approval: 2s\n"
        "    overdue: {after: 1s, repeat: {every: 1s, max: 2}}\n"
        "    art73: {before: 2d}\n",
        "timers.yml",
    )
    timers = workspace.escalation.timers
    approval = timers["approval_pending"].levels
    assert [(level.offset.total_seconds(), level.notify) for level in approval] == [
        (2, ["approvers"])
    ]
    overdue = timers["measure_overdue"].levels[0]
    assert (overdue.notify, overdue.repeat and overdue.repeat.max) == (["measure_owner"], 2)
    assert timers["art73_report"].levels[0].offset.days == -2
    assert timers["notice_receipt"] == workspace.escalation.timer("notice_receipt")  # default


def test_an_unknown_timer_name_is_one_line_naming_it() -> None:
    import pytest

    from bot.errors import ConfigError
    from bot.ops.workspace import parse_workspace

    with pytest.raises(ConfigError, match="unknown timer 'nudge'"):
        parse_workspace(
            "triage_channel: C0TRIAGE01\nescalation:\n  timers:\n    nudge: 1h\n", "t.yml"
        )


# --- Art. 73(1): an authority per Member State (issue 18) --------------------------------------

AUTHORITIES = (
    "  market_surveillance_authority: nl-ams\n"
    "  market_surveillance_authorities: {NL: nl-ams, BE: be-ams}\n"
)


def _with_authorities(text: str, extra_partner: str) -> str:
    partners = "  partners:\n"
    return (
        ISSUE_SHAPE.replace(
            partners,
            partners
            + "    - {id: nl-ams, name: Dutch AMS, role: market_surveillance_authority}\n"
            + extra_partner,
        )
        + text
    )


def test_a_serious_incident_goes_to_the_authority_of_each_member_state() -> None:
    text = _with_authorities(
        AUTHORITIES,
        "    - {id: be-ams, name: Belgian AMS, role: market_surveillance_authority}\n",
    )
    catalogue = parse_workspace(text, "w.yml").catalogue
    # a Member State without its own falls back to the system's (here the catalogue's)
    assert catalogue.incident_authorities("credit-scoring", ["BE", "DE", "NL"]) == [
        ("BE", "be-ams"),
        ("DE", "nl-ams"),
        ("NL", "nl-ams"),
    ]


@pytest.mark.parametrize(
    ("authorities", "partner", "message"),
    [
        (
            "  market_surveillance_authorities: {EL: nl-ams}\n",
            "",
            "EL is not a Member State code",
        ),
        (
            "  market_surveillance_authorities: {BE: be-ams}\n",
            "",
            "unknown partner 'be-ams'",
        ),
        (
            "  market_surveillance_authorities: {BE: be-dist}\n",
            "    - {id: be-dist, name: Belgian Dist, role: distributor}\n",
            "names 'be-dist' as market_surveillance_authority, but its role is distributor",
        ),
    ],
    ids=["not a Member State", "unknown partner", "not an authority"],
)
def test_a_wrong_authority_per_member_state_is_refused(
    authorities: str, partner: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_workspace(_with_authorities(authorities, partner), "w.yml")
