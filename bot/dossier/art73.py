"""The Article 73 serious-incident report, drafted from a case's dossier.

It follows the structure of the European Commission's draft reporting template for serious
incidents under Article 73 (public consultation, September 2025): the report type; the provider
and its authorised representative; the AI system's identification; the incident (when it
happened, when the provider became aware, where, what, the harm category of Art. 3(49), who was
affected); the causal link; corrective actions taken and planned; other reports made for the
same event; contacts. What the case does not know is printed as "to be completed", never
guessed: the report is a draft for the person who files it.

Built from the dossier (``bot.dossier.service.load``), so it says nothing the dossier does not;
one structure (sections of labelled fields) gives the JSON, and the Markdown and PDF renderings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from bot.dossier.export import DossierJSON as Dossier
from bot.dossier.formats.document import (
    Document,
    Fields,
    Heading,
    LongText,
    Paragraph,
    People,
    moment,
)
from bot.messages import member_state, t

ReportType = Literal["initial", "follow-up", "final"]
REPORT_TYPES: Final[tuple[ReportType, ...]] = ("initial", "follow-up", "final")
LONG = frozenset({"description", "nature", "causal_link", "taken", "planned"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportField(_Model):
    id: str
    label: str
    value: str | None  # None: the case does not know it ("to be completed")


class Section(_Model):
    id: str
    title: str
    fields: list[ReportField]


class Art73Report(_Model):
    report: Literal["art73"] = "art73"
    type: ReportType
    case: str
    language: str
    generated_at: str
    sections: list[Section]
    to_be_completed: list[str]  # "section.field" ids the filer must still fill in


def next_type(dossier: Dossier) -> ReportType:
    """What the case's Art. 73 duties say is next: the initial report until it is recorded,
    then the final (complete) report."""
    art73 = dossier["authorities"].get("art73") or {}
    return "initial" if not art73.get("initial_report") else "final"


def draft(dossier: Dossier, lang: str, kind: ReportType | None = None) -> Art73Report:
    kind = kind or next_type(dossier)
    who = People(dossier, lang)
    case, system = dossier["case"], dossier["system"]
    authorities = dossier["authorities"]
    art73 = authorities.get("art73") or {}
    assessment = dossier["assessment"] or {}
    report = (dossier["report"] or {}).get("data") or {}
    states = list(assessment.get("member_states") or [])
    where = ", ".join(member_state(code, lang) for code in states) or None
    # Art. 73(1): the authority of each Member State where it occurred, else the system's.
    addressees = [
        t(
            "art73.addressee",
            lang,
            authority=found["authority"]["name"],
            member_state=member_state(found["member_state"], lang),
        )
        for found in authorities.get("incident_authorities") or []
        if found.get("authority")
    ]
    authority = "; ".join(dict.fromkeys(addressees)) or (
        (authorities.get("authority") or {}).get("name")
    )
    persons = assessment.get("persons_affected")
    representative = next(
        (
            n["partner_name"]
            for n in dossier["partner_notices"]
            if n["role"] == "authorised_representative"
        ),
        None,
    )
    incident = assessment.get("serious_incident")
    measures = [m for m in [dossier["measure"], *dossier["earlier_measures"]] if m]
    taken = [_measure(m, lang, who) for m in measures if m.get("done")]
    planned = [
        _measure(m, lang, who) for m in measures if not m.get("done") and m["status"] == "current"
    ]
    owner = case.get("owner")
    # The provider named when the case was reported (its name and address; how to reach it
    # goes under contacts); older dossiers carry only the system's.
    named = dossier.get("provider") or {}
    provider = ", ".join(v for v in (named.get("name"), named.get("address")) if v) or None
    sections = [
        _section(
            "report_type",
            lang,
            type=t(f"art73.type.{kind}", lang),
            date=str(dossier["generated_at"])[:10],
            case=case["ref"],
            addressed_to=authority,
            member_states=where,
        ),
        _section(
            "provider",
            lang,
            provider=provider or system.get("provider"),
            authorised_representative=representative,
        ),
        _section(
            "system",
            lang,
            name=system["name"],
            version=system["version"],
            eu_database_id=system.get("eu_database_id"),
            notified_body=(authorities.get("notified_body") or {}).get("name"),
            certificate=system.get("notified_body_certificate"),
        ),
        _section(
            "incident",
            lang,
            occurred_on=assessment.get("occurred_on") or None,
            aware_on=art73.get("aware_on") or assessment.get("aware_on"),
            member_states=where,
            description=report.get("description") or None,
            nature=assessment.get("nature") or None,
            harm=t(f"incident.{incident}", lang) if incident and incident != "none" else None,
            persons_affected=str(persons) if persons is not None else None,
        ),
        _section("causal", lang, causal_link=assessment.get("causal_link") or None),
        _section(
            "corrective",
            lang,
            taken="\n".join(taken) or None,
            planned="\n".join(planned) or None,
        ),
        _section("other_reports", lang, gdpr=None, other=None),
        _section(
            "contacts",
            lang,
            contact=who(owner) if owner else None,
            provider_contact=named.get("contact"),
            case=case.get("permalink") or case["ref"],
        ),
    ]
    missing = [f"{s.id}.{f.id}" for s in sections for f in s.fields if f.value is None]
    return Art73Report(
        type=kind,
        case=case["ref"],
        language=lang,
        generated_at=str(dossier["generated_at"]),
        sections=sections,
        to_be_completed=missing,
    )


def _section(section: str, lang: str, /, **values: str | None) -> Section:
    return Section(
        id=section,
        title=t(f"art73.section.{section}", lang),
        fields=[
            ReportField(id=key, label=t(f"art73.{section}.{key}", lang), value=value)
            for key, value in values.items()
        ],
    )


def _measure(measure: Mapping[str, Any], lang: str, who: People) -> str:
    kind = t(f"measure.{measure['measure']}", lang)
    line = t(
        "art73.measure",
        lang,
        measure=kind,
        plan=measure["plan"],
        owner=who(measure["owner"], title=False),
        target=measure["target_date"],
    )
    done = measure.get("done")
    if done:
        line += " " + t(
            "art73.measure.done", lang, when=moment(done["at"]), evidence=done["evidence"]
        )
    return line


def document(report: Art73Report) -> Document:
    lang = report.language
    missing = t("dossier.to_complete", lang)
    parts: list[Any] = [Paragraph(t("art73.intro", lang, ref=report.case))]
    for section in report.sections:
        parts.append(Heading(2, section.title))
        short = [(f.label, f.value or missing) for f in section.fields if f.id not in LONG]
        if short:
            parts.append(Fields(short))
        for f in section.fields:
            if f.id in LONG:
                parts.append(LongText(f.label, f.value or missing))
    title = t("art73.title", lang, type=t(f"art73.type.{report.type}", lang), ref=report.case)
    return Document(title, parts)


def render(report: Art73Report, fmt: str) -> bytes:
    if fmt == "json":
        return (
            json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        ).encode()
    if fmt == "md":
        from bot.dossier.formats.markdown import to_markdown

        return to_markdown(document(report)).encode()
    if fmt == "pdf":
        from bot.dossier.formats.pdf import to_pdf

        return to_pdf(document(report), (filename(report, "json"), render(report, "json")))
    raise ValueError(f"unknown report format {fmt!r}")


def filename(report: Art73Report, fmt: str) -> str:
    return f"{report.case}-art73-{report.type}.{fmt}"
