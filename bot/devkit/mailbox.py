"""A mail relay stand-in for the sandbox: a small SMTP server on 127.0.0.1 that keeps what it
accepts, so that the sandbox's **Mail** pane can show the e-mails partners outside Slack get.

Only what the bot's sender uses (``EHLO``/``HELO``, ``MAIL``, ``RCPT``, ``DATA``, ``RSET``,
``NOOP``, ``QUIT``), without TLS or login: it is never anything but a local stand-in. The tests
run a full SMTP server (aiosmtpd) instead.
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

MAX_MESSAGE = 10 * 1024 * 1024


@dataclass(frozen=True)
class Mail:
    at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""


class MailStandIn:
    """``with MailStandIn() as relay:``; ``relay.url`` is an ``SMTP_URL``."""

    def __init__(self) -> None:
        self._mails: list[Mail] = []
        self._lock = threading.Lock()
        relay = self

        class Session(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                relay._session(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Session)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._server.server_address[1]}"

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def start(self) -> MailStandIn:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mail-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MailStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _session(self, io: socketserver.StreamRequestHandler) -> None:
        def say(line: str) -> None:
            io.wfile.write(line.encode() + b"\r\n")
            io.wfile.flush()

        say("220 sandbox mail stand-in")
        mail_from = ""
        rcpt_tos: list[str] = []
        while True:
            raw = io.rfile.readline(4096)
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250-sandbox" if verb == "EHLO" else "250 sandbox")
                if verb == "EHLO":
                    say("250 8BITMIME")
            elif verb == "MAIL":
                mail_from, rcpt_tos = _address(command), []
                say("250 OK")
            elif verb == "RCPT":
                rcpt_tos.append(_address(command))
                say("250 OK")
            elif verb == "DATA":
                say("354 end with <CRLF>.<CRLF>")
                self._keep(mail_from, rcpt_tos, _data(io))
                say("250 accepted")
            elif verb == "RSET":
                mail_from, rcpt_tos = "", []
                say("250 OK")
            elif verb == "NOOP":
                say("250 OK")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("502 not implemented")

    def _keep(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._mails.append(Mail(datetime.now(UTC), mail_from, tuple(rcpt_tos), message))


def _address(command: str) -> str:
    _, _, rest = command.partition(":")
    return rest.strip().split(" ", 1)[0].strip("<>")


def _data(io: socketserver.StreamRequestHandler) -> bytes:
    lines: list[bytes] = []
    size = 0
    while True:
        line = io.rfile.readline(MAX_MESSAGE)
        if not line or line in (b".\r\n", b".\n"):
            return b"".join(lines)
        if line.startswith(b".."):
            line = line[1:]
        size += len(line)
        if size <= MAX_MESSAGE:
            lines.append(line)
