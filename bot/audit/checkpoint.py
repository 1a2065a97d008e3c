"""Signed checkpoints: the chains' heads anchored outside the database.

Someone who can write the database can rewrite a case's chain and recompute every hash; nothing
inside the database can tell. A checkpoint is a small signed statement — "at this time, these
were the heads of every case" as one digest, with a sequence number and the previous
checkpoint's hash — published where the database's writers cannot reach (a Slack channel, an
append-only file). It is signed with an Ed25519 key whose seed (``AUDIT_KEY``) lives in the
bot's environment only, so whoever holds the public key (an auditor, an authority) can check a
checkpoint without trusting us, and a database writer cannot make a new one.

Pure: the format, the signature and the checks, nothing about where checkpoints are kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bot.audit.chain import GENESIS, canonical_json

FORMAT = "nonconformity-bot/audit-checkpoint/1"


class BadKey(ValueError):
    """A key that is not the base64 of 32 bytes."""


def private_key(seed_b64: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_32_bytes(seed_b64, "AUDIT_KEY"))


def public_key(public_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_32_bytes(public_b64, "the public key"))


def _32_bytes(text: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"{name} is not base64") from None
    if len(raw) != 32:
        raise BadKey(f"{name} must be the base64 of 32 bytes, not {len(raw)}")
    return raw


def public_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def new_seed() -> str:
    """A new signing key's 32-byte seed, base64: the value of ``AUDIT_KEY``."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def heads_digest(heads: Mapping[str, Sequence[Any]]) -> str:
    """SHA-256 over the canonical JSON of ``{"NC-n": [event count, head hash], …}``: every
    case's chain as it stood, in one value a checkpoint can carry however many cases there are."""
    return hashlib.sha256(
        canonical_json({k: list(v) for k, v in heads.items()}).encode()
    ).hexdigest()


def body(
    *, seq: int, at: str, reason: str, cases: int, digest: str, prev: str | None
) -> dict[str, Any]:
    """What a checkpoint says, and what its signature covers (as canonical JSON)."""
    return {
        "format": FORMAT,
        "seq": seq,
        "at": at,
        "reason": reason,
        "cases": cases,
        "heads_digest": digest,
        "prev": prev or GENESIS,
    }


def body_hash(statement: Mapping[str, Any]) -> str:
    """The checkpoint's own hash: the next checkpoint names it as ``prev``."""
    return hashlib.sha256(canonical_json(statement).encode()).hexdigest()


def sign(key: Ed25519PrivateKey, statement: Mapping[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical_json(statement).encode())).decode()


def published(statement: Mapping[str, Any], signature: str, public: str) -> str:
    """The checkpoint as one line of JSON: what the file holds and the Slack message carries."""
    return json.dumps(
        {"checkpoint": dict(statement), "signature": signature, "public_key": public},
        sort_keys=True,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class Published:
    statement: Mapping[str, Any]
    signature: str
    public_key: str

    @property
    def seq(self) -> int:
        return int(self.statement.get("seq", 0))

    @property
    def hash(self) -> str:
        return body_hash(self.statement)


def parse(text: str) -> list[Published]:
    """Every checkpoint in ``text``: the file, or Slack messages pasted or exported one after
    another (a checkpoint is a line starting with ``{"checkpoint"``, wherever it stands)."""
    found = []
    for line in text.splitlines():
        start = line.find('{"checkpoint"')
        if start < 0:
            continue
        end = line.rfind("}")
        try:
            data = json.loads(line[start : end + 1])
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("checkpoint"), dict):
            found.append(
                Published(
                    data["checkpoint"], str(data.get("signature")), str(data.get("public_key"))
                )
            )
    return found


def signed_by(item: Published, key: Ed25519PublicKey) -> bool:
    try:
        signature = base64.b64decode(item.signature, validate=True)
        key.verify(signature, canonical_json(item.statement).encode())
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def check_sequence(items: Iterable[Published], key: Ed25519PublicKey) -> list[str]:
    """What is wrong with these checkpoints, in order: a bad signature, a seq that does not
    follow, a ``prev`` that is not the hash of the checkpoint before (one left out or changed).
    Empty when each is signed by ``key`` and each follows the one before."""
    problems: list[str] = []
    before: Published | None = None
    for item in sorted(items, key=lambda i: i.seq):
        if item.statement.get("format") != FORMAT:
            problems.append(f"checkpoint {item.seq}: not a checkpoint of this format")
            continue
        if not signed_by(item, key):
            problems.append(f"checkpoint {item.seq}: the signature does not match the public key")
        if before is not None:
            if item.seq != before.seq + 1:
                missing = f"{before.seq + 1}" + (
                    f"–{item.seq - 1}" if item.seq - 1 > before.seq + 1 else ""
                )
                problems.append(f"checkpoint {missing} missing between {before.seq} and {item.seq}")
            elif item.statement.get("prev") != before.hash:
                problems.append(
                    f"checkpoint {item.seq}: does not link to checkpoint {before.seq} "
                    "(one of them was changed)"
                )
        elif item.seq == 1 and item.statement.get("prev") != GENESIS:
            problems.append("checkpoint 1: does not start the sequence")
        before = item
    return problems
