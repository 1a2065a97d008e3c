"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts and refuses on cue:
the e-mail tests' relay, as the Slack stand-in is their Slack."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

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

    def __init__(
        self,
        *,
        tls_dir: Path | None = None,
        login: tuple[str, str] | None = None,
        implicit_tls: bool = False,
        smtputf8: bool = True,
    ) -> None:
        """``tls_dir``: offer STARTTLS (or, with ``implicit_tls``, TLS from the first byte, as
        ``smtps://`` expects) with a certificate for 127.0.0.1 signed by a private CA written
        there (``ca.pem``, for ``SMTP_CA_FILE``); ``login``: require AUTH with these;
        ``smtputf8``: offer SMTPUTF8 (non-ASCII addresses), as aiosmtpd's Controller does."""
        self.received: list[Received] = []
        self.attempts = 0  # DATA commands seen, accepted or not
        self.running = False
        self._faults: list[tuple[str, str, str | None]] = []
        self._held: dict[str, float] = {}  # address -> seconds the 250 waits after storing
        self._lock = threading.Lock()
        self.port = free_port()
        options: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if tls_dir is not None and implicit_tls:  # smtps://: TLS from the first byte
            options["ssl_context"] = _server_context(tls_dir)
        elif tls_dir is not None:
            options["tls_context"] = _server_context(tls_dir)
            options["require_starttls"] = True
        if login is not None:
            options["authenticator"] = _Login(*login)
            # aiosmtpd counts only STARTTLS as TLS for AUTH; over smtps:// it is TLS already.
            options["auth_require_tls"] = tls_dir is not None and not implicit_tls
        self.ca_file = tls_dir / "ca.pem" if tls_dir is not None else None
        self._options = options
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def refuse(self, stage: str, reply: str, *, times: int = 1, address: str | None = None) -> None:
        """Answer the next ``times`` ``RCPT`` or ``DATA`` (for ``address``, or any) with
        ``reply`` ("451 4.3.0 try later", "550 5.1.1 no such user")."""
        with self._lock:
            self._faults.extend([(stage, reply, address)] * times)

    def hold(self, address: str, seconds: float) -> None:
        """Accept (store) a message to ``address`` at once but send the 250 only ``seconds``
        later: the window between the relay accepting it and the sender hearing so."""
        with self._lock:
            self._held[address] = seconds

    def release(self) -> None:
        """From now on, answer every message at once."""
        with self._lock:
            self._held.clear()

    def held_for(self, addresses: list[str]) -> float:
        with self._lock:
            return max((self._held.get(a, 0.0) for a in addresses), default=0.0)

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

    def start(self) -> None:
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()
        self.running = True

    def stop(self) -> None:
        """Stop listening (a relay that is down); ``start()`` listens again on the same port."""
        if self._controller is not None and self.running:
            self._controller.stop()
            self.running = False

    def __enter__(self) -> Mailbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Login:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok)


def _server_context(directory: Path) -> ssl.SSLContext:
    """A private CA and a certificate for 127.0.0.1 signed by it, written to ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("test CA"))
        .issuer_name(name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "cert.pem").write_bytes(cert.public_bytes(pem))
    (directory / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


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
        held = self.box.held_for(list(envelope.rcpt_tos))
        if held:
            await asyncio.sleep(held)
        return "250 Message accepted for delivery"
