"""Art. 20(1) notices to partners, their receipt, and the notice table in the case thread.

What leaves the organisation is deliberately narrow: the case number, the system, the measure,
the nature of the non-conformity and whom to contact. Evidence links and the reporter stay in.

A notice is written for someone outside who must act on it, in their language: which provider
speaks, what was found, what the measure means for *their* role (Art. 23 importers, 24
distributors, 26 deployers), what we ask of them and by when, whether the system keeps running,
whom to contact, and that acknowledging means "we received this", not "we agree".
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from bot.cases.state import CaseRecord, ProviderRef
from bot.cases.views import user, when
from bot.messages import t
from bot.views import ids
from bot.views.text import cap, mrkdwn, plain, safe, safe_chunks
from storage.models import PartnerNotice

Blocks = list[dict[str, Any]]
STATUS_ICON = {"queued": "⏳", "sent": "📤", "acknowledged": "✅", "failed": "❌", "waived": "➖"}
MAX_STATUS_SECTIONS = 40


def measure_label(case: CaseRecord, lang: str) -> str:
    """The measure in the partner's language first and, where that is not English, in English
    too (the term the provider's other documents use)."""
    measure = case.measure.measure.value if case.measure else ""
    english = t(f"measure.{measure}", "en")
    local = t(f"measure.{measure}", lang)
    return english if local == english else f"{local} ({english})"


ROLE_BY_MEASURE = ("distributor", "importer", "deployer")
"""Roles whose duties under the measure differ per measure (Art. 24, 23, 26)."""


def role_key(role: str, measure: str, keeps_running: str) -> str:
    """What the measure means for this partner's role, as a catalogue key.

    A deployer of a system that keeps running is never told to stop using it: it reads what
    Art. 26 asks of it while the system runs. An authorised representative's duties (Art. 22)
    do not depend on the measure.
    """
    if role == "deployer" and keeps_running == "yes":
        return "notice.for.deployer.running"
    if role in ROLE_BY_MEASURE:
        return f"notice.for.{role}.{measure}"
    return f"notice.for.{role}"


def provider_line(provider: ProviderRef, lang: str) -> str | None:
    """The provider as people outside should know it: name, address, contact."""
    parts = [p for p in (provider.name, provider.address, provider.contact) if p]
    if not parts:
        return None
    return t("notice.provider", lang, provider=" · ".join(safe(p, 300) for p in parts))


def partner_ask(case: CaseRecord, lang: str) -> str:
    """What we ask of partners and by when, or that nothing is asked beyond their role."""
    measure = case.measure
    ask = measure.partner_ask if measure else None
    by = measure.partner_by if measure else None
    if not ask and by is None:
        return t("notice.ask.none", lang)
    lines = [safe(ask, 2000)] if ask else []
    lines.append(
        t("notice.ask.by", lang, date=by.isoformat()) if by else t("notice.ask.soon", lang)
    )
    return "\n".join(lines)


def _update(case: CaseRecord, lang: str) -> Blocks:
    """A measure amended after partners were informed: this notice is an update, and asks for
    receipt again (Close waits for it)."""
    measure = case.measure
    amended = [a for a in (measure.amendments if measure else ()) if a.notified]
    if not amended:
        return []
    text = t("notice.update", lang, ref=case.ref, reason=safe(amended[-1].reason, 500))
    return [{"type": "section", "block_id": "update", "text": mrkdwn(text)}]


def partner_notice(
    case: CaseRecord,
    notice: PartnerNotice,
    partner_name: str,
    system_name: str,
    lang: str,
    provider: ProviderRef,
) -> tuple[str, Blocks]:
    measure = case.measure
    nature = case.details.assessment.nature if case.details.assessment else ""
    system = f"{safe(system_name, 150)} {safe(case.system_version, 40)}"
    affected = safe(measure.affected if measure else "—", 500)
    text = t(
        "notice.text", lang, ref=case.ref, measure=measure_label(case, lang), system=system_name
    )
    if provider.name:
        text = f"{provider.name}: {text}"
        intro = t(
            "notice.intro",
            lang,
            partner=safe(partner_name, 200),
            system=safe(system_name, 150),
            provider=safe(provider.name, 200),
        )
    else:
        intro = t(
            "notice.intro.unnamed",
            lang,
            partner=safe(partner_name, 200),
            system=safe(system_name, 150),
        )
    measure_value = measure.measure.value if measure else "withdraw"
    running = measure.keeps_running if measure else "no"
    role = t(f"role.{notice.role}", lang)
    if provider.contact:
        contact = t(
            "notice.contact.provider",
            lang,
            provider=safe(provider.name or "", 200) or t("notice.provider.us", lang),
            contact=safe(provider.contact, 200),
            ref=case.ref,
        )
    else:
        contact = t("notice.contact", lang, who=user(case.owner_id, lang))
    about = provider_line(provider, lang)
    blocks: Blocks = [
        {"type": "header", "text": plain(cap(t("notice.header", lang, ref=case.ref), 150))},
        *(
            [{"type": "context", "block_id": "provider", "elements": [mrkdwn(about)]}]
            if about
            else []
        ),
        *_update(case, lang),
        {"type": "section", "text": mrkdwn(intro)},
        {
            "type": "section",
            "fields": [
                mrkdwn(f"*{t('notice.case', lang)}*\n{case.ref}"),
                mrkdwn(f"*{t('notice.measure', lang)}*\n{measure_label(case, lang)}"),
                mrkdwn(f"*{t('notice.system', lang)}*\n{system}"),
                mrkdwn(f"*{t('notice.affected', lang)}*\n{affected}"),
            ],
        },
        {"type": "section", "text": mrkdwn(f"*{t('notice.nature', lang)}*")},
        *({"type": "section", "text": mrkdwn(piece)} for piece in safe_chunks(nature, 2900)),
        {
            "type": "section",
            "block_id": "for_you",
            "text": mrkdwn(
                t("notice.for.head", lang, role=role)
                + "\n"
                + t(role_key(notice.role, measure_value, running), lang)
            ),
        },
        {
            "type": "section",
            "block_id": "ask",
            "text": mrkdwn(cap(t("notice.ask.head", lang) + "\n" + partner_ask(case, lang), 3000)),
        },
        {
            "type": "section",
            "block_id": "running",
            "text": mrkdwn(
                t("notice.running.head", lang) + "\n" + t(f"notice.running.{running}", lang)
            ),
        },
        {"type": "section", "block_id": "contact", "text": mrkdwn(contact)},
        {"type": "context", "elements": [mrkdwn(t("notice.ack.meaning", lang))]},
    ]
    if notice.status == "acknowledged" and notice.ack_at is not None:
        receipt = received_line(notice, lang)
        blocks.append({"type": "context", "block_id": "receipt", "elements": [mrkdwn(receipt)]})
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": "notice_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.NOTICE_ACK,
                        "text": plain(t("button.ack_receipt", lang)),
                        "style": "primary",
                        "value": str(notice.id),
                    }
                ],
            }
        )
    return text, blocks


def received_line(notice: PartnerNotice, lang: str) -> str:
    """The receipt as the partner's notice shows it: who, however it came, and when."""
    assert notice.ack_at is not None
    receipt = notice.receipt or {}
    if receipt.get("via") == "email":
        address = safe(str(receipt.get("address")), 254)
        return t("notice.received.email", lang, address=address, when=when(notice.ack_at))
    if receipt.get("via") == "recorded":
        return "✅ " + receipt_by(notice, lang)
    return t("notice.received", lang, who=user(notice.ack_by, lang), when=when(notice.ack_at))


def receipt_by(notice: PartnerNotice, lang: str) -> str:
    """ "by whom on when" for the notice table: a Slack user, an address, or a receipt that
    triage recorded by hand."""
    assert notice.ack_at is not None
    receipt = notice.receipt or {}
    if receipt.get("via") == "email":
        address = safe(str(receipt.get("address")), 254)
        return t("notice.by.email", lang, address=address, when=when(notice.ack_at))
    if receipt.get("via") == "recorded":
        return t(
            "notice.by.recorded",
            lang,
            who=safe(str(receipt.get("who")), 200),
            how=safe(str(receipt.get("how")), 200),
            when=when(notice.ack_at),
            by=user(notice.ack_by, lang),
        )
    return t("notice.by", lang, who=user(notice.ack_by, lang), when=when(notice.ack_at))


def email_notice(
    case: CaseRecord,
    notice: PartnerNotice,
    partner_name: str,
    system_name: str,
    lang: str,
    provider: ProviderRef,
) -> tuple[str, str, str]:
    """The notice as an e-mail: its subject, plain text and HTML body — the same words a
    partner in Slack reads, without the button (the sender adds the receipt link)."""
    _, blocks = partner_notice(case, notice, partner_name, system_name, lang, provider)
    paragraphs: list[str] = []
    for block in blocks:
        if block.get("type") == "actions" or block.get("block_id") == "receipt":
            continue
        if block.get("type") == "context" and block.get("block_id") != "provider":
            continue  # "Pressing Acknowledge receipt…": the e-mail says its own
        pieces = [block["text"]] if "text" in block else []
        pieces += block.get("fields", []) + block.get("elements", [])
        paragraphs.extend(str(p.get("text", "")) for p in pieces if isinstance(p, dict))
    if provider.name:
        subject = t("mail.subject", lang, provider=provider.name, ref=case.ref)
    else:
        subject = t("mail.subject.unnamed", lang, ref=case.ref)
    text = "\n\n".join(mail_text(p) for p in paragraphs if p)
    body = "".join(f"<p>{mail_html(p)}</p>\n" for p in paragraphs if p)
    return subject, text, body


def mail_text(mrkdwn_text: str) -> str:
    """Slack mrkdwn as plain text: no bold markers, entities decoded, dates as their fallback."""
    plain_text = _DATE.sub(lambda m: m.group(1), mrkdwn_text).replace("*", "")
    return html.unescape(plain_text)


def mail_html(mrkdwn_text: str) -> str:
    """Slack mrkdwn as HTML: escaped, ``*bold*`` as <strong>, line breaks kept."""
    escaped = html.escape(mail_text(_BOLD.sub("\x00\\1\x01", mrkdwn_text)), quote=False)
    escaped = escaped.replace("\x00", "<strong>").replace("\x01", "</strong>")
    return escaped.replace("\n", "<br>")


_BOLD = re.compile(r"\*([^*\n]+)\*")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")


def _notice_line(notice: PartnerNotice, name: str, lang: str) -> str:
    icon = STATUS_ICON.get(notice.status, "")
    role = t(f"role.{notice.role}", lang)
    head = f"{icon} *{safe(name, 120)}* ({role}) — {t(f'notice.status.{notice.status}', lang)}"
    if notice.status == "acknowledged" and notice.ack_at:
        return head + " " + receipt_by(notice, lang)
    if notice.status == "sent" and notice.sent_at:
        return head + " " + when(notice.sent_at)
    if notice.status == "failed":
        return head + f": `{safe(notice.failure or '?', 80)}`"
    if notice.status == "waived" and notice.waived_at:
        reason = safe(notice.waived_reason or "", 200)
        return (
            head
            + " "
            + t("notice.by", lang, who=user(notice.waived_by, lang), when=when(notice.waived_at))
            + f": {reason}"
        )
    return head


def counts(notices: Sequence[PartnerNotice]) -> dict[str, int]:
    result: dict[str, int] = {}
    for notice in notices:
        result[notice.status] = result.get(notice.status, 0) + 1
    return result


def counts_line(notices: Sequence[PartnerNotice], lang: str) -> str:
    tally = counts(notices)
    return t(
        "notice.counts",
        lang,
        total=len(notices),
        acknowledged=tally.get("acknowledged", 0),
        waived=tally.get("waived", 0),
        failed=tally.get("failed", 0),
    )


def notice_status(
    case: CaseRecord, notices: Sequence[PartnerNotice], names: dict[str, str], lang: str
) -> tuple[str, Blocks]:
    """The thread's one notice table, split into sections so 50+ partners fit Block Kit."""
    title = t("notice.table", lang, ref=case.ref)
    blocks: Blocks = [
        {"type": "section", "text": mrkdwn(f"*{title}* — {counts_line(notices, lang)}")}
    ]
    if not notices:
        blocks.append({"type": "section", "text": mrkdwn(t("notice.none", lang))})
    chunk: list[str] = []
    size = 0
    sections: list[str] = []
    for notice in notices:
        line = _notice_line(notice, names.get(notice.partner_id, notice.partner_id), lang)
        if chunk and size + len(line) + 1 > 2900:
            sections.append("\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        sections.append("\n".join(chunk))
    for index, section in enumerate(sections):
        if index == MAX_STATUS_SECTIONS - 1 and len(sections) > MAX_STATUS_SECTIONS:
            blocks.append(
                {
                    "type": "section",
                    "text": mrkdwn(t("list.more", lang, count=len(sections) - index)),
                }
            )
            break
        blocks.append({"type": "section", "text": mrkdwn(section)})
    if any(n.status not in ("acknowledged", "waived") for n in notices):
        blocks.append(
            {
                "type": "actions",
                "block_id": "notice_table_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.NOTICE_WAIVE,
                        "text": plain(t("button.waive", lang)),
                        "value": str(case.number),
                    },
                    {
                        "type": "button",
                        "action_id": ids.NOTICE_RECORD,
                        "text": plain(t("button.record_receipt", lang)),
                        "value": str(case.number),
                    },
                ],
            }
        )
    return f"{title} — {counts_line(notices, lang)}", blocks


def failure_message(
    notice: PartnerNotice, name: str, lang: str, bot_user: str | None, *, hint: str | None = None
) -> tuple[str, Blocks]:
    """A failed notice in the thread, with the reason and **Retry**; ``hint`` names the fix
    when the failure's code does not (an e-mail refused)."""
    hint = hint or notice.failure
    hint_key = f"notice.fix.{hint}" if hint in FIXABLE else "notice.fix.other"
    channel = f"<#{notice.channel}>" if notice.channel else "—"
    text = t(
        "notice.failed",
        lang,
        partner=safe(name, 120),
        error=safe(notice.failure or "?", 200),
        fix=t(
            hint_key,
            lang,
            channel=channel,
            bot=f"<@{bot_user}>" if bot_user else "@nonconformity-bot",
        ),
    )
    return text, [
        {"type": "section", "text": mrkdwn(text)},
        {
            "type": "actions",
            "block_id": "notice_retry",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.NOTICE_RETRY,
                    "text": plain(t("button.retry", lang)),
                    "value": str(notice.id),
                }
            ],
        },
    ]


FIXABLE = (
    "not_in_channel",
    "channel_not_found",
    "is_archived",
    "restricted_action",
    "no_channel",
    "email",
    "smtp_not_configured",
    "smtp_no_smtputf8",
)


def notice_select(options: Sequence[tuple[int, str]], label: str) -> dict[str, Any]:
    """The input that picks one of a case's notices (Waive, Record receipt): Slack shows at
    most 100 options, each at most 75 characters."""
    return {
        "type": "input",
        "block_id": "notice",
        "label": plain(label),
        "element": {
            "type": "static_select",
            "action_id": ids.INPUT_ACTION,
            "options": [
                {"text": plain(cap(text, 75)), "value": str(notice_id)}
                for notice_id, text in options[:100]
            ],
        },
    }


def waive_modal(case: CaseRecord, options: Sequence[tuple[int, str]], lang: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.WAIVE_CALLBACK,
        "private_metadata": json.dumps({"case": case.number, "version": case.version}),
        "title": plain(t("waive.title", lang)),
        "submit": plain(t("waive.submit", lang)),
        "close": plain(t("common.cancel", lang)),
        "blocks": [
            {"type": "section", "text": mrkdwn(t("waive.intro", lang, ref=case.ref))},
            notice_select(options, t("waive.notice.label", lang)),
            {
                "type": "input",
                "block_id": "reason",
                "label": plain(t("waive.reason.label", lang)),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.INPUT_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }


def record_modal(
    case: CaseRecord, options: Sequence[tuple[int, str]], lang: str, today: str
) -> dict[str, Any]:
    """Record receipt: for any notice still open, who received it, how, and when."""

    def text_input(block: str, label: str) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block,
            "label": plain(t(label, lang)),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.INPUT_ACTION,
                "max_length": 200,
            },
        }

    return {
        "type": "modal",
        "callback_id": ids.RECORD_CALLBACK,
        "private_metadata": json.dumps({"case": case.number, "version": case.version}),
        "title": plain(t("record.title", lang)),
        "submit": plain(t("record.submit", lang)),
        "close": plain(t("common.cancel", lang)),
        "blocks": [
            {"type": "section", "text": mrkdwn(t("record.intro", lang, ref=case.ref))},
            notice_select(options, t("record.notice.label", lang)),
            text_input("received_by", "record.who.label"),
            text_input("how", "record.how.label"),
            {
                "type": "input",
                "block_id": "on",
                "label": plain(t("record.when.label", lang)),
                "element": {
                    "type": "datepicker",
                    "action_id": ids.INPUT_ACTION,
                    "initial_date": today,
                },
            },
            {
                "type": "input",
                "block_id": "at",
                "label": plain(t("record.time.label", lang)),
                "element": {"type": "timepicker", "action_id": ids.INPUT_ACTION},
            },
        ],
    }


def systems_list(rows: Sequence[tuple[str, str, str, list[tuple[str, str]]]], lang: str) -> str:
    """``/nonconformity systems``: each system with its partners and their roles."""
    if not rows:
        return t("systems.none", lang)
    lines = [f"*{t('systems.header', lang)}*"]
    for system_id, name, version, partners in rows:
        partner_text = (
            ", ".join(f"{safe(p, 80)} ({t(f'role.{r}', lang)})" for p, r in partners) or "—"
        )
        lines.append(f"• *{safe(name, 120)}* {safe(version, 40)} (`{system_id}`) — {partner_text}")
        if not any(role == "distributor" for _, role in partners):
            lines.append("   " + t("systems.no_distributor", lang))
    return "\n".join(lines)
