"""A whole bot on this machine: the Slack stand-in, the real bot over HTTP, and a driver that
plays Slack's side. ``demo``, the end-to-end tests and the benchmarks all start it this way, so
what they show is what production runs."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.alerts.http import AlertsEndpoint, alerts_app
from bot.app import EVENTS_PATH, REDIRECT_PATH, WSGIApp, build_app, wsgi_app
from bot.clock import Clock, utc_now
from bot.devkit.standin import SlackDriver, SlackStandIn
from bot.notices.http import ReceiptPages, receipt_pages
from bot.ops.runtime import start_runtime
from bot.ops.server import HttpServer
from bot.ops.settings import Settings
from bot.ops.workspace import Workspace, load_workspace, sample_path
from bot.services import Services
from bot.timers.scheduler import sweep

# People of the sample workspace and of the tests, with readable names for transcripts.
PEOPLE = {
    "U0REPORTR1": "Rita Reporter (engineer)",
    "U0REPORTR2": "Ravi Reporter (engineer)",
    "U0OFFICER1": "Olga Officer (compliance, triage)",
    "U0OFFICER2": "Omar Officer (compliance, triage)",
    "U0APPROVE1": "Anna Approver (manager)",
    "U0APPROVE2": "Arno Approver (manager)",
    "U0ADMIN001": "Ada Admin",
    "U0ACMECON1": "Carla Contact (ACME Distribution)",
}
TITLES = {  # the profile title each shows in Slack: what a dossier prints as their role
    "U0REPORTR1": "ML engineer",
    "U0REPORTR2": "ML engineer",
    "U0OFFICER1": "Compliance officer",
    "U0OFFICER2": "Compliance officer",
    "U0APPROVE1": "Head of credit risk",
    "U0APPROVE2": "Engineering manager",
    "U0ADMIN001": "Platform administrator",
    "U0ACMECON1": "Quality manager, ACME Distribution",
}
PARTNER_TEAM = "T0PARTNER1"


def seed(standin: SlackStandIn, workspace: Workspace) -> None:
    """Make every user, group and channel the workspace names exist on the stand-in."""
    users = set(PEOPLE)
    for name in ("triage", "approvers", "admins"):
        users.update(getattr(workspace.roles, name))
    for partner in workspace.catalogue.partners:
        users.update(partner.contacts)
    channels = {
        workspace.triage_channel: "nc-triage",
        "C0GENERAL1": "general",
        "C0MANAGERS": "managers",
    }
    if workspace.audit_channel:
        channels[workspace.audit_channel] = "nc-audit"
    groups: dict[str, list[str]] = {}
    for policy in workspace.escalation.policies.values():
        for level in policy.levels:
            for target in level.notify:
                if target.startswith(("U", "W")):
                    users.add(target)
                elif target.startswith("S"):
                    groups.setdefault(target, list(workspace.roles.approvers))
                else:
                    channels.setdefault(target, target.lower())
    for user_id in sorted(users):
        standin.add_user(
            user_id, real_name=PEOPLE.get(user_id, user_id), title=TITLES.get(user_id, "")
        )
    standin.add_user(
        "U0PARTNER1",
        team_id=PARTNER_TEAM,
        real_name="Pat Partner (external)",
        title="Compliance lead, partner",
    )
    for channel_id, name in channels.items():
        standin.add_channel(channel_id, name=name, members=sorted(users))
    for partner in workspace.catalogue.partners:
        if partner.channel:
            standin.add_channel(
                partner.channel,
                name=f"ext-{partner.id}",
                members=[*partner.contacts, "U0PARTNER1"],
                is_ext_shared=True,
            )
    for group_id, members in groups.items():
        standin.add_usergroup(group_id, handle=group_id.lower(), users=members)


class _Idle(Protocol):
    def idle(self) -> bool: ...


class _Late:
    """The WSGI app, set once the server listens (the receipt links need its address)."""

    def __init__(self) -> None:
        self.app: WSGIApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


def _mail_settings(mail: dict[str, str]) -> dict[str, Any]:
    """E-mail settings by name, typed as ``Settings`` keeps them."""
    secret = {"SMTP_URL", "RECEIPT_KEY"}
    typed: dict[str, Any] = {}
    for name, value in mail.items():
        if name in secret:
            typed[name] = SecretStr(value)
        elif name == "RECEIPT_DAYS":
            typed[name] = int(value)
        else:
            typed[name] = value
    return typed


class LocalBot:
    """Use as ``with LocalBot(...) as bot:``; ``bot.driver`` plays Slack, ``bot.standin`` is it."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        database_url: str | None = None,
        clock: Clock = utc_now,
        standin: SlackStandIn | None = None,
        workers: int = 8,
        alerts_token: str | None = None,
        audit_key: str | None = None,
        checkpoint_file: Path | None = None,
        oauth: bool = False,
        install_teams: str | None = None,
        mail: dict[str, str] | None = None,
    ) -> None:
        self.workspace = workspace or load_workspace(sample_path())
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if database_url is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ncbot-")
            database_url = f"sqlite:///{Path(self._tmp.name) / 'bot.db'}"
        self.signing_secret = secrets.token_hex(16)
        self.standin = standin or SlackStandIn()
        self._own_standin = standin is None
        self.database_url = database_url
        self.clock = clock
        self.workers = workers
        self.audit_key = audit_key  # signs audit checkpoints, as AUDIT_KEY does
        self.checkpoint_file = checkpoint_file  # as AUDIT_CHECKPOINT_FILE
        self.alerts_token = alerts_token  # serves POST /alerts/… when set, as ALERTS_TOKEN does
        # Installed through /slack/install (SLACK_CLIENT_ID …) instead of SLACK_BOT_TOKEN.
        self.oauth = oauth
        self.token_key = Fernet.generate_key().decode() if oauth else None
        # SLACK_INSTALL_TEAMS with OAuth; by default the stand-in's own workspaces (those added
        # before the bot starts) and its organisation, if it plays a Grid one.
        self.install_teams = install_teams
        # E-mail settings by name (SMTP_URL, MAIL_FROM, PUBLIC_URL, RECEIPT_KEY, RECEIPT_DAYS);
        # a PUBLIC_URL of "self" is this bot's own address, known once it listens.
        self.mail = dict(mail or {})
        self._receipts: ReceiptPages | None = None
        self._alerts_endpoint: AlertsEndpoint | None = None
        self._server: HttpServer | None = None
        self._edge: _Idle | None = None
        self.services: Services
        self.driver: SlackDriver

    def start(self) -> LocalBot:
        if self._own_standin:
            self.standin.start()
        seed(self.standin, self.workspace)
        # Built from our own values only: nothing set in the caller's shell may leak in.
        oauth = self.standin.oauth
        settings = Settings.model_construct(
            SLACK_BOT_TOKEN=None if self.oauth else SecretStr(self.standin.settings.bot_token),
            SLACK_CLIENT_ID=oauth.client_id if self.oauth else None,
            SLACK_CLIENT_SECRET=SecretStr(oauth.client_secret) if self.oauth else None,
            TOKEN_ENCRYPTION_KEY=SecretStr(self.token_key) if self.token_key else None,
            SLACK_INSTALL_TEAMS=self._install_teams() if self.oauth else None,
            SLACK_SIGNING_SECRET=SecretStr(self.signing_secret),
            SLACK_API_URL=self.standin.api_url,
            DATABASE_URL=self.database_url,
            AUDIT_KEY=SecretStr(self.audit_key) if self.audit_key else None,
            AUDIT_CHECKPOINT_FILE=self.checkpoint_file,
        )
        receipts = _Late()
        self._server = HttpServer(receipts, host="127.0.0.1", port=0, threads=self.workers)
        if self.mail:
            mail = {**self.mail}
            if mail.get("PUBLIC_URL") == "self":
                mail["PUBLIC_URL"] = self.base_url
            settings = settings.model_copy(update=_mail_settings(mail))
        runtime = start_runtime(settings, workspace=self.workspace, clock=self.clock)
        self.services = runtime.services
        self._listeners = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="listener"
        )
        app = build_app(self.services, signing_secret=self.signing_secret, executor=self._listeners)
        self._edge = app.edge
        mail_settings = self.services.mail
        if mail_settings is not None and mail_settings.links:
            self._receipts = receipt_pages(
                self.services.db,
                self.services.notices,
                self.clock,
                mail_settings.receipt_key,
                self.services.outbox.deliver_due,
            )
        receipts.app = wsgi_app(app, self.services, alerts=self._alerts(), receipts=self._receipts)
        self._server.start_in_thread()
        self.driver = SlackDriver(self.standin, self.events_url, self.signing_secret)
        if self.oauth:  # the redirect URL configured in the app (no PUBLIC_URL here)
            self.standin.oauth.redirect_uri = self.base_url + REDIRECT_PATH
        return self

    def _install_teams(self) -> str:
        if self.install_teams is not None:
            return self.install_teams
        cfg = self.standin.settings
        ids = {cfg.team_id, *cfg.workspaces, cfg.enterprise_id or cfg.team_id}
        return ",".join(sorted(ids))

    def _alerts(self) -> WSGIApp | None:
        if not self.alerts_token:
            return None
        self._alerts_endpoint = alerts_app(
            self.services.alerts, self.alerts_token, self.services.outbox.deliver_due
        )
        return self._alerts_endpoint

    def listeners_idle(self) -> bool:
        """No listener is at work (what a request does after its ack included)."""
        return self._edge is None or self._edge.idle()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def events_url(self) -> str:
        return self.base_url + EVENTS_PATH

    def sweep(self) -> None:
        """One scheduler tick, run now (tests move the clock instead of waiting)."""
        sweep(self.services)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        # Listeners go on delivering after their ack; let them finish before the database goes.
        self._listeners.shutdown(wait=True)
        if self._alerts_endpoint is not None:
            self._alerts_endpoint.close()  # its deliveries too
        if self._receipts is not None:
            self._receipts.close()
        self.services.home.shutdown()  # no App Home refresh after the stand-in is gone
        self.services.db.dispose()
        if self._own_standin:
            self.standin.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LocalBot:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
