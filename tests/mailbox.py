"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts and refuses on cue:
the e-mail tests' relay, as the Slack stand-in is their Slack."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.scenarios import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


class Mailbox:
    """``with Mailbox() as box:``; ``box.url`` is an ``SMTP_URL``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts = 0  # DATA commands seen, accepted or not
        self._faults: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def refuse(self, stage: str, reply: str, *, times: int = 1, address: str | None = None) -> None:
        """Answer the next ``times`` ``RCPT`` or ``DATA`` (for ``address``, or any) with
        ``reply`` ("451 4.3.0 try later", "550 5.1.1 no such user")."""
        with self._lock:
            self._faults.extend([(stage, reply, address)] * times)

    def fault(self, stage: str, addresses: list[str]) -> str | None:
        with self._lock:
            for index, (wanted, reply, address) in enumerate(self._faults):
                if wanted == stage and (address is None or address in addresses):
                    del self._faults[index]
                    return reply
        return None

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address in r.rcpt_tos]

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        refused = self.box.fault("RCPT", [address])
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.box._lock:
            self.box.attempts += 1
        refused = self.box.fault("DATA", list(envelope.rcpt_tos))
        if refused:
            return refused
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.box._lock:
            self.box.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"
