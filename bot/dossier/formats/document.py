"""The dossier as a document: headings, fields, long texts and tables, in the case's language.

Markdown and PDF both render this, so they say the same things in the same order; only the JSON
export is the dossier dict itself. Labels come from the message catalogue; values are the
stored record (user text unchanged, times in UTC).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.cases.actors import MONITORING
from bot.dossier.export import DossierJSON as Dossier
from bot.messages import has, member_state, t, tn


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Fields:
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class LongText:
    label: str
    text: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    mono: frozenset[int] = frozenset()  # columns best shown in a fixed-width font (hashes)


@dataclass(frozen=True)
class Chronology:
    """Lines to read in order (a numbered or bulleted list)."""

    lines: list[str]


Part = Heading | Paragraph | Fields | LongText | Table | Chronology
DATA_MAX = 600  # characters of an event's data in the timeline table; JSON has all of it


@dataclass(frozen=True)
class Document:
    title: str
    parts: list[Part]


def document(dossier: Dossier, lang: str) -> Document:
    """The order an authority reads in: the cover, a summary, the chronology in sentences, the
    measures, every party informed with the text sent, the evidence; then the technical appendix
    (people's Slack ids, the audit events with their hashes, the verification)."""
    case = dossier["case"]
    who = People(dossier, lang)
    parts: list[Part] = [
        Paragraph(
            t(
                "dossier.generated",
                lang,
                when=moment(dossier["generated_at"]),
                version=dossier["schema_version"],
            )
        )
    ]
    parts += _provider(dossier, lang)
    parts += _case(dossier, lang, who)
    parts += _summary(dossier, lang, who)
    parts += _chronology(dossier, lang, who)
    parts += _report(dossier, lang, who)
    parts += _assessment(dossier, lang, who)
    parts += _measures(dossier, lang, who)
    parts += _notices(dossier, lang, who)
    parts += _authorities(dossier, lang, who)
    parts += _escalations(dossier, lang, who)
    parts += _evidence(dossier, lang)
    parts.append(Heading(1, t("dossier.section.appendix", lang)))
    parts.append(Paragraph(t("dossier.appendix.intro", lang)))
    parts += _people(dossier, lang)
    parts += _timeline(dossier, lang)
    parts += _audit(dossier, lang)
    return Document(t("dossier.title", lang, ref=case["ref"], title=case["title"]), parts)


def moment(value: object) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM:SS UTC``; dates and anything else unchanged."""
    if not value:
        return "—"
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if "T" not in text:
        return text
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


def _label(prefix: str, value: object, lang: str) -> str:
    key = f"{prefix}.{value}"
    return t(key, lang) if has(key) else str(value)


class People:
    """Names for the Slack ids a dossier holds: as Slack showed each person when first looked
    up (``dossier.people``). Ids appear only in the appendix; a person never looked up is named
    as such, and the appendix gives the id."""

    MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

    def __init__(self, dossier: Dossier, lang: str) -> None:
        self.lang = lang
        self.people = {p["id"]: p for p in dossier.get("people") or []}

    def __call__(self, user_id: object, *, title: bool = True) -> str:
        if not user_id:
            return "—"
        if user_id == MONITORING:
            return t("dossier.person.monitoring", self.lang)
        person = self.people.get(str(user_id)) or {}
        name = person.get("name")
        if not name:
            return t("dossier.person.unknown", self.lang)
        return f"{name}, {person['title']}" if title and person.get("title") else str(name)

    def actor(self, user_id: object, *, title: bool = True) -> str:
        return self(user_id, title=title) if user_id else t("dossier.person.bot", self.lang)

    def text(self, value: str) -> str:
        """Mentions (``<@U…>``) in a text as sent, as the names Slack showed."""
        return self.MENTION.sub(lambda m: "@" + self(m.group(1), title=False), value)

    def many(self, user_ids: Sequence[object]) -> str:
        return ", ".join(self(u, title=False) for u in user_ids) or "—"


def _provider(dossier: Dossier, lang: str) -> list[Part]:
    """The cover names the provider: who took the measure and whom to ask (schema 1.1)."""
    provider = dossier.get("provider") or {}
    rows = [
        (t(f"dossier.field.provider.{key}", lang), str(provider[key]))
        for key in ("name", "address", "contact")
        if provider.get(key)
    ]
    return [Fields(rows)] if rows else []


def _case(dossier: Dossier, lang: str, who: People) -> list[Part]:
    """The cover: who provides what system, which case, where it stands, what period."""
    case, system = dossier["case"], dossier["system"]
    requirements = ", ".join(_label("requirement", r, lang) for r in case["requirements"]) or "—"
    missing = t("dossier.to_complete", lang)
    timeline = dossier["timeline"]
    until = timeline[-1]["at"] if timeline else case["updated_at"]
    rows = [
        (t("dossier.field.provider", lang), system.get("provider") or missing),
        (t("card.system", lang), f"{system['name']} ({system['id']})"),
        (t("dossier.field.version", lang), system["version"]),
        (t("dossier.field.eu_database", lang), system.get("eu_database_id") or missing),
        (
            t("dossier.field.certificate", lang),
            system.get("notified_body_certificate") or missing,
        ),
        (t("dossier.field.case", lang), case["ref"]),
        (t("report.title.label", lang), case["title"]),
        (t("card.state", lang), _label("state", case["state"], lang)),
        (t("card.severity", lang), _label("severity", case["severity"], lang)),
        (t("card.risk", lang), _label("risk", case["risk"], lang)),
        (t("card.requirements", lang), requirements),
        (
            t("dossier.field.period", lang),
            t("dossier.period", lang, start=moment(case["reported_at"]), end=moment(until)),
        ),
        (t("dossier.field.reporter", lang), who(case["reporter"])),
        (t("card.owner", lang), who(case["owner"])),
        (t("dossier.field.thread", lang), case["permalink"] or t("dossier.in_appendix", lang)),
    ]
    return [Heading(2, t("dossier.section.case", lang)), Fields(rows)]


def _summary(dossier: Dossier, lang: str, who: People) -> list[Part]:
    """One paragraph: what happened, what was decided, who was told, whether the trail holds."""
    case, system = dossier["case"], dossier["system"]
    sentences = [
        t(
            "dossier.summary.reported",
            lang,
            ref=case["ref"],
            system=system["name"],
            version=system["version"],
            title=case["title"],
            who=who(case["reporter"], title=False),
            when=_day(case["reported_at"]),
        )
    ]
    assessment, dismissal = dossier["assessment"], dossier["dismissal"]
    if assessment:
        sentences.append(
            t(
                "dossier.summary.assessed",
                lang,
                who=who(assessment["by"], title=False),
                when=_day(assessment["at"]),
                risk=_label("risk", assessment["risk"], lang),
                incident=_label("incident", assessment["serious_incident"], lang),
            )
        )
    if dismissal:
        sentences.append(
            t(
                "dossier.summary.dismissed",
                lang,
                who=who(dismissal["by"], title=False),
                when=_day(dismissal["at"]),
            )
        )
    measure = dossier["measure"]
    if measure:
        sentences.append(
            t(
                "dossier.summary.measure",
                lang,
                measure=_label("measure", measure["measure"], lang),
                owner=who(measure["owner"], title=False),
                target=measure["target_date"],
                status=_label("dossier.measure_status", measure["status"], lang),
            )
        )
    notices = dossier["partner_notices"]
    if notices:
        sentences.append(
            tn(
                "dossier.summary.notices",
                lang,
                len(notices),
                acknowledged=sum(1 for n in notices if n["acknowledged_at"]),
            )
        )
    sentences.append(t("dossier.summary.state", lang, state=_label("state", case["state"], lang)))
    audit = dossier["audit"]
    key = "dossier.summary.intact" if audit["intact"] else "dossier.summary.broken"
    sentences.append(tn(key, lang, audit["event_count"]))
    return [Heading(2, t("dossier.section.summary", lang)), Paragraph(" ".join(sentences))]


def _day(value: object) -> str:
    return str(value)[:10] if value else "—"


def _chronology(dossier: Dossier, lang: str, who: People) -> list[Part]:
    """Every audit event as a sentence: who did what, when (times in UTC)."""
    partners = {n["partner_id"]: n["partner_name"] for n in dossier["partner_notices"]}
    authorities = dossier["authorities"]
    for party in (authorities["authority"], authorities["notified_body"]):
        if party:
            partners.setdefault(party["id"], party["name"])
    lines = [f"{moment(e['at'])} — {sentence(e, lang, who, partners)}" for e in dossier["timeline"]]
    return [Heading(2, t("dossier.section.chronology", lang)), Chronology(lines)]


def sentence(event: Mapping[str, Any], lang: str, who: People, partners: Mapping[str, str]) -> str:
    """One audit event in words. Each kind the trail records has its sentence in the catalogue
    (``chronology.<kind>``); a kind without one still reads as who and what."""
    kind, data = str(event["kind"]), event["data"] or {}
    params: dict[str, object] = {
        "who": who.actor(event["actor"], title=False),
        "reason": data.get("reason") or "—",
        "partner": partners.get(str(data.get("partner")), str(data.get("partner") or "—")),
    }
    if kind == "reported":
        params |= {
            "title": data.get("title", ""),
            "severity": _label("severity", data.get("severity"), lang),
        }
    elif kind == "confirm":
        params |= {
            "risk": _label("risk", data.get("risk"), lang),
            "incident": _label("incident", data.get("serious_incident"), lang),
        }
    elif kind == "propose_measure":
        params |= {
            "measure": _label("measure", data.get("measure"), lang),
            "owner": who(data.get("owner"), title=False),
            "target": data.get("target_date", "—"),
        }
    elif kind == "mark_done":
        params["evidence"] = data.get("evidence") or "—"
    elif kind == "notices_queued":
        named = [partners.get(str(p.get("id")), str(p.get("id"))) for p in data.get("partners", [])]
        params["partners"] = ", ".join(named) or "—"
    elif kind == "notice_failed":
        params["error"] = data.get("error") or "—"
    elif kind == "notice_receipt_by_link":
        params["address"] = data.get("address") or "—"
    elif kind == "notice_receipt_recorded":
        params |= {
            "received_by": data.get("received_by") or "—",
            "how": data.get("how") or "—",
            "on": data.get("on") or "—",
        }
    elif kind == "message_sent":
        params["what"] = _label("dossier.sent", data.get("kind"), lang)
    elif kind in ("escalated", "reminded"):
        targets = [who(u, title=False) for u in data.get("users") or []]
        targets += [f"@{g}" for g in data.get("usergroups") or []]
        targets += [f"#{c}" for c in data.get("channels") or []]
        params |= {"level": data.get("level") or "—", "targets": ", ".join(targets) or "—"}
    elif kind in ("alert_repeated", "alert_resolved", "alert_suppressed"):
        params |= {
            "fires": data.get("fires", "—"),
            "state": _label("state", data.get("state"), lang),
        }
    elif kind.startswith("duty_"):
        params |= {
            "on": data.get("on") or "—",
            "how": data.get("how") or "—",
            "reference": data.get("reference") or "—",
            "findings": data.get("findings") or "—",
        }
    elif kind == "awareness_corrected":
        params |= {"from": data.get("from", "—"), "to": data.get("to", "—")}
    elif kind == "severity_changed":
        params |= {
            "from": _label("severity", data.get("from"), lang),
            "to": _label("severity", data.get("to"), lang),
        }
    elif kind == "owner_reassigned":
        params |= {
            "from": who(data.get("from"), title=False),
            "to": who(data.get("to"), title=False),
            "position": data.get("position", "—"),
        }
    elif kind == "target_date_changed":
        params |= {
            "from": data.get("from", "—"),
            "to": data.get("to", "—"),
            "position": data.get("position", "—"),
        }
    elif kind in ("measure_amended", "measure_added"):
        params |= {
            "measure": _label("measure", data.get("measure"), lang),
            "owner": who(data.get("owner"), title=False),
            "target": data.get("target_date", "—"),
            "position": data.get("position", "—"),
        }
    key = f"chronology.{kind}"
    if kind == "owner_reassigned":  # the case's owner, or a measure's
        key += f".{data.get('whose', 'case')}"
    if not has(key):
        return t("chronology.other", lang, who=params["who"], kind=kind)
    line = t(key, lang, **params)
    if kind == "confirm" and data.get("member_states"):
        states = ", ".join(member_state(str(c), lang) for c in data["member_states"])
        line += " " + t("chronology.confirm.where", lang, states=states)
    if data.get("art73_6"):
        line += " " + t("chronology.art73_6", lang)
    if line.endswith("..") and not line.endswith("..."):  # a name ending in a full stop
        line = line[:-1]
    return who.text(line)


def _report(dossier: Dossier, lang: str, who: People) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.report", lang))]
    report = dossier["report"]
    if report is None:
        return [*parts, Paragraph(t("dossier.none", lang))]
    data = report["data"]
    system = data.get("system") or {}
    parts.append(
        Fields(
            [
                (t("dossier.field.by", lang), who(report["by"])),
                (t("dossier.field.at", lang), moment(report["at"])),
                (t("card.system", lang), f"{system.get('name', '—')} {system.get('version', '')}"),
                (t("report.title.label", lang), str(data.get("title", ""))),
                (t("card.severity", lang), _label("severity", data.get("severity"), lang)),
                (t("card.risk", lang), _label("risk", data.get("risk"), lang)),
                (
                    t("card.requirements", lang),
                    ", ".join(
                        _label("requirement", r, lang) for r in data.get("requirements") or []
                    )
                    or "—",
                ),
                (t("card.evidence", lang), str(data.get("evidence_url") or "—")),
            ]
        )
    )
    parts.append(LongText(t("card.description", lang), str(data.get("description", ""))))
    return parts


def _where_and_how_many(assessment: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """A serious incident's Member States and persons affected, where the assessment has them."""
    states = assessment.get("member_states") or []
    if not states:
        return []
    persons = assessment.get("persons_affected")
    occurred = assessment.get("occurred_on")
    return [
        (t("approval.where.label", lang), ", ".join(member_state(c, lang) for c in states)),
        (t("assess.occurred.label", lang), str(occurred or t("approval.persons.unknown", lang))),
        (
            t("approval.persons.label", lang),
            str(persons) if persons is not None else t("approval.persons.unknown", lang),
        ),
    ]


def _assessment(dossier: Dossier, lang: str, who: People) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.assessment", lang))]
    assessment = dossier["assessment"]
    if not assessment:
        parts.append(Paragraph(t("dossier.none", lang)))
    else:
        parts += [
            Fields(
                [
                    (t("dossier.field.by", lang), who(assessment.get("by"))),
                    (t("dossier.field.at", lang), moment(assessment.get("at"))),
                    (t("assess.risk.label", lang), _label("risk", assessment.get("risk"), lang)),
                    (
                        t("assess.incident.label", lang),
                        _label("incident", assessment.get("serious_incident"), lang),
                    ),
                    (t("assess.aware.label", lang), str(assessment.get("aware_on") or "—")),
                    *_where_and_how_many(assessment, lang),
                ]
            ),
            LongText(t("assess.nature.label", lang), str(assessment.get("nature", ""))),
            LongText(t("assess.causal.label", lang), str(assessment.get("causal_link", ""))),
        ]
    dismissal = dossier["dismissal"]
    if dismissal:
        parts += [
            Heading(3, t("dossier.section.dismissal", lang)),
            Fields(
                [
                    (t("dossier.field.by", lang), who(dismissal.get("by"))),
                    (t("dossier.field.at", lang), moment(dismissal.get("at"))),
                ]
            ),
            LongText(t("dossier.field.reason", lang), str(dismissal.get("reason", ""))),
        ]
    return parts


def _measures(dossier: Dossier, lang: str, who: People) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.measure", lang))]
    measure = dossier["measure"]
    parts += _measure(measure, lang, who) if measure else [Paragraph(t("dossier.none", lang))]
    if dossier["earlier_measures"]:
        parts.append(Heading(2, t("dossier.section.earlier", lang)))
        for number, earlier in enumerate(dossier["earlier_measures"], start=1):
            title = _label("measure", earlier.get("measure"), lang)
            parts.append(Heading(3, f"{number}. {title}"))
            parts += _measure(earlier, lang, who)
    if dossier["reopenings"]:
        parts.append(Heading(2, t("dossier.section.reopenings", lang)))
        parts.append(
            Table(
                [
                    t("dossier.field.at", lang),
                    t("dossier.field.by", lang),
                    t("dossier.field.reason", lang),
                ],
                [
                    [moment(r.get("at")), who(r.get("by")), str(r.get("reason", ""))]
                    for r in dossier["reopenings"]
                ],
            )
        )
    return parts


def _measure(measure: Mapping[str, Any], lang: str, who: People) -> list[Part]:
    approvals = "; ".join(
        f"{who(a.get('by'))} ({moment(a.get('at'))})" for a in measure.get("approvals") or []
    )
    rows = [
        (t("measure.title", lang), _label("measure", measure.get("measure"), lang)),
        (
            t("dossier.field.outcome", lang),
            _label("dossier.measure_status", measure.get("status"), lang),
        ),
        (t("dossier.field.proposer", lang), who(measure.get("proposer"))),
        (t("dossier.field.at", lang), moment(measure.get("proposed_at"))),
        (t("measure.owner.label", lang), who(measure.get("owner"))),
        (t("measure.target.label", lang), str(measure.get("target_date", "—"))),
        (t("measure.affected.label", lang), str(measure.get("affected", "—"))),
        (t("measure.running.label", lang), _label("risk", measure.get("keeps_running"), lang)),
        (t("dossier.field.approvals", lang), approvals or "—"),
    ]
    warning = measure.get("art73_6_warning")
    if warning and warning.get("shown"):
        rows.append((t("dossier.field.art73_6", lang), who.actor(warning.get("continued_by"))))
    parts: list[Part] = [
        Fields(rows),
        LongText(t("measure.plan.label", lang), str(measure.get("plan", ""))),
    ]
    done = measure.get("done")
    if done:
        done_by = f"{who(done.get('by'))} ({moment(done.get('at'))})"
        parts.append(Fields([(t("dossier.field.done", lang), done_by)]))
        evidence = str(done.get("evidence", ""))
        if done.get("link"):
            evidence += f"\n{done['link']}"
        parts.append(LongText(t("done.evidence.label", lang), evidence))
    rejection = measure.get("rejection")
    if rejection:
        rejected_by = f"{who(rejection.get('by'))} ({moment(rejection.get('at'))})"
        parts.append(Fields([(t("dossier.field.rejection", lang), rejected_by)]))
        parts.append(LongText(t("dossier.field.reason", lang), str(rejection.get("reason", ""))))
    return parts


def _notices(dossier: Dossier, lang: str, who: People) -> list[Part]:
    """Each partner informed: when, in what language, the text exactly as sent, and how and
    when they acknowledged receipt (or why the notice was waived)."""
    parts: list[Part] = [
        Heading(2, t("dossier.section.notices", lang)),
    ]
    notices: Sequence[Mapping[str, Any]] = dossier["partner_notices"]
    if not notices:
        return [*parts, Paragraph(t("dossier.none", lang))]
    parts.append(Paragraph(t("dossier.notices.intro", lang)))
    for n in notices:
        status = _label("notice.status", n["status"], lang)
        if n["status"] == "failed" and n["failure"]:
            status += f" ({n['failure']})"
        rows = [
            (t("dossier.col.role", lang), _label("role", n["role"], lang)),
            (t("dossier.col.measure_version", lang), str(n["measure_version"])),
            (t("dossier.col.status", lang), status),
            (
                t("dossier.col.language", lang),
                _label("dossier.language", n.get("language") or "en", lang),
            ),
            (t("dossier.col.sent", lang), moment(n["sent_at"])),
        ]
        if n["acknowledged_at"]:
            rows.append(
                (
                    t("dossier.col.acknowledged", lang),
                    t(
                        "dossier.acknowledged",
                        lang,
                        when=moment(n["acknowledged_at"]),
                        who=who(n["acknowledged_by"]),
                    ),
                )
            )
        if n["waived_at"]:
            rows.append(
                (
                    t("dossier.col.waived", lang),
                    f"{who(n['waived_by'])}, {moment(n['waived_at'])}: {n['waived_reason'] or ''}",
                )
            )
        parts += [Heading(3, n["partner_name"]), Fields(rows)]
        parts += _verbatim(n.get("message"), lang, who)
    return parts


def _verbatim(message: Mapping[str, Any] | None, lang: str, who: People) -> list[Part]:
    if not message:
        return [Paragraph(t("dossier.not_sent", lang))]
    return [LongText(t("dossier.text_sent", lang), who.text(message["readable"]))]


def _authorities(dossier: Dossier, lang: str, who: People) -> list[Part]:
    info = dossier["authorities"]

    def duty(name: str) -> str:
        return _duty(info, name, lang)

    def party(value: Mapping[str, Any] | None) -> str:
        return str(value["name"]) if value else "—"

    rows = [
        (t("dossier.field.authority", lang), party(info["authority"])),
        (t("dossier.field.notified_body", lang), party(info["notified_body"])),
        (
            t("dossier.field.required", lang),
            "; ".join(duty(d) for d in info["required_duties"]) or t("dossier.none", lang),
        ),
    ]
    art73 = info["art73"]
    if art73:
        rows.append(
            (
                t("dossier.field.art73", lang),
                tn(
                    "dossier.art73",
                    lang,
                    art73["days"],
                    incident=_label("incident", art73["category"], lang),
                    aware=art73["aware_on"],
                    due=art73["due"],
                    article=art73["article"],
                    initial=art73["initial_report"] or "—",
                    complete=art73["complete_report"] or "—",
                ),
            )
        )
    parts: list[Part] = [Heading(2, t("dossier.section.authorities", lang)), Fields(rows)]
    if info["duties"]:
        table = Table(
            [
                t("dossier.col.duty", lang),
                t("dossier.field.by", lang),
                t("dossier.field.at", lang),
                t("dossier.col.details", lang),
            ]
        )
        for recorded in info["duties"]:
            extra = {k: v for k, v in recorded.items() if k not in ("duty", "by", "at") and v}
            details = "; ".join(
                f"{_label('dossier.duty_field', k, lang)}: {v}" for k, v in extra.items()
            )
            table.rows.append(
                [duty(recorded["duty"]), who(recorded["by"]), moment(recorded["at"]), details]
            )
        parts.append(table)
    for message in info.get("messages") or []:
        to = (message.get("to") or {}).get("name") or message["channel"]
        parts.append(Heading(3, t("dossier.message_to", lang, to=to)))
        parts.append(
            Fields(
                [
                    (t("dossier.col.sent", lang), moment(message["sent_at"])),
                    (
                        t("dossier.col.status", lang),
                        _label("dossier.outbox", message["status"], lang),
                    ),
                ]
            )
        )
        parts += _verbatim(message, lang, who)
    return parts


def _duty(info: Mapping[str, Any], name: str, lang: str) -> str:
    """A duty as the duties panel names it, with the authority's or the body's name."""
    authority = (info["authority"] or {}).get("name", "—")
    body = (info["notified_body"] or {}).get("name", "—")
    return t(f"duty.{name}", lang, authority=authority, body=body)


def _escalations(dossier: Dossier, lang: str, who: People) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.escalations", lang))]
    if not dossier["escalations"]:
        return [*parts, Paragraph(t("dossier.none", lang))]
    rows = []
    for e in dossier["escalations"]:
        notified = e["notified"]
        named = [who(u, title=False) for u in notified["users"]]
        named += [f"@{g}" for g in notified["usergroups"]] + [f"#{c}" for c in notified["channels"]]
        rows.append(
            [
                moment(e["at"]),
                _label("dossier.escalation", e["kind"], lang),
                str(e["level"] if e["level"] is not None else "—"),
                ", ".join(named) or "—",
            ]
        )
    headers = [
        t("dossier.col.time", lang),
        t("dossier.col.kind", lang),
        t("dossier.col.level", lang),
        t("dossier.col.notified", lang),
    ]
    return [*parts, Table(headers, rows)]


def _evidence(dossier: Dossier, lang: str) -> list[Part]:
    """What the case points to as evidence: the report's link, the measure's execution."""
    items: list[str] = []
    report = dossier["report"]
    if report and report["data"].get("evidence_url"):
        items.append(t("dossier.evidence.report", lang, link=report["data"]["evidence_url"]))
    for measure in [dossier["measure"], *dossier["earlier_measures"]]:
        done = (measure or {}).get("done")
        if done:
            link = f" ({done['link']})" if done.get("link") else ""
            items.append(t("dossier.evidence.done", lang, evidence=done["evidence"]) + link)
    info = dossier["authorities"]
    for duty in info["duties"]:
        if duty.get("reference"):
            label = _duty(info, duty["duty"], lang)
            items.append(t("dossier.evidence.reference", lang, duty=label, ref=duty["reference"]))
    items.append(t("dossier.evidence.chain", lang))
    return [Heading(2, t("dossier.section.evidence", lang)), Chronology(items)]


def _people(dossier: Dossier, lang: str) -> list[Part]:
    rows = [
        [
            p["name"] or t("dossier.person.unknown", lang),
            p["title"] or "—",
            p["id"],
            p["team"] or "—",
            moment(p["looked_up_at"]),
        ]
        for p in dossier.get("people") or []
    ]
    headers = [
        t("dossier.col.name", lang),
        t("dossier.col.title", lang),
        t("dossier.col.slack_id", lang),
        t("dossier.col.team", lang),
        t("dossier.col.looked_up", lang),
    ]
    parts: list[Part] = [Heading(2, t("dossier.section.people", lang))]
    if not rows:
        return [*parts, Paragraph(t("dossier.none", lang))]
    return [*parts, Paragraph(t("dossier.people.intro", lang)), Table(headers, rows)]


def _timeline(dossier: Dossier, lang: str) -> list[Part]:
    headers = [
        t("dossier.col.seq", lang),
        t("dossier.col.time", lang),
        t("dossier.col.event", lang),
        t("dossier.col.actor", lang),
        t("dossier.col.data", lang),
        t("dossier.col.prev", lang),
        t("dossier.col.hash", lang),
    ]
    rows = [
        [
            str(e["seq"]),
            moment(e["at"]),
            e["kind"],
            e["actor"] or "—",
            _compact(e["data"]),
            e["prev_hash"],
            e["hash"],
        ]
        for e in dossier["timeline"]
    ]
    return [
        Heading(2, t("dossier.section.timeline", lang)),
        Table(headers, rows, frozenset({5, 6})),
    ]


def _compact(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= DATA_MAX else text[: DATA_MAX - 1] + "…"


def _audit(dossier: Dossier, lang: str) -> list[Part]:
    audit = dossier["audit"]
    if audit["intact"]:
        verdict = tn("dossier.audit.intact", lang, audit["checked"])
    else:
        verdict = tn(
            "dossier.audit.broken",
            lang,
            audit["checked"],
            seq=audit["first_bad_seq"],
            problem=audit["problem"],
            detail=audit["detail"],
        )
    how = t(
        "dossier.audit.how",
        lang,
        genesis=audit["genesis"],
        head=audit["head_hash"] or "—",
        count=audit["event_count"],
    )
    return [
        Heading(2, t("dossier.section.audit", lang)),
        Paragraph(verdict, strong=True),
        Paragraph(how),
    ]
