"""Every text the bot shows exists in English and Dutch with the same placeholders, a counted
text has the plural forms each language's CLDR rules ask for, and every message and view it
builds fits Slack's Block Kit limits in both languages."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.cases import views as case_views
from bot.cases.domain import DESCRIPTION_MAX, REQUIREMENTS, TITLE_MAX, URL_MAX
from bot.cases.report_views import report_modal
from bot.cases.state import CaseDetails, CaseRecord
from bot.devkit.standin import validate_message_blocks, validate_view
from bot.messages import CATALOGUE, EN, LANGUAGES, NL, PLURAL_RULES, Forms, Language, t, tn


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def texts(entry: str | Forms) -> list[str]:
    """The one text of a plain entry, or every plural form of a counted one."""
    return [entry] if isinstance(entry, str) else list(entry.values())


def entry_placeholders(entry: str | Forms) -> set[str]:
    return set().union(*(placeholders(text) for text in texts(entry)))


def sample_params(entry: str | Forms) -> dict[str, str]:
    """A value for each placeholder; a counted text's ``{count}`` is the number tn() is given."""
    counted = set() if isinstance(entry, str) else {"count"}
    return {name: f"<{name}>" for name in entry_placeholders(entry) - counted}


def test_english_and_dutch_have_the_same_keys() -> None:
    assert sorted(set(EN) - set(NL)) == []
    assert sorted(set(NL) - set(EN)) == []


def test_each_key_has_the_same_placeholders_in_both_languages() -> None:
    mismatched = {
        key: (sorted(entry_placeholders(EN[key])), sorted(entry_placeholders(NL[key])))
        for key in EN
        if key in NL and entry_placeholders(EN[key]) != entry_placeholders(NL[key])
    }
    assert mismatched == {}


def test_a_counted_text_is_counted_in_both_languages() -> None:
    counted = {
        lang: {k for k, e in CATALOGUE[lang].items() if not isinstance(e, str)}
        for lang in LANGUAGES
    }
    assert counted["en"] == counted["nl"]
    assert "close.blocked.notices" in counted["en"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_counted_text_has_exactly_the_plural_forms_of_its_language(lang: Language) -> None:
    """The CLDR categories Babel knows for the language, no more (a form no number selects) and
    no fewer (a number that would fall back to another form)."""
    categories = PLURAL_RULES[lang].tags | {"other"}
    wrong = {
        key: sorted(entry)
        for key, entry in CATALOGUE[lang].items()
        if not isinstance(entry, str) and set(entry) != categories
    }
    assert wrong == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_form_of_a_counted_text_shows_the_number_and_the_same_placeholders(
    lang: Language,
) -> None:
    wrong = {
        key: [sorted(placeholders(text)) for text in texts(entry)]
        for key, entry in CATALOGUE[lang].items()
        if not isinstance(entry, str)
        and any(
            placeholders(text) != entry_placeholders(entry) | {"count"} for text in entry.values()
        )
    }
    assert wrong == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_text_counts_with_a_bracketed_plural_ending(lang: Language) -> None:
    """Plural forms replace "(s)" and "(en)"; those endings should not come back."""
    bracketed = [
        key
        for key, entry in CATALOGUE[lang].items()
        for text in texts(entry)
        if "(s)" in text or "(en)" in text
    ]
    assert bracketed == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_renders_and_fits_a_section(lang: Language) -> None:
    for key, entry in CATALOGUE[lang].items():
        if isinstance(entry, str):
            rendered = [t(key, lang, **sample_params(entry))]
        else:
            rendered = [tn(key, lang, n, **sample_params(entry)) for n in (0, 1, 2, 1_000_000)]
        for text in rendered:
            assert text.strip(), key
            block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
            assert validate_message_blocks([block]) == [], key


def test_dutch_is_really_dutch() -> None:
    """A copy of the English catalogue would pass every other test here."""
    same = [
        key
        for key in EN
        if key in NL and texts(EN[key]) == texts(NL[key]) and len(texts(EN[key])[0]) > 12
    ]
    assert len(same) <= len(EN) // 10, same


# --- counted texts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("en", 1, "1 partner notice is not acknowledged or waived yet (ACME)."),
        ("en", 2, "2 partner notices are not acknowledged or waived yet (first: ACME)."),
        ("en", 0, "0 partner notices are not acknowledged or waived yet (first: ACME)."),
        ("nl", 1, "1 melding aan een partner is nog niet bevestigd of vrijgesteld (ACME)."),
        (
            "nl",
            2,
            "2 meldingen aan partners zijn nog niet bevestigd of vrijgesteld (eerste: ACME).",
        ),
        (
            "nl",
            0,
            "0 meldingen aan partners zijn nog niet bevestigd of vrijgesteld (eerste: ACME).",
        ),
    ],
)
def test_the_close_blocker_agrees_with_the_number_of_notices(
    lang: str, n: int, expected: str
) -> None:
    assert tn("close.blocked.notices", lang, n, partner="ACME") == expected


@pytest.mark.parametrize(
    ("lang", "one", "two"),
    [
        ("en", "approval pending since today; 1 reminder sent", "2 reminders sent"),
        (
            "nl",
            "goedkeuring open sinds vandaag; 1 herinnering verstuurd",
            "2 herinneringen verstuurd",
        ),
    ],
)
def test_the_overdue_line_counts_its_reminders(lang: str, one: str, two: str) -> None:
    params = {
        "what": t("home.timer.approval_pending", lang),
        "when": "today" if lang == "en" else "vandaag",
    }
    assert tn("home.overdue.timer", lang, 1, **params) == one
    assert tn("home.overdue.timer", lang, 2, **params).endswith(two)


def test_a_language_we_do_not_have_counts_in_english() -> None:
    assert tn("close.blocked.notices", "de", 1, partner="ACME").startswith("1 partner notice is")


def test_t_renders_a_counted_text_from_its_count_parameter() -> None:
    """Refusals and notes carry a key and parameters to a generic renderer that calls t()."""
    assert t("close.blocked.notices", "nl", count=1, partner="ACME") == tn(
        "close.blocked.notices", "nl", 1, partner="ACME"
    )


def test_a_counted_text_without_a_count_or_a_count_for_a_plain_text_is_a_programming_error() -> (
    None
):
    with pytest.raises(TypeError, match=r"close\.blocked\.notices"):
        t("close.blocked.notices", "en", partner="ACME")
    with pytest.raises(TypeError, match=r"close\.blocked\.notices"):
        t("close.blocked.notices", "en", count="3", partner="ACME")
    with pytest.raises(TypeError, match=r"list\.more"):
        tn("list.more", "en", 3)


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
