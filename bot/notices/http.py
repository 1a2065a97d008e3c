"""The receipt page of an e-mailed notice: ``GET`` and ``POST /receipts/<token>``.

Served beside ``/slack/events`` by ``serve`` when ``PUBLIC_URL`` and ``RECEIPT_KEY`` are set.
The token is the only authentication (``bot.notices.receipts``): it is signed, bound to one
notice and one address, and expires. ``GET`` only shows the notice and one form with one button
(a mail scanner that follows links records nothing); the ``POST`` records the receipt. A tampered
token gets 404, an expired one or one whose address left the catalogue 410, and none records
anything; every refusal is one log line.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot.alerts.http import Deliveries
from bot.clock import Clock
from bot.delivery import messages
from bot.errors import UserError
from bot.messages import shown_in, t
from bot.notices import receipts
from bot.notices.service import Notices, addressed
from bot.ops.request_context import request_scope
from storage import catalogue as catalogue_rows
from storage import notices as notice_rows
from storage import outbox as outbox_rows
from storage.db import Database

PREFIX = "/receipts/"
MAX_TOKEN = 1024

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
log = logging.getLogger("ncbot.receipts")

STATUS = {200: "200 OK", 404: "404 Not Found", 405: "405 Method Not Allowed", 410: "410 Gone"}


class ReceiptPages:
    """The WSGI app for ``/receipts/…``."""

    def __init__(
        self,
        db: Database,
        notices: Notices,
        clock: Clock,
        key: bytes,
        deliver: Callable[..., int],
    ) -> None:
        self.db = db
        self.notices = notices
        self.clock = clock
        self.key = key
        self.deliveries = Deliveries(deliver)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with request_scope():
            method = environ.get("REQUEST_METHOD", "GET")
            if method not in ("GET", "HEAD", "POST"):
                return _answer(start_response, 405, "en", "Method Not Allowed", "", allow=True)
            token = str(environ.get("PATH_INFO", ""))[len(PREFIX) :]
            try:
                if len(token) > MAX_TOKEN:
                    raise receipts.Tampered
                link = receipts.read(self.key, token, self.clock())
            except receipts.Tampered:
                log.warning("receipt link refused: not one we signed")
                return _answer(start_response, 404, "en", "404", t("receipt.page.tampered"))
            except receipts.Expired as expired:
                lang = self._language(expired.link)
                log.warning(
                    "receipt link refused: expired", extra={"notice": expired.link.notice_id}
                )
                return _answer(start_response, 410, lang, "410", t("receipt.page.expired", lang))
            if method == "POST":
                return self._record(link, start_response)
            return self._show(link, token, start_response)

    def _show(
        self, link: receipts.Link, token: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        lang, ref, body, acked = self._notice(link)
        if ref is None:
            return _answer(start_response, 404, lang, "404", t("receipt.page.tampered", lang))
        if not self._addressed(link):
            log.warning("receipt link refused: the address left the catalogue")
            return _answer(start_response, 410, lang, "410", t("receipt.page.revoked", lang))
        if acked is not None:
            said = t("receipt.page.already", lang, ref=ref, when=_moment(acked))
            return _answer(start_response, 200, lang, t("receipt.page.title", lang, ref=ref), said)
        ask = t("receipt.page.ask", lang, address=link.address)
        form = (
            f'<form method="post" action="{html.escape(PREFIX + token)}">'
            f"<p>{html.escape(ask)}</p>"
            f'<button type="submit">{html.escape(t("mail.receipt.button", lang))}</button>'
            "</form>"
        )
        title = t("receipt.page.title", lang, ref=ref)
        return _page(start_response, 200, lang, title, body + form)

    def _record(self, link: receipts.Link, start_response: StartResponse) -> Iterable[bytes]:
        lang = self._language(link)
        try:
            receipt = self.notices.acknowledge_by_link(link.notice_id, link.address)
        except UserError:
            log.warning("receipt link refused: no such notice", extra={"notice": link.notice_id})
            return _answer(start_response, 404, lang, "404", t("receipt.page.tampered", lang))
        notice, case = receipt.notice, receipt.case
        title = t("receipt.page.title", lang, ref=case.ref)
        if receipt.outcome == "counted":
            self.deliveries.soon(case.id)  # the table, the card: as after a Slack click
            at = notice.ack_at or self.clock()
            said = t(
                "receipt.page.done", lang, ref=case.ref, address=link.address, when=_moment(at)
            )
        elif receipt.outcome == "revoked":
            return _answer(start_response, 410, lang, "410", t("receipt.page.revoked", lang))
        elif receipt.outcome == "already":
            said = t("receipt.page.already", lang, ref=case.ref, when=_moment(notice.ack_at))
        else:
            said = t("receipt.page.gone", lang)
        return _answer(start_response, 200, lang, title, said)

    def _notice(self, link: receipts.Link) -> tuple[str, str | None, str, datetime | None]:
        """The language, case reference, e-mailed body and receipt time of the link's notice."""
        with self.db.read() as session:
            notice = notice_rows.by_id(session, link.notice_id)
            if notice is None:
                return "en", None, "", None
            sent = outbox_rows.by_key(session, messages.email_key(notice.id, link.address))
            payload = dict(sent.payload) if sent is not None else {}
            acked = notice.ack_at if notice.status == notice_rows.ACKNOWLEDGED else None
            lang = notice.language or "en"
            return lang, str(payload.get("ref", "")), str(payload.get("html", "")), acked

    def _addressed(self, link: receipts.Link) -> bool:
        with self.db.read() as session:
            notice = notice_rows.by_id(session, link.notice_id)
            partner = catalogue_rows.partner(session, notice.partner_id) if notice else None
            return partner is not None and addressed(partner, link.address)

    def _language(self, link: receipts.Link) -> str:
        return self._notice(link)[0]

    def close(self) -> None:
        self.deliveries.close()


def _moment(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "—"


def _answer(
    start_response: StartResponse,
    status: int,
    lang: str,
    title: str,
    said: str,
    *,
    allow: bool = False,
) -> list[bytes]:
    return _page(start_response, status, lang, title, f"<p>{html.escape(said)}</p>", allow=allow)


def _page(
    start_response: StartResponse,
    status: int,
    lang: str,
    title: str,
    body: str,
    *,
    allow: bool = False,
) -> list[bytes]:
    page = (
        f'<!doctype html>\n<html lang="{shown_in(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    ).encode()
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(page))),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", "default-src 'none'; form-action 'self'"),
    ]
    if allow:
        headers.append(("Allow", "GET, HEAD, POST"))
    start_response(STATUS[status], headers)
    return [page]


def receipt_pages(
    db: Database, notices: Notices, clock: Clock, key: bytes | None, deliver: Callable[..., int]
) -> ReceiptPages | None:
    """The pages when links can work (``RECEIPT_KEY`` set), else None (no route)."""
    return ReceiptPages(db, notices, clock, key, deliver) if key else None
