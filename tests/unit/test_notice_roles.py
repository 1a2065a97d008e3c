"""What a measure means for a partner's role (issue 16), checked against the AI Act: importers
(Art. 23), distributors (Art. 24), deployers (Art. 26), authorised representatives (Art. 22).
A deployer of a system that keeps running is never told to stop using it."""

from __future__ import annotations

import re

import pytest

from bot.cases.domain import Measure
from bot.messages import LANGUAGES, has, t
from bot.notices.service import INFORMED_ROLES
from bot.notices.views import role_key

ARTICLE = {
    "importer": "23",
    "distributor": "24",
    "deployer": "26",
    "authorised_representative": "22",
}
STOP = re.compile(r"\b(stop|suspend|do not use|niet meer|schort|gebruik het systeem niet)\b", re.I)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("running", ["yes", "no"])
@pytest.mark.parametrize("measure", [m.value for m in Measure])
@pytest.mark.parametrize("role", [r.value for r in INFORMED_ROLES])
def test_every_role_and_measure_has_its_text_citing_the_roles_article(
    role: str, measure: str, running: str, lang: str
) -> None:
    key = role_key(role, measure, running)
    assert has(key), key
    text = t(key, lang)
    assert f"{ARTICLE[role]}" in text and ("Art." in text or "art." in text), text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("measure", [m.value for m in Measure])
def test_a_deployer_of_a_running_system_is_never_told_to_stop(measure: str, lang: str) -> None:
    text = t(role_key("deployer", measure, "yes"), lang)
    assert not STOP.search(text), text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("measure", [m.value for m in Measure])
def test_a_deployer_of_a_stopped_system_is_told_to_stop(measure: str, lang: str) -> None:
    assert STOP.search(t(role_key("deployer", measure, "no"), lang))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_distributor_may_not_make_a_withdrawn_system_available(lang: str) -> None:
    text = t(role_key("distributor", "withdraw", "no"), lang)
    assert "3(17)" in text or "3, punt 17" in text
