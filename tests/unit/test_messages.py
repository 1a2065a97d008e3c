"""Every text the bot shows exists in English and Dutch with the same placeholders, and every
message and view it builds fits Slack's Block Kit limits in both languages."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.case_state import CaseDetails, CaseRecord
from bot.domain import DESCRIPTION_MAX, REQUIREMENTS, TITLE_MAX, URL_MAX
from bot.messages import CATALOGUE, EN, LANGUAGES, NL, t
from bot.standin import validate_message_blocks, validate_view
from bot.views import case as case_views
from bot.views.report import report_modal


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def sample_params(text: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in placeholders(text)}


def test_english_and_dutch_have_the_same_keys() -> None:
    assert sorted(set(EN) - set(NL)) == []
    assert sorted(set(NL) - set(EN)) == []


def test_each_key_has_the_same_placeholders_in_both_languages() -> None:
    mismatched = {
        key: (sorted(placeholders(EN[key])), sorted(placeholders(NL[key])))
        for key in EN
        if key in NL and placeholders(EN[key]) != placeholders(NL[key])
    }
    assert mismatched == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_renders_and_fits_a_section(lang: str) -> None:
    for key, text in CATALOGUE[lang].items():  # type: ignore[index]
        rendered = t(key, lang, **sample_params(text))
        assert rendered.strip(), key
        block = {"type": "section", "text": {"type": "mrkdwn", "text": rendered}}
        assert validate_message_blocks([block]) == [], key


def test_dutch_is_really_dutch() -> None:
    """A copy of the English catalogue would pass every other test here."""
    same = [key for key in EN if key in NL and EN[key] == NL[key] and len(EN[key]) > 12]
    assert len(same) <= len(EN) // 10, same


def many_systems(count: int = 150) -> list[tuple[str, str]]:
    return [
        (f"system-{n:03d}-{'x' * 50}", f"AI system {n} with a very long name " + "é" * 120)
        for n in range(count)
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_report_modal_fits_with_many_systems_and_the_longest_prefill(lang: str) -> None:
    systems = many_systems()
    view = report_modal(
        lang,
        systems,
        prefill="<!channel> & " + "🇳🇱" * 3000,
        system_id=systems[42][0],
        private_metadata="m" * 3000,
    )
    assert validate_view(view) == []
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert len(blocks["title"]["element"]["initial_value"]) <= TITLE_MAX
    assert blocks["system"]["element"]["initial_option"]["value"] == systems[42][0]
    requirement_values = [o["value"] for o in blocks["requirements"]["element"]["options"]]
    assert requirement_values == list(REQUIREMENTS)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_report_modal_fits_with_one_system_and_no_prefill(lang: str) -> None:
    assert validate_view(report_modal(lang, [("credit-scoring", "Credit scoring model 2.3")])) == []


def biggest_case(lang: str, *, owner: str | None = "U0OFFICER1") -> CaseRecord:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    return CaseRecord(
        id=1,
        number=999_999_999,
        system_id="s" * 64,
        system_version="v" * 40,
        title="&<>" * (TITLE_MAX // 3),
        description="<!channel> & " * (DESCRIPTION_MAX // 13),
        requirements=list(REQUIREMENTS),
        risk="unknown",
        severity="critical",
        evidence_url="https://example.com/?" + "&" * (URL_MAX - 21),
        reporter_id="U0REPORTR1",
        reporter_team="T0TEAM0001",
        state="measure_proposed",
        version=99,
        owner_id=owner,
        language=lang,
        channel="C0TRIAGE01",
        reported_at=now,
        updated_at=now,
        event_count=0,
        card_ts=None,
        head_hash=None,
        details=CaseDetails(permalink="https://acceptance.slack.com/archives/C0TRIAGE01/p1"),
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_case_card_fits_with_the_longest_input(lang: str) -> None:
    case = biggest_case(lang)
    blocks = case_views.case_card(case, "N" * 200, t("next.approve", lang), lang)
    assert validate_message_blocks(blocks) == []
    assert len(case_views.card_text(case, lang)) <= 40_000
    assert (
        validate_message_blocks(case_views.case_card(biggest_case(lang, owner=None), "n", "", lang))
        == []
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_acknowledge_step_fits(lang: str) -> None:
    blocks = case_views.acknowledge_step(biggest_case(lang), lang)
    assert validate_message_blocks(blocks) == []
    button = blocks[1]["elements"][0]
    assert button["text"]["text"] == t("button.acknowledge", lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_blocks_fit_with_a_long_timeline(lang: str) -> None:
    timeline = [t("event.reported", lang, who="<@U0REPORTR1>", when="x" * 200)] * 60
    blocks = case_views.status_blocks(
        biggest_case(lang), "N" * 200, t("next.none", lang), timeline, lang
    )
    assert validate_message_blocks(blocks) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_and_list_lines_fit(lang: str) -> None:
    help_block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": t("help.text", lang)},
    }
    assert validate_message_blocks([help_block]) == []
    line = case_views.case_line(biggest_case(lang), "https://acceptance.slack.com/x", lang)
    assert (
        validate_message_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": line}}])
        == []
    )
    assert len(line) <= 200, len(line)
