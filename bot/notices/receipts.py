"""Receipt links: ``PUBLIC_URL/receipts/<token>``, signed with ``RECEIPT_KEY`` (HMAC-SHA256),
bound to one notice and one address, valid until a moment (``RECEIPT_DAYS`` after the e-mail).

Pure: no database, no HTTP. A token that does not verify is "tampered" (404, nothing said about
why); one that verifies but is past its time is "expired" (410).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

MAC_BYTES = 16


@dataclass(frozen=True)
class Link:
    notice_id: int
    address: str
    expires: datetime


class Tampered(Exception):
    """Not a token we signed (or not for this key)."""


class Expired(Exception):
    """A token we signed, past its time."""

    def __init__(self, link: Link) -> None:
        super().__init__("receipt link expired")
        self.link = link


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, b"ncbot-receipt-v1\n" + body, hashlib.sha256).digest()[:MAC_BYTES]


def sign(key: bytes, notice_id: int, address: str, expires: datetime) -> str:
    body = f"{notice_id}\n{address.lower()}\n{int(expires.timestamp())}".encode()
    return f"{_b64(body)}.{_b64(_mac(key, body))}"


def read(key: bytes, token: str, now: datetime) -> Link:
    """The link ``token`` stands for; raises Tampered or Expired."""
    try:
        body_part, mac_part = token.split(".")
        body, mac = _unb64(body_part), _unb64(mac_part)
    except ValueError:
        raise Tampered from None
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise Tampered
    try:
        notice, address, expires = body.decode().split("\n")
        link = Link(int(notice), address, datetime.fromtimestamp(int(expires), UTC))
    except ValueError:
        raise Tampered from None
    if now >= link.expires:
        raise Expired(link)
    return link
