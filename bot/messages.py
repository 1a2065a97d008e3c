"""The one message catalogue: every user-facing string, in English and Dutch.

Keys are grouped by the conversation they belong to. Placeholders use ``str.format`` names;
a test renders every key in both languages and checks that the placeholders agree, so a Dutch
text can never silently drop a case number.
"""

from __future__ import annotations

from typing import Final, Literal

Language = Literal["en", "nl"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "nl")

EN: Final[dict[str, str]] = {
    # --- workflow refusals (bot/workflow.py) ---
    "refusal.external": "People from other workspaces can follow this case but not change it.",
    "refusal.wrong_state": "This step is no longer possible: the case has moved on. "
    "The thread shows what it waits for now.",
    "refusal.not_allowed": "Only {who} can do this.",
    "refusal.four_eyes": "You proposed this corrective action, so someone else must approve "
    "or reject it.",
    "state.reported": "Reported",
    "state.acknowledged": "Acknowledged",
    "state.confirmed": "Non-conformity confirmed",
    "state.measure_proposed": "Corrective action proposed",
    "state.measure_approved": "Corrective action approved",
    "state.measure_done": "Corrective action carried out",
    "state.closed": "Closed",
    "state.dismissed": "Not a non-conformity",
    "next.acknowledge": "Next: triage acknowledges the report.",
    "next.assess": "Next: triage assesses whether this is a non-conformity.",
    "next.propose_measure": "Next: propose a corrective action.",
    "next.approve": "Next: an approver other than the proposer approves or rejects it.",
    "next.mark_done": "Next: carry out the corrective action and mark it done.",
    "next.close": "Next: the case owner or triage closes the case.",
    "next.none": "No further steps.",
    # --- end workflow refusals ---
}

NL: Final[dict[str, str]] = {
    # --- workflow refusals (bot/workflow.py) ---
    "refusal.external": "Mensen uit andere werkruimtes kunnen deze zaak volgen, niet wijzigen.",
    "refusal.wrong_state": "Deze stap kan niet meer: de zaak is al verder. "
    "In de thread staat waar ze nu op wacht.",
    "refusal.not_allowed": "Alleen {who} kan dit doen.",
    "refusal.four_eyes": "Je hebt deze corrigerende maatregel zelf voorgesteld, dus iemand anders "
    "moet hem goedkeuren of afwijzen.",
    "state.reported": "Gemeld",
    "state.acknowledged": "Ontvangst bevestigd",
    "state.confirmed": "Non-conformiteit bevestigd",
    "state.measure_proposed": "Corrigerende maatregel voorgesteld",
    "state.measure_approved": "Corrigerende maatregel goedgekeurd",
    "state.measure_done": "Corrigerende maatregel uitgevoerd",
    "state.closed": "Gesloten",
    "state.dismissed": "Geen non-conformiteit",
    "next.acknowledge": "Volgende stap: triage bevestigt de ontvangst van de melding.",
    "next.assess": "Volgende stap: triage beoordeelt of dit een non-conformiteit is.",
    "next.propose_measure": "Volgende stap: een corrigerende maatregel voorstellen.",
    "next.approve": "Volgende stap: een andere goedkeurder dan de indiener keurt hem goed of af.",
    "next.mark_done": "Volgende stap: de corrigerende maatregel uitvoeren en afvinken.",
    "next.close": "Volgende stap: de eigenaar van de zaak of triage sluit de zaak.",
    "next.none": "Geen verdere stappen.",
    # --- end workflow refusals ---
}

CATALOGUE: Final[dict[Language, dict[str, str]]] = {"en": EN, "nl": NL}


def t(key: str, lang: Language = "en", /, **params: object) -> str:
    """Render ``key`` in ``lang``; an unknown key is a programming error and raises KeyError."""
    return CATALOGUE[lang][key].format(**params)
