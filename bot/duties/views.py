"""Art. 20(2) and Art. 73 in the thread: the duties panel, its modals, and the drafts for the
authorities (the provider, system identification, nature of the non-compliance, corrective
action taken, what partners were asked and by when).

An official communication never leaves unannounced: the modal that informs an authority with a
Slack channel shows the message exactly as it will be posted and offers "Send it now" or "I
informed them another way"; nothing is sent without that choice."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.cases.state import CaseRecord, ProviderRef
from bot.cases.views import user, when
from bot.messages import t, tn
from bot.views import ids
from bot.views.text import cap, mrkdwn, plain, safe, safe_chunks

Blocks = list[dict[str, Any]]


def deadline_line(category: str, due: date, days: int, article: str, lang: str) -> str:
    return tn(
        "duty.deadline",
        lang,
        days,
        due=due.isoformat(),
        article=article,
        incident=t(f"incident.{category}", lang),
    )


INFORM_DUTIES = ("inform_authority", "inform_notified_body")
SEND, OTHER = "send", "other"


@dataclass(frozen=True)
class AuthorityMessage:
    """The message an authority with a Slack channel receives, exactly as it will be posted."""

    channel: str  # "" for an authority told by e-mail
    name: str
    text: str
    blocks: Blocks
    emails: tuple[str, ...] = ()  # where "Send it now" e-mails it, when it has no channel

    @property
    def digest(self) -> str:
        """What the modal showed, in short: the submission is refused if the text changed."""
        shown = json.dumps([self.text, self.blocks], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(shown.encode("utf-8")).hexdigest()[:32]


def provider_text(provider: ProviderRef) -> str:
    return ", ".join(p for p in (provider.name, provider.address) if p) or "—"


def draft(case: CaseRecord, system_name: str, lang: str, provider: ProviderRef) -> str:
    """What the authority is told: who the provider is, enough to identify the system, the
    problem and the action, what partners were asked and by when, and whom to contact."""
    assessment = case.details.assessment
    measure = case.measure
    if measure is not None:
        action = f"{t(f'measure.{measure.measure.value}', lang)} — {measure.plan}"
        target = measure.target_date.isoformat()
        running = t(f"risk.{measure.keeps_running}", lang)
        ask = measure.partner_ask or t("duty.draft.no_ask", lang)
        if measure.partner_by:
            ask += " " + t("duty.draft.by", lang, date=measure.partner_by.isoformat())
    else:
        action = t("duty.draft.no_measure", lang)
        target = running = ask = "—"
    aware = case.details.aware_on or (assessment.aware_on if assessment else "")
    return t(
        "duty.draft",
        lang,
        provider=provider_text(provider),
        contact=provider.contact or "—",
        target=target,
        running=running,
        ask=ask,
        ref=case.ref,
        system=system_name,
        version=case.system_version,
        nature=assessment.nature if assessment else "",
        causal=assessment.causal_link if assessment else "",
        action=action,
        incident=t(f"incident.{assessment.serious_incident if assessment else 'none'}", lang),
        aware=aware,
    )


def duty_label(duty: str, names: dict[str, str], lang: str) -> str:
    authority, body = names.get("authority", "—"), names.get("notified_body", "—")
    return t(f"duty.{duty}", lang, authority=safe(authority, 120), body=safe(body, 120))


def panel(
    case: CaseRecord,
    required: list[str],
    deadline: str | None,
    names: dict[str, str],
    lang: str,
) -> tuple[str, Blocks]:
    """The duties that apply to this case, who recorded each and when, and buttons for the rest."""
    recorded = case.details.duties
    title = t("duty.panel", lang, ref=case.ref)
    lines = [f"*{title}*"]
    if deadline:
        lines.append(deadline)
    buttons: list[dict[str, Any]] = []
    for duty in required:
        label = duty_label(duty, names, lang)
        done = recorded.get(duty)
        if done:
            how = safe(done.how or done.findings or "", 200)
            by = t("notice.by", lang, who=user(done.by, lang), when=when(done.at))
            lines.append(f"✅ {label} — {by}: {how}")
        else:
            lines.append(f"⬜ {label}")
            buttons.append(
                {
                    "type": "button",
                    "action_id": ids.DUTY_PREFIX + duty,
                    "text": plain(cap(t(f"button.{duty}", lang), 75)),
                    "value": str(case.number),
                }
            )
    deployer = case.details.reporting_deployer
    if deployer and "investigate" in required:
        lines.append(t("duty.with_deployer", lang, deployer=safe(deployer.name, 120)))
    blocks: Blocks = [{"type": "section", "text": mrkdwn(cap("\n".join(lines), 3000))}]
    if deadline and "initial_report" in required:
        buttons.append(
            {
                "type": "button",
                "action_id": ids.AWARENESS,
                "text": plain(t("button.correct_awareness", lang)),
                "value": str(case.number),
            }
        )
    if case.state in ("closed", "dismissed"):  # a closed case records nothing
        buttons = []
    if deadline and "initial_report" in required:  # a serious incident: the report can be drafted
        buttons.append(
            {
                "type": "button",
                "action_id": ids.ART73_REPORT,
                "text": plain(cap(t("art73.button", lang), 75)),
                "value": str(case.number),
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "duty_actions", "elements": buttons})
    return title, blocks


def _metadata(case: CaseRecord, duty: str, **extra: str) -> str:
    """The case, its version (a submission after a step moved the case on is refused) and the
    duty; a correction also carries the value it corrects."""
    return json.dumps({"case": case.number, "version": case.version, "duty": duty, **extra})


def _text(
    block: str, label: str, *, optional: bool = False, multiline: bool = True
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block,
        "optional": optional,
        "label": plain(label),
        "element": {
            "type": "plain_text_input",
            "action_id": ids.INPUT_ACTION,
            "multiline": multiline,
            "max_length": 2000,
        },
    }


def _date(block: str, label: str, initial: date) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block,
        "label": plain(label),
        "element": {
            "type": "datepicker",
            "action_id": ids.INPUT_ACTION,
            "initial_date": initial.isoformat(),
        },
    }


def _optional_date(block: str, label: str, initial: date) -> dict[str, Any]:
    return {**_date(block, label, initial), "optional": True}


def _choice(message: AuthorityMessage, lang: str) -> dict[str, Any]:
    """Send it now, or I informed them another way: no default, so nothing is sent unchosen."""
    options = [
        (
            SEND,
            t("duty.choice.send.email", lang, addresses=", ".join(message.emails))
            if message.emails
            else t("duty.choice.send", lang, channel=f"<#{message.channel}>"),
        ),
        (OTHER, t("duty.choice.other", lang)),
    ]
    return {
        "type": "input",
        "block_id": "choice",
        "label": plain(t("duty.choice.label", lang)),
        "element": {
            "type": "radio_buttons",
            "action_id": ids.INPUT_ACTION,
            "options": [{"text": mrkdwn(text), "value": value} for value, text in options],
        },
    }


def _informing(duty: str, message: AuthorityMessage, today: date, lang: str) -> Blocks:
    """The message as it will be posted, then the choice, then how and when (another way)."""
    return [
        {"type": "section", "text": mrkdwn(t(f"duty.{duty}.explain.send", lang))},
        {"type": "divider"},
        {
            "type": "context",
            "elements": [mrkdwn(t("duty.exactly", lang, channel=f"<#{message.channel}>"))],
        },
        *message.blocks,
        {"type": "divider"},
        _choice(message, lang),
        _optional_date("on", t("duty.other.on.label", lang), today),
        _text("how", t("duty.other.how.label", lang), optional=True, multiline=False),
        _text("reference", t("duty.reference.label", lang), optional=True, multiline=False),
    ]


def duty_modal(
    case: CaseRecord,
    duty: str,
    system_name: str,
    today: date,
    lang: str,
    provider: ProviderRef,
    message: AuthorityMessage | None = None,
) -> dict[str, Any]:
    blocks: Blocks = [
        {"type": "section", "text": mrkdwn(f"*{case.ref}* · {safe(case.title, 150)}")},
    ]
    if duty in INFORM_DUTIES and message is not None:
        return {
            "type": "modal",
            "callback_id": ids.DUTY_CALLBACK,
            "private_metadata": _metadata(case, duty, shown=message.digest),
            "title": plain(t("duty.modal.title", lang)),
            "submit": plain(t("duty.modal.submit.choice", lang)),
            "close": plain(t("common.cancel", lang)),
            "blocks": blocks + _informing(duty, message, today, lang),
        }
    blocks.append({"type": "section", "text": mrkdwn(t(f"duty.{duty}.explain", lang))})
    if duty == "investigate":
        deployer = case.details.reporting_deployer
        if deployer:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        mrkdwn(t("duty.with_deployer", lang, deployer=safe(deployer.name, 120)))
                    ],
                }
            )
        blocks += [
            _text("findings", t("duty.findings.label", lang)),
            _text("how", t("duty.investigate.how", lang), optional=True),
        ]
    else:
        if duty in (
            "inform_authority",
            "inform_notified_body",
            "initial_report",
            "complete_report",
        ):
            blocks.append(
                {
                    "type": "section",
                    "text": mrkdwn(
                        "```" + safe(draft(case, system_name, lang, provider), 2900) + "```"
                    ),
                }
            )
        blocks += [
            _date("on", t("duty.on.label", lang), today),
            _text("how", t("duty.how.label", lang), multiline=False),
            _text("reference", t("duty.reference.label", lang), optional=True, multiline=False),
        ]
    return {
        "type": "modal",
        "callback_id": ids.DUTY_CALLBACK,
        "private_metadata": _metadata(case, duty),
        "title": plain(t("duty.modal.title", lang)),
        "submit": plain(t("duty.modal.submit", lang)),
        "close": plain(t("common.cancel", lang)),
        "blocks": blocks,
    }


def awareness_modal(case: CaseRecord, aware_on: date, lang: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.AWARENESS_CALLBACK,
        "private_metadata": _metadata(case, "aware_on", aware_on=aware_on.isoformat()),
        "title": plain(t("awareness.title", lang)),
        "submit": plain(t("awareness.submit", lang)),
        "close": plain(t("common.cancel", lang)),
        "blocks": [
            {"type": "section", "text": mrkdwn(t("awareness.explain", lang, ref=case.ref))},
            _date("aware_on", t("assess.aware.label", lang), aware_on),
            _text("reason", t("awareness.reason.label", lang)),
        ],
    }


def investigation_invite(
    case: CaseRecord, deployer: str, system_name: str, lang: str
) -> tuple[str, Blocks]:
    text = t(
        "duty.invite",
        lang,
        deployer=safe(deployer, 120),
        ref=case.ref,
        system=safe(system_name, 150),
    )
    return text, [{"type": "section", "text": mrkdwn(text)}]


def authority_notice(
    case: CaseRecord,
    channel: str,
    authority: str,
    system_name: str,
    lang: str,
    provider: ProviderRef,
    emails: tuple[str, ...] = (),
) -> AuthorityMessage:
    """The Art. 20(2) message for an authority's channel (or its e-mail addresses), in the
    authority's language."""
    if provider.name:
        intro = t(
            "duty.authority.intro",
            lang,
            authority=safe(authority, 150),
            ref=case.ref,
            provider=safe(provider.name, 200),
        )
    else:
        intro = t(
            "duty.authority.intro.unnamed", lang, authority=safe(authority, 150), ref=case.ref
        )
    return AuthorityMessage(
        channel,
        authority,
        intro,
        [
            {
                "type": "header",
                "text": plain(cap(t("duty.authority.header", lang, ref=case.ref), 150)),
            },
            {"type": "section", "text": mrkdwn(intro)},
            *(
                {"type": "section", "text": mrkdwn(piece)}
                for piece in safe_chunks(draft(case, system_name, lang, provider), 2900)
            ),
        ],
        emails,
    )


def authority_email(
    message: AuthorityMessage, ref: str, lang: str, provider: ProviderRef
) -> dict[str, Any]:
    """The message the modal showed, as an e-mail: the same words, no receipt link."""
    from bot.notices.views import mail_html, mail_text

    paragraphs = [
        str(block["text"].get("text", ""))
        for block in message.blocks
        if block.get("type") == "section" and isinstance(block.get("text"), dict)
    ]
    subject = t(
        "mail.authority.subject", lang, provider=provider.name or "nonconformity-bot", ref=ref
    )
    return {
        "subject": subject,
        "text": "\n\n".join(mail_text(p) for p in paragraphs),
        "html": "".join(f"<p>{mail_html(p)}</p>\n" for p in paragraphs),
        "language": lang,
        "ref": ref,
        "sender_name": provider.name,
        "reply_to": provider.contact,
    }
