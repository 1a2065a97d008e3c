"""The dossier as a document: headings, fields, long texts and tables, in the case's language.

Markdown and PDF both render this, so they say the same things in the same order; only the JSON
export is the dossier dict itself. Labels come from the message catalogue; values are the
stored record (user text unchanged, times in UTC).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.dossier.export import DossierJSON as Dossier
from bot.messages import has, t, tn


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


Part = Heading | Paragraph | Fields | LongText | Table
DATA_MAX = 600  # characters of an event's data in the timeline table; JSON has all of it


@dataclass(frozen=True)
class Document:
    title: str
    parts: list[Part]


def document(dossier: Dossier, lang: str) -> Document:
    case = dossier["case"]
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
    parts += _case(dossier, lang)
    parts += _report(dossier, lang)
    parts += _assessment(dossier, lang)
    parts += _measures(dossier, lang)
    parts += _notices(dossier, lang)
    parts += _authorities(dossier, lang)
    parts += _escalations(dossier, lang)
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


def _who(user_id: object) -> str:
    return str(user_id) if user_id else "—"


def _provider(dossier: Dossier, lang: str) -> list[Part]:
    """The cover names the provider: who took the measure and whom to ask (schema 1.1)."""
    provider = dossier.get("provider") or {}
    rows = [
        (t(f"dossier.field.provider.{key}", lang), str(provider[key]))
        for key in ("name", "address", "contact")
        if provider.get(key)
    ]
    return [Fields(rows)] if rows else []


def _case(dossier: Dossier, lang: str) -> list[Part]:
    case, system = dossier["case"], dossier["system"]
    requirements = ", ".join(_label("requirement", r, lang) for r in case["requirements"]) or "—"
    rows = [
        (t("dossier.field.case", lang), case["ref"]),
        (t("report.title.label", lang), case["title"]),
        (t("card.system", lang), f"{system['name']} ({system['id']})"),
        (t("dossier.field.version", lang), system["version"]),
        (t("card.state", lang), _label("state", case["state"], lang)),
        (t("card.severity", lang), _label("severity", case["severity"], lang)),
        (t("card.risk", lang), _label("risk", case["risk"], lang)),
        (t("card.requirements", lang), requirements),
        (t("dossier.field.reporter", lang), f"{case['reporter']} ({case['reporter_team']})"),
        (t("dossier.field.reported_at", lang), moment(case["reported_at"])),
        (t("card.owner", lang), _who(case["owner"])),
        (t("dossier.field.thread", lang), case["permalink"] or _thread(case)),
    ]
    return [Heading(2, t("dossier.section.case", lang)), Fields(rows)]


def _thread(case: Mapping[str, Any]) -> str:
    return f"{case['channel']} / {case['thread_ts']}" if case["thread_ts"] else "—"


def _report(dossier: Dossier, lang: str) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.report", lang))]
    report = dossier["report"]
    if report is None:
        return [*parts, Paragraph(t("dossier.none", lang))]
    data = report["data"]
    system = data.get("system") or {}
    parts.append(
        Fields(
            [
                (t("dossier.field.by", lang), _who(report["by"])),
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


def _assessment(dossier: Dossier, lang: str) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.assessment", lang))]
    assessment = dossier["assessment"]
    if not assessment:
        parts.append(Paragraph(t("dossier.none", lang)))
    else:
        parts += [
            Fields(
                [
                    (t("dossier.field.by", lang), _who(assessment.get("by"))),
                    (t("dossier.field.at", lang), moment(assessment.get("at"))),
                    (t("assess.risk.label", lang), _label("risk", assessment.get("risk"), lang)),
                    (
                        t("assess.incident.label", lang),
                        _label("incident", assessment.get("serious_incident"), lang),
                    ),
                    (t("assess.aware.label", lang), str(assessment.get("aware_on") or "—")),
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
                    (t("dossier.field.by", lang), _who(dismissal.get("by"))),
                    (t("dossier.field.at", lang), moment(dismissal.get("at"))),
                ]
            ),
            LongText(t("dossier.field.reason", lang), str(dismissal.get("reason", ""))),
        ]
    return parts


def _measures(dossier: Dossier, lang: str) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.measure", lang))]
    measure = dossier["measure"]
    parts += _measure(measure, lang) if measure else [Paragraph(t("dossier.none", lang))]
    if dossier["earlier_measures"]:
        parts.append(Heading(2, t("dossier.section.earlier", lang)))
        for number, earlier in enumerate(dossier["earlier_measures"], start=1):
            title = _label("measure", earlier.get("measure"), lang)
            parts.append(Heading(3, f"{number}. {title}"))
            parts += _measure(earlier, lang)
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
                    [moment(r.get("at")), _who(r.get("by")), str(r.get("reason", ""))]
                    for r in dossier["reopenings"]
                ],
            )
        )
    return parts


def _measure(measure: Mapping[str, Any], lang: str) -> list[Part]:
    approvals = "; ".join(
        f"{_who(a.get('by'))} ({moment(a.get('at'))})" for a in measure.get("approvals") or []
    )
    rows = [
        (t("measure.title", lang), _label("measure", measure.get("measure"), lang)),
        (t("dossier.field.proposer", lang), _who(measure.get("proposer"))),
        (t("dossier.field.at", lang), moment(measure.get("proposed_at"))),
        (t("measure.owner.label", lang), _who(measure.get("owner"))),
        (t("measure.target.label", lang), str(measure.get("target_date", "—"))),
        (t("measure.affected.label", lang), str(measure.get("affected", "—"))),
        (t("measure.running.label", lang), _label("risk", measure.get("keeps_running"), lang)),
        (t("dossier.field.approvals", lang), approvals or "—"),
    ]
    parts: list[Part] = [
        Fields(rows),
        LongText(t("measure.plan.label", lang), str(measure.get("plan", ""))),
    ]
    done = measure.get("done")
    if done:
        who = f"{_who(done.get('by'))} ({moment(done.get('at'))})"
        parts.append(Fields([(t("dossier.field.done", lang), who)]))
        evidence = str(done.get("evidence", ""))
        if done.get("link"):
            evidence += f"\n{done['link']}"
        parts.append(LongText(t("done.evidence.label", lang), evidence))
    rejection = measure.get("rejection")
    if rejection:
        who = f"{_who(rejection.get('by'))} ({moment(rejection.get('at'))})"
        parts.append(Fields([(t("dossier.field.rejection", lang), who)]))
        parts.append(LongText(t("dossier.field.reason", lang), str(rejection.get("reason", ""))))
    return parts


def _notices(dossier: Dossier, lang: str) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.notices", lang))]
    notices: Sequence[Mapping[str, Any]] = dossier["partner_notices"]
    if not notices:
        return [*parts, Paragraph(t("dossier.none", lang))]
    rows = []
    for n in notices:
        status = _label("notice.status", n["status"], lang)
        if n["status"] == "waived":
            status += (
                f": {n['waived_reason'] or ''} ({_who(n['waived_by'])}, {moment(n['waived_at'])})"
            )
        if n["status"] == "failed" and n["failure"]:
            status += f" ({n['failure']})"
        acknowledged = (
            f"{moment(n['acknowledged_at'])} ({_who(n['acknowledged_by'])})"
            if n["acknowledged_at"]
            else "—"
        )
        rows.append(
            [
                n["partner_name"],
                _label("role", n["role"], lang),
                str(n["measure_version"]),
                status,
                moment(n["sent_at"]),
                acknowledged,
            ]
        )
    headers = [
        t("dossier.col.partner", lang),
        t("dossier.col.role", lang),
        "v",
        t("dossier.col.status", lang),
        t("dossier.col.sent", lang),
        t("dossier.col.acknowledged", lang),
    ]
    return [*parts, Table(headers, rows)]


def _authorities(dossier: Dossier, lang: str) -> list[Part]:
    info = dossier["authorities"]
    names = {
        "authority": (info["authority"] or {}).get("name", "—"),
        "notified_body": (info["notified_body"] or {}).get("name", "—"),
    }

    def duty(name: str) -> str:
        return t(f"duty.{name}", lang, authority=names["authority"], body=names["notified_body"])

    def party(value: Mapping[str, Any] | None) -> str:
        return f"{value['name']} ({value['id']})" if value else "—"

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
            details = "; ".join(f"{k}: {v}" for k, v in extra.items())
            table.rows.append(
                [duty(recorded["duty"]), _who(recorded["by"]), moment(recorded["at"]), details]
            )
        parts.append(table)
    return parts


def _escalations(dossier: Dossier, lang: str) -> list[Part]:
    parts: list[Part] = [Heading(2, t("dossier.section.escalations", lang))]
    if not dossier["escalations"]:
        return [*parts, Paragraph(t("dossier.none", lang))]
    rows = []
    for e in dossier["escalations"]:
        notified = e["notified"]
        who = [*notified["users"], *notified["usergroups"], *notified["channels"]]
        rows.append(
            [
                str(e["seq"]),
                moment(e["at"]),
                e["kind"],
                str(e["timer"] or "—"),
                str(e["level"] if e["level"] is not None else "—"),
                ", ".join(who) or "—",
            ]
        )
    headers = [
        t("dossier.col.seq", lang),
        t("dossier.col.time", lang),
        t("dossier.col.kind", lang),
        t("dossier.col.timer", lang),
        t("dossier.col.level", lang),
        t("dossier.col.notified", lang),
    ]
    return [*parts, Table(headers, rows)]


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
            _who(e["actor"]),
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
