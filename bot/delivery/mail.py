"""E-mail: the SMTP relay, the message a partner outside Slack reads, and what an SMTP error means.

One more sender behind the outbox (``bot.delivery.senders``): the outbox claims, sends outside
any transaction, retries and records as for Slack. What SMTP cannot promise, and the outbox
cannot fix: a bounce that a relay sends later is not seen (the relay accepted the message, so we
record it sent), and a crash between the relay's acceptance and our commit sends the e-mail
again — with the same ``Message-ID``, derived from the outbox row's key, so a mail client that
deduplicates by ``Message-ID`` shows it once.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.delivery.slack_api import Failure

SMTP_TIMEOUT = 30.0  # one read or write
# One whole conversation (connect, TLS, login, MAIL, RCPT, DATA): well inside the outbox's
# 60-second lease (bot.delivery.outbox), so that no other worker claims the row and sends it
# again while a slow relay still answers. Each read or write waits only what is left of it.
SEND_BUDGET = 40.0
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
SMTP_NO_SMTPUTF8 = "smtp_no_smtputf8"  # also the key of what a person can do about it


@dataclass(frozen=True)
class SmtpServer:
    """``SMTP_URL`` read: where the relay is, whether TLS is implicit, and who we log in as."""

    implicit_tls: bool
    host: str
    port: int
    user: str | None = None
    password: str | None = None

    @property
    def credentials(self) -> bool:
        return self.user is not None


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:587`` or ``smtps://host:465``; user and password are
    percent-decoded. A ValueError names what is wrong without echoing the password."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp:// or smtps://")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("has an invalid port") from None
    if not parts.hostname:
        raise ValueError("names no host")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if user is not None and password is None:
        raise ValueError("gives a user without a password")
    return SmtpServer(parts.scheme == "smtps", parts.hostname, port, user, password)


@dataclass(frozen=True)
class MailSettings:
    """Everything e-mail needs, from the settings (``bot.ops.runtime.mail_settings``)."""

    smtp: SmtpServer | None
    mail_from: str | None
    public_url: str | None  # None: receipt links cannot work (docs: "E-mail partners")
    receipt_key: bytes | None
    receipt_days: int = 30
    ca_file: Path | None = None
    send_budget: float = SEND_BUDGET

    @property
    def can_send(self) -> bool:
        return self.smtp is not None and bool(self.mail_from)

    @property
    def links(self) -> bool:
        """Whether e-mails carry a receipt link."""
        return bool(self.public_url) and bool(self.receipt_key)

    def receipt_url(self, token: str) -> str:
        assert self.public_url is not None
        return f"{self.public_url}/receipts/{token}"


class Mailer:
    """Connects to the relay for each message (a notice is rare; a pooled connection would
    only add states to get wrong), with STARTTLS whenever the URL carries credentials."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def _context(self) -> ssl.SSLContext:
        ca = self.settings.ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def connect(self) -> smtplib.SMTP:
        """A connection ready to send: TLS as configured, logged in when there are credentials."""
        server = self.settings.smtp
        assert server is not None
        deadline = time.monotonic() + self.settings.send_budget
        timeout = min(SMTP_TIMEOUT, self.settings.send_budget)
        smtp: smtplib.SMTP
        if server.implicit_tls:
            smtp = _BoundedSSL(
                server.host,
                server.port,
                timeout=timeout,
                context=self._context(),
                deadline=deadline,
            )
        else:
            smtp = _Bounded(server.host, server.port, timeout=timeout, deadline=deadline)
        try:
            smtp.ehlo()
            if not server.implicit_tls and (server.credentials or smtp.has_extn("starttls")):
                if not smtp.has_extn("starttls"):
                    # Never send a password in clear text.
                    raise NoStartTLS("the relay offers no STARTTLS")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if server.credentials:
                assert server.user is not None and server.password is not None
                try:
                    smtp.login(server.user, server.password)
                except smtplib.SMTPServerDisconnected:
                    # Some relays hang up after refused credentials instead of answering 535.
                    raise smtplib.SMTPAuthenticationError(535, b"closed during login") from None
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage, address: str) -> None:
        """Hand ``message`` to the relay for ``address``; raises what the relay answered."""
        assert self.settings.mail_from is not None
        smtp = self.connect()
        try:
            smtp.send_message(message, from_addr=self.settings.mail_from, to_addrs=[address])
        except smtplib.SMTPNotSupportedError as exc:
            # The only one send_message raises: an address needs SMTPUTF8 the relay lacks.
            raise NoSmtpUtf8(str(exc)) from exc
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def check(self) -> None:
        """``doctor``: connect, STARTTLS and log in, sending nothing."""
        smtp = self.connect()
        try:
            smtp.noop()
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class _Bounded(smtplib.SMTP):
    """An SMTP conversation that ends by ``deadline`` (``time.monotonic()``): each read and
    write waits at most what is left, then raises ``TimeoutError`` (uncertain: retried)."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        self.deadline = deadline  # before the base class connects
        super().__init__(*args, **kwargs)

    def _tighten(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the relay took longer than the send budget")
        if self.sock is not None:
            self.sock.settimeout(min(SMTP_TIMEOUT, left))

    def send(self, s: Any) -> None:
        self._tighten()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._tighten()
        return super().getreply()


class _BoundedSSL(_Bounded, smtplib.SMTP_SSL):
    """``smtps://``: the same, over TLS from the first byte."""


class NoStartTLS(smtplib.SMTPNotSupportedError):
    """The URL carries credentials but the relay offers no STARTTLS: they are never sent in
    clear text."""


class NoSmtpUtf8(smtplib.SMTPNotSupportedError):
    """An address has non-ASCII characters before the ``@`` (or ``MAIL_FROM`` has), and the
    relay does not offer SMTPUTF8: it cannot go through this relay, however often we try."""


class MailNotConfigured(Exception):
    """An e-mail is owed but ``SMTP_URL`` or ``MAIL_FROM`` is not set."""


class Uncomposable(Exception):
    """The e-mail cannot be written (a header the ``email`` package refuses): sending it
    again would fail the same way, so it is a failed notice, not a retry."""


# Failures of ours that classify_mail reads as permanent: one log line, not a traceback.
MAIL_REFUSALS = (MailNotConfigured, Uncomposable)


def message_id(dedupe_key: str, mail_from: str) -> str:
    """One stable ``Message-ID`` per outbox row (per recipient and notice): a retry after an
    uncertain failure sends the same one."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    domain = mail_from.rpartition("@")[2] or "localhost"
    return f"<{digest}.ncbot@{domain}>"


def one_line(value: str) -> str:
    """A header's words on one line: a YAML folded scalar leaves a trailing newline, and the
    ``email`` package refuses a header with one."""
    return " ".join(value.split())


def reply_address(contact: str | None) -> str | None:
    """``Reply-To`` only when the provider's contact is one valid address ("Call +49… or
    qa@acme.eu" is free text, shown in the e-mail's body, not a header)."""
    if not contact:
        return None
    found = getaddresses([one_line(contact)])
    if len(found) != 1:
        return None
    name, address = found[0]
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        return None
    return formataddr((name, address)) if name else address


def compose(
    *,
    address: str,
    subject: str,
    text: str,
    html: str,
    sender_name: str | None,
    mail_from: str,
    reply_to: str | None,
    dedupe_key: str,
    sent_on: float,
) -> EmailMessage:
    """A plain-text and an HTML part (multipart/alternative), from the provider's name.
    Raises ``Uncomposable`` (permanent) when a header still cannot be written."""
    try:
        message = EmailMessage()
        message["Subject"] = one_line(subject)
        name = one_line(sender_name or "")
        message["From"] = formataddr((name, mail_from)) if name else mail_from
        message["To"] = address
        replies = reply_address(reply_to)
        if replies:
            message["Reply-To"] = replies
        message["Message-ID"] = message_id(dedupe_key, mail_from)
        message["Date"] = formatdate(sent_on, usegmt=True)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
    except (ValueError, TypeError) as exc:
        raise Uncomposable(str(exc)[:150]) from exc
    return message


def classify_mail(exc: BaseException) -> Failure:
    """4xx and a lost connection: try again later (the outbox backs off); 5xx: a person must
    act (a failed notice with the reason and **Retry**)."""
    if isinstance(exc, MailNotConfigured):
        return Failure("permanent", "smtp_not_configured")
    if isinstance(exc, Uncomposable):
        return Failure("permanent", f"mail_uncomposable: {exc}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (450, b""))
        return _by_code(code, reply)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure("permanent", "smtp_certificate_not_trusted")
    if isinstance(exc, NoSmtpUtf8):
        return Failure("permanent", SMTP_NO_SMTPUTF8)
    if isinstance(exc, NoStartTLS):
        return Failure("permanent", "smtp_no_starttls")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Failure("permanent", "smtp_no_auth")
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout)):
        return Failure("uncertain", f"smtp_{type(exc).__name__}")
    return Failure("uncertain", type(exc).__name__)


def _by_code(code: int, reply: bytes | str) -> Failure:
    said = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    error = f"smtp {code} {said}".strip()[:200]
    return Failure("permanent" if 500 <= code < 600 else "uncertain", error)
