"""The sandbox's moving parts on one port: the Slack stand-in, the real bot and its scheduler.

One :class:`Generation` is a stand-in seeded with the workspace, the bot started on its own
database against it, the scheduler, and a driver that signs what the page does. Reset throws a
generation away and starts the next: the bot keeps no state that outlives it.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import text

from bot.app import EVENTS_PATH, WSGIApp, build_app, wsgi_app
from bot.devkit.local import seed
from bot.devkit.mailbox import MailStandIn
from bot.devkit.standin import SlackDriver, SlackStandIn
from bot.notices.http import ReceiptPages, receipt_pages
from bot.ops.runtime import start_runtime
from bot.ops.settings import Settings
from bot.ops.workspace import PartnerRole, Workspace
from bot.services import Services
from bot.timers.scheduler import start_scheduler
from storage.db import Database
from storage.models import Base
from storage.slack_tables import SLACK_METADATA

log = logging.getLogger("ncbot.sandbox")


MONITORING = "C0MONITOR1"


def seed_monitoring(standin: SlackStandIn) -> None:
    """A channel the bot is not in, with an alert in it: try "Report as non-conformity" on a
    message, as an engineer who notices a problem there would (issue 19)."""
    people = [u.id for u in standin.users() if not u.id.startswith("U0PARTNER")]
    standin.add_user("U0ALERTMGR", real_name="Alertmanager")
    standin.add_channel(MONITORING, name="monitoring", members=people, bot_is_member=False)
    standin.add_message(
        MONITORING,
        "",
        user="U0ALERTMGR",
        attachments=[
            {
                "fallback": "[FIRING:1] ApprovalRateDrift credit-scoring",
                "title": "[FIRING:1] ApprovalRateDrift credit-scoring",
                "text": "Approval rate for applicants over 60 fell 31% below the declared "
                "accuracy range (Art. 15) over the last 24 h.",
            }
        ],
    )


@dataclass
class Generation:
    number: int
    standin: SlackStandIn
    driver: SlackDriver
    services: Services
    bot: WSGIApp
    scheduler: Any  # apscheduler BackgroundScheduler
    tmp: tempfile.TemporaryDirectory[str] | None
    mail: MailStandIn | None = None  # the relay partners outside Slack are e-mailed through
    receipts: ReceiptPages | None = None

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        if self.receipts is not None:
            self.receipts.close()
        if self.mail is not None:
            self.mail.stop()
        self.services.db.dispose()
        if self.tmp is not None:
            self.tmp.cleanup()


class Sandbox:
    """Starts generations against ``base_url`` (the public address of the one port)."""

    def __init__(
        self, workspace: Workspace, *, database_url: str | None = None, workers: int = 8
    ) -> None:
        self.workspace = with_email(workspace)
        self.database_url = database_url  # None: a fresh temporary SQLite file per generation
        self.workers = workers
        self.base_url = ""
        self._current: Generation | None = None
        self.standin: SlackStandIn | None = None  # answers the Web API before the bot is up
        self._lock = threading.Lock()
        self._count = 0

    @property
    def current(self) -> Generation | None:
        return self._current

    def start(self, base_url: str) -> Generation:
        """Start the first generation; the server on ``base_url`` must already be listening,
        because the bot checks its token against the stand-in there (``auth.test``)."""
        self.base_url = base_url.rstrip("/")
        with self._lock:
            self._current = self._start_generation()
            return self._current

    def reset(self) -> Generation:
        """Wipe the database and the stand-in: the next generation starts from nothing."""
        with self._lock:
            old, self._current, self.standin = self._current, None, None
            if old is not None:
                old.stop()
                if self.database_url is not None:
                    _wipe(self.database_url)
            self._current = self._start_generation()
            log.info("sandbox reset", extra={"generation": self._current.number})
            return self._current

    def stop(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.stop()
                self._current = self.standin = None

    def _start_generation(self) -> Generation:
        self._count += 1
        # A token per generation: a listener of a stopped generation still finishing its
        # Web API calls is refused (invalid_auth) instead of writing into the new stand-in.
        standin = SlackStandIn(bot_token=f"xoxb-sandbox-{self._count}-{secrets.token_hex(8)}")
        standin.settings.base_url = self.base_url  # served by our WSGI app, not its own server
        seed(standin, self.workspace)
        seed_monitoring(standin)
        tmp: tempfile.TemporaryDirectory[str] | None = None
        database_url = self.database_url
        if database_url is None:
            tmp = tempfile.TemporaryDirectory(prefix="ncbot-sandbox-")
            database_url = f"sqlite:///{Path(tmp.name) / 'sandbox.db'}"
        signing_secret = secrets.token_hex(16)
        relay = MailStandIn().start()
        settings = Settings(
            SLACK_BOT_TOKEN=SecretStr(standin.settings.bot_token),
            SLACK_SIGNING_SECRET=SecretStr(signing_secret),
            SLACK_API_URL=self.base_url + "/api/",
            DATABASE_URL=database_url,
            SMTP_URL=SecretStr(relay.url),
            MAIL_FROM="ncbot@sandbox.example",
            PUBLIC_URL=self.base_url,  # receipt links open on the sandbox's own port
            RECEIPT_KEY=SecretStr(secrets.token_urlsafe(32)),
        )
        self.standin = standin  # it must answer before start_runtime calls auth.test
        services = start_runtime(settings, workspace=self.workspace).services
        app = build_app(services, signing_secret=signing_secret, workers=self.workers)
        driver = SlackDriver(standin, self.base_url + EVENTS_PATH, signing_secret)
        scheduler = start_scheduler(services)
        mail = services.mail
        assert mail is not None
        pages = receipt_pages(
            services.db,
            services.notices,
            services.clock,
            mail.receipt_key,
            services.outbox.deliver_due,
        )
        bot = wsgi_app(app, services, receipts=pages)
        return Generation(self._count, standin, driver, services, bot, scheduler, tmp, relay, pages)


def with_email(workspace: Workspace) -> Workspace:
    """The workspace as the sandbox runs it: when no partner is told by e-mail, the first
    importer (else the first partner told at all) also gets an address, so that the **Mail**
    pane shows what a partner outside Slack receives, with a receipt link that works."""
    catalogue = workspace.catalogue
    if catalogue.emails_partners():
        return workspace
    informed = [p for p in catalogue.partners if p.role not in AUTHORITIES]
    chosen = next((p for p in informed if p.role == PartnerRole.IMPORTER), None)
    chosen = chosen or (informed[0] if informed else None)
    if chosen is None:
        return workspace
    address = f"compliance@{chosen.id}.example"
    partners = [
        p.model_copy(update={"email": [address]}) if p is chosen else p for p in catalogue.partners
    ]
    return workspace.model_copy(
        update={"catalogue": catalogue.model_copy(update={"partners": partners})}
    )


AUTHORITIES = (PartnerRole.MARKET_SURVEILLANCE_AUTHORITY, PartnerRole.NOTIFIED_BODY)


def _wipe(database_url: str) -> None:
    """Drop the bot's tables (and Alembic's) from a database the visitor configured."""
    db = Database(database_url)
    try:
        Base.metadata.drop_all(db.engine)
        SLACK_METADATA.drop_all(db.engine)  # slack-sdk's installation stores (OAuth)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        db.dispose()
