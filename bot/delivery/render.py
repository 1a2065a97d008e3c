"""What the messages that show a case say, rendered from the database inside a transaction.

Each function returns the renderer that ``bot.delivery.messages.queue`` calls just before the
transaction commits; it reads the case as that transaction leaves it. Pure views
(``bot.views``) do the wording; this module only gathers what they need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot.alerts import views as alert_views
from bot.cases import step_views
from bot.cases import views as case_views
from bot.cases.state import CaseDetails, CaseRecord, CorrectiveMeasure, ProviderRef, required_duties
from bot.cases.workflow import CaseState, next_step_key
from bot.duties import views as duty_views
from bot.messages import t
from bot.notices import views as notice_views
from bot.ops.workspace import PartnerRole, Provider
from bot.views.text import safe
from storage import alerts as alert_rows
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import notices as notice_rows
from storage import outbox as outbox_rows
from storage import timers as timer_rows

Blocks = list[dict[str, Any]]
Content = tuple[str, Blocks | None]
Renderer = Callable[[Session], Content]
CLOSE_PANEL = "close"  # the Close step's post, kept current while the case waits to close
PERMALINK = "{permalink}"  # filled in when sent: only Slack knows the card's link


def _case(session: Session, case_id: int) -> CaseRecord:
    case = case_rows.by_id(session, case_id)
    assert case is not None, f"no case {case_id}"
    return case.record()


def case_notes(session: Session, case: CaseRecord) -> list[str]:
    """What the case waits on, for its card and ``status``: the next escalation, the Art. 73
    deadline, and how many partner notices are acknowledged."""
    lang = case.language
    notes: list[str] = []
    escalation = timer_rows.next_escalation(session, case.id)
    if escalation is not None:
        level, at = escalation
        notes.append(t("card.next_escalation", lang, level=level, when=case_views.when(at)))
    due = case.details.report_due
    if due is not None and case.state not in (CaseState.CLOSED, CaseState.DISMISSED):
        notes.append(t("card.deadline", lang, due=due.isoformat()))
    sent = notice_rows.of_case(session, case.id)
    if sent:
        notes.append(t("card.notices", lang, counts=notice_views.counts_line(sent, lang)))
    return notes


ChecklistItem = tuple[bool, str, dict[str, object]]
"""One thing closing needs: done or not, its message key and parameters."""


def close_checklist(session: Session, case: CaseRecord) -> list[ChecklistItem]:
    """Everything closing needs, in the order of the procedure: the measure carried out, each
    partner notice acknowledged or waived (Art. 20(1)), each duty to the authorities and each
    Art. 73 report recorded. What is not done is what refuses Close, item by item."""
    lang = case.language
    items: list[ChecklistItem] = []
    in_force: list[CorrectiveMeasure | None] = [*case.measures_in_force] or [None]
    named = ".named" if len(in_force) > 1 else ""  # several measures: each says which it is
    for measure in in_force:  # every measure of the case, each carried out on its own
        done = measure.done if measure is not None else None
        label = t(f"measure.{measure.measure.value}", lang) if measure is not None else ""
        if done is not None:
            who = case_views.user(done.by, lang)
            items.append((True, "close.item.measure_done" + named, {"who": who, "measure": label}))
        else:
            items.append((False, "close.item.measure_open" + named, {"measure": label}))
    for notice in notice_rows.of_case(session, case.id):
        settled = notice.status in notice_rows.SETTLED
        if settled and notice.measure_version != case.details.notices_version:
            continue  # an earlier measure's notice, settled: no longer part of closing
        if notice.measure_version in case.details.superseded_notices:
            continue  # replaced by the update notice of the amended measure
        partner = catalogue_rows.partner(session, notice.partner_id)
        name = safe(partner.name if partner else notice.partner_id, 120)
        state = t(f"notice.status.{notice.status}", lang)
        key = "close.item.notice_settled" if settled else "close.item.notice_open"
        items.append((settled, key, {"partner": name, "state": state}))
    names = authority_names(session, case.details)
    for duty in required_duties(case.details):
        label = duty_views.duty_label(duty, names, lang)
        recorded = duty in case.details.duties
        items.append(
            (recorded, "close.item.duty" if recorded else "close.blocked.duty", {"duty": label})
        )
    return items


def authority_names(session: Session, details: CaseDetails) -> dict[str, str]:
    """The names of the authority and the notified body fixed on the case, as the catalogue
    has them."""
    names: dict[str, str] = {}
    for key, partner_id in (
        ("authority", details.authority),
        ("notified_body", details.notified_body),
    ):
        partner = catalogue_rows.partner(session, partner_id) if partner_id else None
        if partner is not None:
            names[key] = partner.name
    return names


def card(case_id: int) -> Renderer:
    def render(session: Session) -> Content:
        case = _case(session, case_id)
        lang = case.language
        next_step = t(next_step_key(CaseState(case.state)), lang)
        checklist: list[tuple[bool, str]] = []
        if case.state == CaseState.MEASURE_DONE:
            checklist = [(ok, t(k, lang, **p)) for ok, k, p in close_checklist(session, case)]
            if not all(ok for ok, _ in checklist):
                # Points to the thread's checklist rather than copying its items: each receipt
                # or duty recorded would otherwise edit the card too (issue 23: once per
                # transition), and the Close step's post says the same, item by item.
                next_step = t("next.close.checklist", lang)
        notes = case_notes(session, case)
        name = catalogue_rows.system_name(session, case.system_id)
        return (
            case_views.card_text(case, lang),
            case_views.case_card(case, name, next_step, lang, notes)
            + step_views.card_actions(case, lang, checklist),
        )

    return render


def acknowledge_step(case_id: int, lang: str) -> Renderer:
    """The thread's first step, and a warning where the system has no distributor to tell."""

    def render(session: Session) -> Content:
        case = _case(session, case_id)
        blocks = case_views.acknowledge_step(case, lang) + _distributor_warning(session, case, lang)
        return t("step.acknowledge.text", lang, ref=case.ref), blocks

    return render


def _distributor_warning(session: Session, case: CaseRecord, lang: str) -> Blocks:
    """Art. 20(1) expects distributors to be told: say so at once, not at approval."""
    partners = catalogue_rows.partners_of(session, case.system_id)
    if any(p.role == PartnerRole.DISTRIBUTOR for p in partners):
        return []
    name = safe(catalogue_rows.system_name(session, case.system_id), 150)
    warning = t("report.no_distributor", lang, system=name)
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": warning}]}]


def next_step(case_id: int, lang: str, approvers: list[str]) -> Renderer:
    """After a decision: what the thread asks for now (Close: with its checklist)."""

    def render(session: Session) -> Content:
        case = _case(session, case_id)
        checklist = [
            (ok, t(key, lang, **params)) for ok, key, params in close_checklist(session, case)
        ]
        return step_views.thread_update(case, lang, approvers, checklist)

    return render


def answered_step(asked: str, line: str) -> Renderer:
    """The asked step as it was posted, without its buttons, with how it was answered."""

    def render(session: Session) -> Content:
        # As it last stood: the Close step's checklist is kept current by edits of its post.
        step = outbox_rows.latest_edit(session, asked) or outbox_rows.by_key(session, asked)
        blocks = (step.payload.get("blocks") if step is not None else None) or []
        return step_views.finished_step(blocks, line)

    return render


def panel(case_id: int, topic: str) -> Renderer:
    def render(session: Session) -> Content:
        case = _case(session, case_id)
        if topic == "duties":
            return duties_panel(session, case)
        if topic == "alerts":  # how often monitoring's alert fired, and when last
            return alert_views.panel(alert_rows.of_case(session, case.id), case.id, case.language)
        if topic == "reminders":  # escalations and reminders: one line per timer, the latest
            return step_views.reminders_panel(case)
        if topic == CLOSE_PANEL:  # the Close step, its checklist kept current
            lang = case.language
            checklist = [(ok, t(k, lang, **p)) for ok, k, p in close_checklist(session, case)]
            return step_views.thread_update(case, lang, [], checklist)
        return notices_panel(session, case)

    return render


def duties_panel(session: Session, case: CaseRecord) -> Content:
    names = authority_names(session, case.details)
    deadline = case.details.art73()
    line = (
        duty_views.deadline_line(
            deadline.category, deadline.due, deadline.days, deadline.article, case.language
        )
        if deadline
        else None
    )
    return duty_views.panel(case, required_duties(case.details), line, names, case.language)


def notices_panel(session: Session, case: CaseRecord) -> Content:
    notices = notice_rows.of_case(session, case.id, case.details.notices_version)
    names = {
        n.partner_id: (
            p.name if (p := catalogue_rows.partner(session, n.partner_id)) else n.partner_id
        )
        for n in notices
    }
    return notice_views.notice_status(case, notices, names, case.language)


def provider_of(case: CaseRecord, workspace_provider: Provider) -> ProviderRef:
    """The provider fixed on the case when it was reported; for a case reported before the
    workspace file named one, the provider it names now."""
    return case.details.provider or workspace_provider.fixed() or ProviderRef()


def partner_notice(notice_id: int, provider: Provider) -> Renderer:
    """The notice in the partner's language (English where the partner has none), naming the
    case's provider (``provider``, the workspace's, for older cases)."""

    def render(session: Session) -> Content:
        notice = notice_rows.by_id(session, notice_id)
        assert notice is not None, f"no notice {notice_id}"
        case = _case(session, notice.case_id)
        partner = catalogue_rows.partner(session, notice.partner_id)
        return notice_views.partner_notice(
            case,
            notice,
            partner.name if partner else notice.partner_id,
            catalogue_rows.system_name(session, case.system_id),
            notice.language or "en",
            provider_of(case, provider),
        )

    return render


def email_notice(
    notice_id: int, provider: Provider, *, reminder: bool = False
) -> Callable[[Session], dict[str, Any]]:
    """The notice as an e-mail, in the partner's language (English for a language the catalogue
    lacks): subject, plain text and HTML, and who it is from. The sender adds the receipt link,
    which only the relay's acceptance time and the settings decide."""

    def render(session: Session) -> dict[str, Any]:
        notice = notice_rows.by_id(session, notice_id)
        assert notice is not None, f"no notice {notice_id}"
        case = _case(session, notice.case_id)
        partner = catalogue_rows.partner(session, notice.partner_id)
        fixed = provider_of(case, provider)
        lang = notice.language or "en"
        subject, text, html = notice_views.email_notice(
            case,
            notice,
            partner.name if partner else notice.partner_id,
            catalogue_rows.system_name(session, case.system_id),
            lang,
            fixed,
        )
        if reminder:
            subject = t("mail.reminder", lang, subject=subject)
        return {
            "subject": subject,
            "text": text,
            "html": html,
            "language": lang,
            "ref": case.ref,
            "sender_name": fixed.name,
            "reply_to": fixed.contact,
        }

    return render


def reporter_confirmation(case_id: int) -> Renderer:
    def render(session: Session) -> Content:
        case = _case(session, case_id)
        return t("report.done", case.language, ref=case.ref, link=PERMALINK), None

    return render
