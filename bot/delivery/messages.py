"""Every kind of message the bot sends, declared once, and the typed constructors that queue them.

A kind says how a message goes out: posted or edited in place, whether it waits for the case card
(it lives in, or edits, the case's thread), and its lane (a case's own messages keep their order;
messages to a partner, a person or another channel go out per channel, in parallel). An edit
names the post it replaces by that post's outbox key; it is idempotent, never looked for in the
channel's history, and skipped when a newer edit of the same post is queued: what a message shows
is always the newest state committed, even when an older edit was held up.

**When a message is rendered.** Always in the transaction that queues it, just before that
transaction commits (``storage.db.at_commit``): the words are those of the state being committed,
whatever order the service made its changes in, and the outbox row holds exactly what is sent —
what a partner or an authority received can be shown later, word for word. Sending only fills in
what Slack alone knows: the ``ts`` of the message to edit or to reply under, a DM's channel, and
the card's permalink in the reporter's confirmation.

A new way to send (e-mail) is a new sender behind these kinds, not a second outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import render
from bot.ops.workspace import Provider
from storage import outbox as rows
from storage.db import at_commit
from storage.models import Case, OutboxMessage, PartnerNotice

Blocks = list[dict[str, Any]]
Content = tuple[str, Blocks | None]


class Lane(StrEnum):
    CASE = "case"  # in the case's order: card, thread, updates
    CHANNEL = "channel"  # per target channel, in parallel with everything else


@dataclass(frozen=True)
class Kind:
    name: str
    edits: bool  # edits a message in place instead of posting one
    needs_card: bool  # waits until the case card has its ts
    lane: Lane


CARD_POST = Kind("card_post", edits=False, needs_card=False, lane=Lane.CASE)
CARD_UPDATE = Kind("card_update", edits=True, needs_card=True, lane=Lane.CASE)
THREAD = Kind("thread", edits=False, needs_card=True, lane=Lane.CASE)
STEP_DONE = Kind("step_done", edits=True, needs_card=True, lane=Lane.CASE)
REPORTER_NOTICE = Kind("reporter_notice", edits=False, needs_card=True, lane=Lane.CASE)
PANEL_POST = Kind("panel_post", edits=False, needs_card=True, lane=Lane.CASE)
PANEL_UPDATE = Kind("panel_update", edits=True, needs_card=True, lane=Lane.CASE)
PARTNER_NOTICE = Kind("partner_notice", edits=False, needs_card=False, lane=Lane.CHANNEL)
NOTICE_UPDATE = Kind("notice_update", edits=True, needs_card=False, lane=Lane.CASE)
DM = Kind("dm", edits=False, needs_card=False, lane=Lane.CHANNEL)
CHANNEL = Kind("channel", edits=False, needs_card=False, lane=Lane.CHANNEL)
COPY_UPDATE = Kind("copy_update", edits=True, needs_card=False, lane=Lane.CHANNEL)
AUDIT_CHECKPOINT = Kind("audit_checkpoint", edits=False, needs_card=False, lane=Lane.CHANNEL)
# E-mail (issue 17): one row per recipient address; the target is the address.
EMAIL_NOTICE = Kind("email_notice", edits=False, needs_card=False, lane=Lane.CHANNEL)
EMAIL_AUTHORITY = Kind("email_authority", edits=False, needs_card=False, lane=Lane.CHANNEL)
EMAIL_KINDS = frozenset({EMAIL_NOTICE.name, EMAIL_AUTHORITY.name})

KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        CARD_POST,
        CARD_UPDATE,
        THREAD,
        STEP_DONE,
        REPORTER_NOTICE,
        PANEL_POST,
        PANEL_UPDATE,
        PARTNER_NOTICE,
        NOTICE_UPDATE,
        DM,
        CHANNEL,
        COPY_UPDATE,
        AUDIT_CHECKPOINT,
        EMAIL_NOTICE,
        EMAIL_AUTHORITY,
    )
}


@dataclass(frozen=True)
class Outgoing:
    """A message owed: its kind, its dedupe key (the same key again adds nothing), where it goes
    (for an edit: the outbox key of the post it edits), how to render it, and what its sender
    needs besides the words."""

    kind: Kind
    key: str
    target: str
    case_id: int | None
    content: Callable[[Session], Content]
    in_thread: bool = False
    refs: Mapping[str, Any] = field(default_factory=dict)  # e.g. the notice or message to edit
    guard: Mapping[str, Any] = field(default_factory=dict)  # re-checked just before sending
    # More of the payload rendered at commit (an e-mail's subject and HTML part).
    extra: Callable[[Session], dict[str, Any]] | None = None


def queue(
    session: Session,
    message: Outgoing | None,
    now: datetime,
    *,
    not_before: datetime | None = None,
) -> None:
    """Owe ``message`` (from ``not_before``, default now): rendered and stored just before this
    transaction commits."""
    if message is None:
        return

    def store(session: Session) -> None:
        rows.enqueue(
            session,
            dedupe_key=message.key,
            kind=message.kind.name,
            target=message.target,
            case_id=message.case_id,
            in_thread=message.in_thread,
            now=now,
            not_before=not_before,
            payload=_payload(session, message),
        )

    at_commit(session, store)


def render_again(session: Session, row_id: int, message: Outgoing) -> None:
    """Replace the content of a queued, unclaimed row with ``message``'s, rendered at commit:
    a coalesced update shows the newest state, as if it had been queued now."""

    def replace(session: Session) -> None:
        rows.replace_payload(session, row_id, _payload(session, message))

    at_commit(session, replace)


def _payload(session: Session, message: Outgoing) -> dict[str, Any]:
    text, blocks = message.content(session)
    payload: dict[str, Any] = {"text": text, **message.refs, **message.guard}
    if blocks is not None:
        payload["blocks"] = blocks
    if message.extra is not None:
        payload.update(message.extra(session))
    return payload


def _given(text: str, blocks: Blocks | None = None) -> Callable[[Session], Content]:
    return lambda _session: (text, blocks)


# --- the case card ---


def card(case: Case) -> Outgoing:
    """The case card in the triage channel: what the case is, where it stands, what it waits on."""
    return Outgoing(CARD_POST, card_key(case.id), case.channel, case.id, render.card(case.id))


def card_key(case_id: int) -> str:
    return f"card:{case_id}:post"


def card_refresh(case: Case, reason: str) -> Outgoing:
    """The card again, as the case now is (one per change: ``reason`` keeps the keys apart)."""
    return Outgoing(
        CARD_UPDATE, f"card:{case.id}:{reason}", card_key(case.id), case.id, render.card(case.id)
    )


# --- the guided thread ---


def step(case: Case, content: Callable[[Session], Content], name: str) -> Outgoing:
    """What the thread asks for now, with the buttons of this step (one per case version)."""
    return Outgoing(
        THREAD,
        step_key(case.id, case.version),
        case.channel,
        case.id,
        content,
        in_thread=True,
        refs={"step": name},
    )


def step_key(case_id: int, version: int) -> str:
    return f"step:{case_id}:{version}"


def step_answered(case: Case, old_version: int, line: str) -> Outgoing:
    """The step that was answered loses its buttons and says how it was answered."""
    asked = step_key(case.id, old_version)
    return Outgoing(
        STEP_DONE,
        f"step-done:{case.id}:{old_version}",
        asked,
        case.id,
        render.answered_step(asked, line),
        refs={"step": asked, "line": line},
    )


def thread_line(
    case: Case,
    key: str,
    text: str,
    *,
    step: str | None,
    blocks: Blocks | None = None,
    **guard: Any,
) -> Outgoing:
    """A line in the case's thread: a reminder noted, a failure a person must fix."""
    return Outgoing(
        THREAD,
        key,
        case.channel,
        case.id,
        _given(text, blocks),
        in_thread=True,
        refs={"step": step},
        guard=guard,
    )


def panel(case: Case, topic: str, key: str) -> Outgoing:
    """A thread message kept current in place: the partner notices or the duties."""
    return Outgoing(
        PANEL_POST,
        key,
        case.channel,
        case.id,
        render.panel(case.id, topic),
        in_thread=True,
        refs={"panel": topic, "post": key},
    )


def panel_refresh(case: Case, topic: str, post: str, reason: str) -> Outgoing:
    return Outgoing(
        PANEL_UPDATE,
        f"panel-update:{topic}:{case.id}:{reason}",
        post,
        case.id,
        render.panel(case.id, topic),
        refs={"panel": topic, "post": post},
    )


# --- people ---


def reporter_confirmation(case: Case, response_url: str | None) -> Outgoing:
    """ "Your report is NC-n", with the card's link: ephemeral where the command was typed
    (``response_url``, while it lives), else a DM."""
    return Outgoing(
        REPORTER_NOTICE,
        f"reporter:{case.id}",
        case.reporter_id,
        case.id,
        render.reporter_confirmation(case.id),
        refs={"response_url": response_url},
    )


def dm(
    user_id: str,
    key: str,
    text: str,
    *,
    case_id: int | None,
    blocks: Blocks | None = None,
    step: str | None = None,
    **guard: Any,
) -> Outgoing:
    """A direct message (the channel is opened when sent): a reminder, a dismissal."""
    return Outgoing(
        DM, key, user_id, case_id, _given(text, blocks), refs={"step": step}, guard=guard
    )


def copy_refresh(case_id: int, post: str, text: str, blocks: Blocks, reason: str) -> Outgoing:
    """A DM or channel post edited in place (an escalation whose case was acknowledged)."""
    return Outgoing(
        COPY_UPDATE, f"copy-update:{post}:{reason}", post, case_id, _given(text, blocks)
    )


def channel_post(
    channel: str,
    key: str,
    text: str,
    *,
    case_id: int | None,
    blocks: Blocks | None = None,
    step: str | None = None,
    **guard: Any,
) -> Outgoing:
    """A message in another channel: a deployer's invitation, an authority, a reminder."""
    return Outgoing(
        CHANNEL,
        key,
        channel,
        case_id,
        _given(text, blocks),
        refs={"step": step},
        guard=guard,
    )


# --- partners ---


def partner_notice(case: Case, notice: PartnerNotice, channel: str, provider: Provider) -> Outgoing:
    """The Art. 20(1) notice, in the partner's language, naming the provider, with its
    Acknowledge receipt button."""
    return Outgoing(
        PARTNER_NOTICE,
        notice_key(notice.id),
        channel,
        case.id,
        render.partner_notice(notice.id, provider),
        refs={"notice_id": notice.id},
    )


def notice_key(notice_id: int) -> str:
    return f"notice:{notice_id}"


def email_notice(
    case: Case, notice: PartnerNotice, address: str, provider: Provider, *, reason: str = ""
) -> Outgoing:
    """The Art. 20(1) notice by e-mail to one of the partner's addresses, with a receipt link
    bound to that notice and that address (``reason`` keeps a reminder's e-mail apart)."""
    return Outgoing(
        EMAIL_NOTICE,
        email_key(notice.id, address, reason),
        address,
        case.id,
        _given(""),
        refs={"notice_id": notice.id, "address": address},
        # A reminder is not sent once the notice is settled (the first e-mail always is).
        guard={"while_notice": notice.id} if reason else {},
        extra=render.email_notice(notice.id, provider, reminder=bool(reason)),
    )


def notice_emails(session: Session, notice: PartnerNotice) -> list[OutboxMessage]:
    """Every e-mail of ``notice`` queued so far: the first one per address and reminders."""
    return [
        row
        for row in rows.for_case(session, notice.case_id)
        if row.kind == EMAIL_NOTICE.name and row.payload.get("notice_id") == notice.id
    ]


def refused_addresses(session: Session, notice: PartnerNotice) -> set[str]:
    """The addresses (lower case) the relay refused an e-mail of ``notice`` for good, and that
    nobody has had sent again since (Retry)."""
    return {r.target.lower() for r in notice_emails(session, notice) if r.status == rows.FAILED}


def email_key(notice_id: int, address: str, reason: str = "") -> str:
    who = address.lower()
    if len(who) > 180:  # the key column holds 255 characters; an address up to 254
        who = hashlib.sha256(who.encode()).hexdigest()
    key = f"{notice_key(notice_id)}:email:{who}"
    return f"{key}:{reason}" if reason else key


def notice_refresh(case: Case, notice: PartnerNotice, reason: str, provider: Provider) -> Outgoing:
    """The notice again in the partner's channel (its receipt, once acknowledged)."""
    return Outgoing(
        NOTICE_UPDATE,
        f"notice-update:{notice.id}:{reason}",
        notice_key(notice.id),
        case.id,
        render.partner_notice(notice.id, provider),
        refs={"notice_id": notice.id},
    )


# --- authorities ---


def email_authority(
    case: Case,
    duty: str,
    address: str,
    content: dict[str, Any],
    chosen_by: str,
) -> Outgoing:
    """The Art. 20(2) message by e-mail to one of an authority's addresses ("Send it now"),
    without a receipt link: the duty is recorded, for ``chosen_by``, when the relay accepts it."""
    return Outgoing(
        EMAIL_AUTHORITY,
        authority_email_key(case.id, duty, address),
        address,
        case.id,
        _given(""),
        refs={"duty": duty, "address": address, "chosen_by": chosen_by, **content},
    )


def authority_email_key(case_id: int, duty: str, address: str) -> str:
    who = address.lower()
    if len(who) > 180:
        who = hashlib.sha256(who.encode()).hexdigest()
    return f"authority-email:{case_id}:{duty}:{who}"


# --- the audit trail ---


def audit_checkpoint(channel: str, seq: int, text: str) -> Outgoing:
    """A signed audit checkpoint in the operator's audit channel: outside the database, so a
    chain rewritten there no longer matches it (``bot.audit.anchoring``). One per checkpoint."""
    return Outgoing(AUDIT_CHECKPOINT, f"audit-checkpoint:{seq}", channel, None, _given(text))
