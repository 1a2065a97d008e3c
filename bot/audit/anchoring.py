"""Making signed checkpoints (at every Close and at least daily) and checking the chains against
them.

The scheduler's sweep asks :meth:`Anchoring.make_due` every pass; a checkpoint is due when a
case was closed or dismissed since the last one, or the last one is a day old. Each is stored
(``audit_checkpoints``), posted to the workspace's ``audit_channel`` through the outbox and
appended to ``AUDIT_CHECKPOINT_FILE``: the copies outside the database are what a rewrite
cannot reach. Without ``AUDIT_KEY`` nothing is made.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from bot.audit import checkpoint as cp
from bot.clock import Clock
from bot.delivery import messages
from bot.errors import ConfigError
from bot.messages import t
from bot.ops.workspace import Workspace
from storage import cases as case_rows
from storage import checkpoints as rows
from storage.db import Database
from storage.models import AuditCheckpoint

log = logging.getLogger("ncbot.audit")

DAILY = timedelta(days=1)
CLOSING_KINDS = ("close", "dismiss")


class _NotDue(Exception):
    """Another replica made the checkpoint while this one waited for the lock."""


class Anchoring:
    def __init__(
        self,
        db: Database,
        workspace: Workspace,
        clock: Clock,
        key_seed: str | None = None,
        checkpoint_file: Path | None = None,
    ) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.file = checkpoint_file
        try:
            self.key = cp.private_key(key_seed) if key_seed else None
        except cp.BadKey as exc:
            raise ConfigError(str(exc)) from None
        self._file_synced = False

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def make_due(self) -> int | None:
        """Make a checkpoint if one is due; returns its number. Cheap when none is."""
        if self.key is None:
            return None
        now = self.clock()
        with self.db.read() as session:
            reason = self._due(session, now)
        made = self.make(reason) if reason else None
        if made is not None or not self._file_synced:
            self.sync_file()
        return made

    def make(self, reason: str) -> int | None:
        """Make one checkpoint now (``reason``: close, daily or manual)."""
        if self.key is None:
            return None
        try:
            with self.db.transaction() as session:
                return self._make(session, reason)
        except _NotDue:
            return None

    def _due(self, session: Session, now: datetime) -> str | None:
        last = rows.newest(session)
        if last is None:
            if rows.closed_since(session, 0, CLOSING_KINDS):
                return "close"
            return "daily" if rows.last_event_id(session) else None
        if rows.closed_since(session, last.last_event_id, CLOSING_KINDS):
            return "close"
        if now - last.made_at >= DAILY:
            return "daily"
        return None

    def _make(self, session: Session, reason: str) -> int:
        assert self.key is not None
        now = self.clock()
        seq = case_rows.next_number(session, rows.COUNTER)  # locks: one maker at a time
        last = rows.newest(session)
        if last is not None and last.seq >= seq:
            log.error("the checkpoint counter is behind the checkpoints", extra={"seq": seq})
            raise _NotDue
        if reason != "manual" and last is not None and self._due(session, now) is None:
            raise _NotDue  # another replica made it while this one waited for the lock
        heads = rows.heads(session)
        statement = cp.body(
            seq=seq,
            at=now.isoformat(),
            reason=reason,
            cases=len(heads),
            digest=cp.heads_digest(heads),
            prev=last.hash if last is not None else None,
        )
        public = cp.public_b64(self.key)
        made = AuditCheckpoint(
            seq=seq,
            made_at=now,
            reason=reason,
            statement=statement,
            hash=cp.body_hash(statement),
            signature=cp.sign(self.key, statement),
            public_key=public,
            heads=heads,
            last_event_id=rows.last_event_id(session),
        )
        session.add(made)
        channel = self.workspace.audit_channel
        if channel:
            messages.queue(session, messages.audit_checkpoint(channel, seq, self.text(made)), now)
        log.info("audit checkpoint made", extra={"seq": seq, "reason": reason})
        return seq

    def text(self, made: AuditCheckpoint) -> str:
        lang = self.workspace.language
        line = t(
            "audit.checkpoint",
            lang,
            seq=made.seq,
            reason=t(f"audit.checkpoint.reason.{made.reason}", lang),
            cases=len(made.heads),
            at=made.statement["at"],
        )
        return f"{line}\n```{as_line(made)}```"

    def sync_file(self) -> None:
        """Append to the file every checkpoint it does not hold yet (after a crash too)."""
        if self.file is None:
            return
        try:
            held = cp.parse(self.file.read_text(encoding="utf-8")) if self.file.exists() else []
            last = max((item.seq for item in held), default=0)
            with self.db.read() as session:
                missing = [as_line(made) for made in rows.after(session, last)]
            if missing:
                with self.file.open("a", encoding="utf-8") as out:
                    out.write("".join(line + "\n" for line in missing))
                    out.flush()
                    os.fsync(out.fileno())
            self._file_synced = True
        except OSError as exc:
            log.error(
                "cannot write the audit checkpoint file",
                extra={"path": str(self.file), "error": exc.strerror},
            )


def as_line(made: AuditCheckpoint) -> str:
    return cp.published(made.statement, made.signature, made.public_key)


# --- checking the chains against the checkpoints ---


@dataclass
class Anchored:
    """What ``audit verify`` found against the checkpoints."""

    checked: bool  # False: no public key to check with
    stored: int = 0  # checkpoints in the database
    newest: int | None = None  # the newest checkpoint found sound
    problems: list[str] = field(default_factory=list)  # about the checkpoints themselves
    cases: dict[int, str] = field(default_factory=dict)  # case number → what was rewritten


def check(
    session: Session, key: Ed25519PublicKey | None, external: Sequence[cp.Published] = ()
) -> Anchored:
    """Check the stored checkpoints (signed by ``key``, gapless, linked, their digests over the
    heads they keep), the copies kept outside (``external``: same seq, same hash; none the
    database lacks), then every case against the newest sound checkpoint: the event at the count
    it signed must still have the head it signed."""
    stored = list(rows.all_checkpoints(session))
    if key is None:
        return Anchored(checked=False, stored=len(stored))
    result = Anchored(checked=True, stored=len(stored))
    published = [cp.Published(s.statement, s.signature, s.public_key) for s in stored]
    result.problems += cp.check_sequence(published, key)
    if stored and stored[0].seq != 1:
        result.problems.append(f"checkpoints 1–{stored[0].seq - 1} are missing")
    sound: list[AuditCheckpoint] = []
    for made, item in zip(stored, published, strict=True):
        if made.hash != item.hash or made.seq != item.seq:
            result.problems.append(f"checkpoint {made.seq}: its stored hash or number was changed")
        elif cp.heads_digest(made.heads) != made.statement.get("heads_digest"):
            result.problems.append(
                f"checkpoint {made.seq}: the heads it keeps are not those it signed"
            )
        elif cp.signed_by(item, key):
            sound.append(made)
    by_seq = {made.seq: made for made in stored}
    for copy in sorted(external, key=lambda c: c.seq):
        if not cp.signed_by(copy, key):
            result.problems.append(
                f"checkpoint {copy.seq} (outside copy): signature does not match"
            )
            continue
        mine = by_seq.get(copy.seq)
        if mine is None:
            result.problems.append(
                f"checkpoint {copy.seq} is outside the database but not in it (deleted)"
            )
        elif mine.hash != copy.hash:
            result.problems.append(f"checkpoint {copy.seq} differs from its outside copy")
    if not sound:
        return result
    newest = sound[-1]
    result.newest = newest.seq
    for ref, (count, head) in sorted(newest.heads.items()):
        number = int(ref.removeprefix("NC-"))
        now_there = rows.event_hash(session, number, int(count))
        if now_there != head:
            what = "is gone" if now_there is None else "is not the one it signed"
            result.cases[number] = (
                f"its history before checkpoint {newest.seq} ({newest.statement['at']}) was "
                f"rewritten: event {count}, the last it signed, {what}"
            )
    return result
