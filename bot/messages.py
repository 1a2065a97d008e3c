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
    # --- common ---
    "common.cancel": "Cancel",
    "common.nobody": "nobody yet",
    "common.error": "Something went wrong on our side; nothing was changed. Please try again.",
    # --- slash command ---
    "help.text": (
        "*/nonconformity* — report and follow suspected non-conformities of our high-risk AI "
        "systems (EU AI Act, Article 20).\n"
        "• `/nonconformity report [title]` — report a suspected non-conformity\n"
        "• `/nonconformity list [open|mine|all]` — cases you may see\n"
        "• `/nonconformity status NC-<n>` — state, owner, measure and timeline of a case\n"
        "• `/nonconformity help` — this help"
    ),
    "help.unknown": "I don't know `{command}`.",
    "status.usage": "Which case? Use `/nonconformity status NC-<n>`, for example `NC-12`.",
    "case.unknown": "There is no case {ref}.",
    "case.hidden": "You can't see {ref}: only its reporter and the triage, approver and admin roles can.",
    "list.empty": "No cases to show for `{scope}`.",
    "list.header": "Cases ({scope}):",
    "list.more": "…and {count} more.",
    "list.usage": "Use `/nonconformity list [open|mine|all]`.",
    "report.no_systems": "The catalogue has no active AI systems; ask an admin to add them to the workspace file.",
    "report.unknown_system": "`{system}` is not in the catalogue; pick the system in the form.",
    "report.trigger_expired": "Slack took too long to let me open the form; please run the command again.",
    # --- report modal ---
    "report.modal.title": "Report non-conformity",
    "report.modal.submit": "Report",
    "report.modal.intro": "Tell triage what you observed. Article 20 asks us to act *immediately*: a case is opened as soon as you submit.",
    "report.system.label": "AI system",
    "report.system.placeholder": "Choose the AI system",
    "report.title.label": "Title",
    "report.description.label": "Description of what was observed",
    "report.description.hint": "What happened, since when, who or what is affected.",
    "report.requirements.label": "Suspected requirements not met",
    "report.requirements.placeholder": "AI Act Art. 9–15",
    "report.risk.label": "Is there a risk to health, safety or fundamental rights (Art. 79(1))?",
    "report.severity.label": "Severity",
    "report.evidence.label": "Evidence link (optional)",
    "report.evidence.hint": "A link to logs, a dashboard or a ticket (http or https, at most {max} characters).",
    "report.error.required": "Please fill this in.",
    "report.error.too_long": "Please keep this under {max} characters.",
    "report.error.url": "Please give an http:// or https:// link.",
    "report.error.choice": "Please choose one of the options.",
    "report.error.storage": "Your report could not be saved (the database did not answer). Nothing was stored; please submit again.",
    "report.done": "Thanks — your report is {ref}: {link}. Triage has been asked to acknowledge it; you'll hear from the thread.",
    "report.done.nolink": "Thanks — your report is {ref}. Triage has been asked to acknowledge it.",
    # --- vocabulary ---
    "severity.low": "Low",
    "severity.medium": "Medium",
    "severity.high": "High",
    "severity.critical": "Critical",
    "risk.yes": "Yes",
    "risk.no": "No",
    "risk.unknown": "Unknown",
    "requirement.art9": "Art. 9 Risk management system",
    "requirement.art10": "Art. 10 Data and data governance",
    "requirement.art11": "Art. 11 Technical documentation",
    "requirement.art12": "Art. 12 Record-keeping (logs)",
    "requirement.art13": "Art. 13 Transparency and information",
    "requirement.art14": "Art. 14 Human oversight",
    "requirement.art15": "Art. 15 Accuracy, robustness, cybersecurity",
    "requirement.other": "Other",
    "requirement.art9.short": "Art. 9",
    "requirement.art10.short": "Art. 10",
    "requirement.art11.short": "Art. 11",
    "requirement.art12.short": "Art. 12",
    "requirement.art13.short": "Art. 13",
    "requirement.art14.short": "Art. 14",
    "requirement.art15.short": "Art. 15",
    "requirement.other.short": "other",
    # --- case card and thread ---
    "card.text": "{ref}: suspected non-conformity — {title}",
    "card.system": "AI system",
    "card.severity": "Severity",
    "card.state": "State",
    "card.owner": "Owner",
    "card.risk": "Risk (Art. 79(1))",
    "card.requirements": "Requirements",
    "card.description": "Observed",
    "card.evidence": "Evidence",
    "card.reported": "Reported by {reporter} on {when}",
    "event.reported": "{when} — reported by {who}",
    "step.acknowledge": "*{ref}* waits for a triage member to acknowledge it and take ownership.",
    "step.acknowledge.text": "{ref}: acknowledge?",
    "button.acknowledge": "Acknowledge",
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
    # --- common ---
    "common.cancel": "Annuleren",
    "common.nobody": "nog niemand",
    "common.error": "Er ging aan onze kant iets mis; er is niets gewijzigd. Probeer het opnieuw.",
    # --- slash command ---
    "help.text": (
        "*/nonconformity* — meld en volg vermoedelijke non-conformiteit van onze hoog-risico-AI-"
        "systemen (AI-verordening, artikel 20).\n"
        "• `/nonconformity report [titel]` — meld een vermoedelijke non-conformiteit\n"
        "• `/nonconformity list [open|mine|all]` — zaken die je mag zien\n"
        "• `/nonconformity status NC-<n>` — status, eigenaar, maatregel en tijdlijn van een zaak\n"
        "• `/nonconformity help` — deze hulp"
    ),
    "help.unknown": "`{command}` ken ik niet.",
    "status.usage": "Welke zaak? Gebruik `/nonconformity status NC-<n>`, bijvoorbeeld `NC-12`.",
    "case.unknown": "Zaak {ref} bestaat niet.",
    "case.hidden": "Je kunt {ref} niet zien: alleen de melder en de rollen triage, goedkeurders en beheerders kunnen dat.",
    "list.empty": "Geen zaken voor `{scope}`.",
    "list.header": "Zaken ({scope}):",
    "list.more": "…en nog {count}.",
    "list.usage": "Gebruik `/nonconformity list [open|mine|all]`.",
    "report.no_systems": "De catalogus heeft geen actieve AI-systemen; vraag een beheerder ze aan het werkruimtebestand toe te voegen.",
    "report.unknown_system": "`{system}` staat niet in de catalogus; kies het systeem in het formulier.",
    "report.trigger_expired": "Slack deed te lang over het openen van het formulier; voer de opdracht opnieuw uit.",
    # --- report modal ---
    "report.modal.title": "Non-conformiteit melden",
    "report.modal.submit": "Melden",
    "report.modal.intro": "Vertel triage wat je hebt gezien. Artikel 20 vraagt ons *onmiddellijk* te handelen: de zaak wordt geopend zodra je verstuurt.",
    "report.system.label": "AI-systeem",
    "report.system.placeholder": "Kies het AI-systeem",
    "report.title.label": "Titel",
    "report.description.label": "Beschrijving van wat is waargenomen",
    "report.description.hint": "Wat gebeurde er, sinds wanneer, wie of wat wordt geraakt.",
    "report.requirements.label": "Vermoedelijk geschonden eisen",
    "report.requirements.placeholder": "AI-verordening art. 9–15",
    "report.risk.label": "Is er een risico voor gezondheid, veiligheid of grondrechten (art. 79, lid 1)?",
    "report.severity.label": "Ernst",
    "report.evidence.label": "Link naar bewijs (optioneel)",
    "report.evidence.hint": "Een link naar logs, een dashboard of een ticket (http of https, hoogstens {max} tekens).",
    "report.error.required": "Vul dit in.",
    "report.error.too_long": "Houd dit onder {max} tekens.",
    "report.error.url": "Geef een link die met http:// of https:// begint.",
    "report.error.choice": "Kies een van de opties.",
    "report.error.storage": "Je melding kon niet worden opgeslagen (de database antwoordde niet). Er is niets bewaard; verstuur opnieuw.",
    "report.done": "Dank je — je melding is {ref}: {link}. Triage is gevraagd haar in behandeling te nemen; je hoort meer in de thread.",
    "report.done.nolink": "Dank je — je melding is {ref}. Triage is gevraagd haar in behandeling te nemen.",
    # --- vocabulary ---
    "severity.low": "Laag",
    "severity.medium": "Gemiddeld",
    "severity.high": "Hoog",
    "severity.critical": "Kritiek",
    "risk.yes": "Ja",
    "risk.no": "Nee",
    "risk.unknown": "Onbekend",
    "requirement.art9": "Art. 9 Systeem voor risicobeheer",
    "requirement.art10": "Art. 10 Data en datagovernance",
    "requirement.art11": "Art. 11 Technische documentatie",
    "requirement.art12": "Art. 12 Registratie (logs)",
    "requirement.art13": "Art. 13 Transparantie en informatie",
    "requirement.art14": "Art. 14 Menselijk toezicht",
    "requirement.art15": "Art. 15 Nauwkeurigheid, robuustheid, cyberbeveiliging",
    "requirement.other": "Anders",
    "requirement.art9.short": "art. 9",
    "requirement.art10.short": "art. 10",
    "requirement.art11.short": "art. 11",
    "requirement.art12.short": "art. 12",
    "requirement.art13.short": "art. 13",
    "requirement.art14.short": "art. 14",
    "requirement.art15.short": "art. 15",
    "requirement.other.short": "anders",
    # --- case card and thread ---
    "card.text": "{ref}: vermoedelijke non-conformiteit — {title}",
    "card.system": "AI-systeem",
    "card.severity": "Ernst",
    "card.state": "Status",
    "card.owner": "Eigenaar",
    "card.risk": "Risico (art. 79, lid 1)",
    "card.requirements": "Eisen",
    "card.description": "Waargenomen",
    "card.evidence": "Bewijs",
    "card.reported": "Gemeld door {reporter} op {when}",
    "event.reported": "{when} — gemeld door {who}",
    "step.acknowledge": "*{ref}* wacht tot een triagelid haar in behandeling neemt.",
    "step.acknowledge.text": "{ref}: in behandeling nemen?",
    "button.acknowledge": "In behandeling nemen",
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


def t(key: str, lang: str = "en", /, **params: object) -> str:
    """Render ``key`` in ``lang`` (English for a language we do not have); an unknown key is a
    programming error and raises KeyError."""
    catalogue: dict[str, str] = CATALOGUE["nl"] if lang == "nl" else EN
    return catalogue[key].format(**params)


def has(key: str) -> bool:
    return key in EN
