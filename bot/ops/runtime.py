"""Assemble a running bot from settings: database (migrated), catalogue, client, services."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot.clock import Clock, utc_now
from bot.delivery.mail import MailSettings, parse_smtp_url
from bot.delivery.slack_api import TokenUnavailable, acting_workspace, make_client
from bot.errors import ConfigError
from bot.ops import catalogue
from bot.ops.identity import Installation
from bot.ops.installs import OAuthInstalls, oauth_installs
from bot.ops.settings import Settings
from bot.ops.workspace import Workspace, load_workspace, sample_path
from bot.services import Services, build_services
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger("ncbot.runtime")


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    services: Services


def workspace_from(settings: Settings, *, allow_sample: bool = False) -> Workspace:
    if settings.NCBOT_CONFIG is None or not str(settings.NCBOT_CONFIG).strip():
        if allow_sample:
            return load_workspace(sample_path())
        raise ConfigError("NCBOT_CONFIG is not set; point it at your workspace YAML file")
    return load_workspace(Path(settings.NCBOT_CONFIG))


def mail_settings(settings: Settings, workspace: Workspace) -> MailSettings | None:
    """E-mail as the settings give it; None when no partner has e-mail and nothing is set.
    When a partner has e-mail, ``SMTP_URL``, ``MAIL_FROM`` and ``RECEIPT_KEY`` are required
    (``PUBLIC_URL`` is not: without it the e-mails ask for a reply and triage records receipts
    by hand)."""
    smtp = settings.SMTP_URL.get_secret_value() if settings.SMTP_URL else ""
    if workspace.catalogue.emails_partners():
        settings.require("SMTP_URL", "MAIL_FROM", "RECEIPT_KEY")
    elif not smtp:
        return None
    key = settings.RECEIPT_KEY.get_secret_value() if settings.RECEIPT_KEY else ""
    return MailSettings(
        smtp=parse_smtp_url(smtp) if smtp else None,
        mail_from=settings.MAIL_FROM,
        public_url=settings.PUBLIC_URL,
        receipt_key=key.encode() if key else None,
        receipt_days=settings.RECEIPT_DAYS,
        ca_file=settings.SMTP_CA_FILE,
    )


def start_runtime(
    settings: Settings,
    *,
    workspace: Workspace | None = None,
    clock: Clock = utc_now,
    verify_token: bool = True,
) -> Runtime:
    """Everything ``serve`` and ``socket`` share. Fails with a ConfigError naming what is wrong."""
    workspace = workspace or workspace_from(settings)
    mail_settings(settings, workspace)  # a missing e-mail setting fails before anything starts
    db = _database(settings) if settings.oauth else None
    installs: OAuthInstalls | None = None
    if db is not None:
        installs = oauth_installs(
            client_id=str(settings.SLACK_CLIENT_ID),
            client_secret=settings.secret("SLACK_CLIENT_SECRET"),
            encryption_key=settings.secret("TOKEN_ENCRYPTION_KEY"),
            api_url=settings.SLACK_API_URL,
            public_url=settings.PUBLIC_URL,
            allowed=settings.install_teams,
            db=db,
            clock=clock,
        )
        client = make_client(installs.tokens, settings.SLACK_API_URL, clock=clock)
    else:
        client = make_client(
            settings.secret("SLACK_BOT_TOKEN"), settings.SLACK_API_URL, clock=clock
        )
    installation = Installation()
    bot_user_id: str | None = None
    if installs is None and verify_token:
        try:
            identity = client.auth_test()
            installation = Installation.from_auth_test(identity.data)
            bot_user_id = str(identity["user_id"])
            installation = acting_workspace(client, installation, workspace.triage_channel)
        except SlackApiError as exc:
            raise ConfigError(
                f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')})"
            ) from None
        except OSError as exc:
            raise ConfigError(f"SLACK_API_URL cannot be reached ({type(exc).__name__})") from None
        log.info("Slack setup: %s", installation.describe())
    db = db or _database(settings)
    catalogue.sync(db, workspace)
    services = build_services(
        workspace,
        db,
        client,
        clock,
        installation=installation,
        bot_user_id=bot_user_id,
        audit_key=settings.AUDIT_KEY.get_secret_value() if settings.AUDIT_KEY else None,
        checkpoint_file=settings.AUDIT_CHECKPOINT_FILE,
        installs=installs,
        mail=mail_settings(settings, workspace),
    )
    if installs is not None:
        # Where we are installed, as the installations say (``build_services`` listens). Not
        # installed yet is no error: /slack/install is how it gets installed.
        try:
            installs.tokens.bot()
        except TokenUnavailable as exc:
            log.warning("no installation to use yet", extra={"reason": exc.reason})
        ours = services.people.installation
        if ours.is_enterprise_install and ours.workspace_id is None:
            acting_workspace(client, ours, workspace.triage_channel)  # says why, ConfigError
        log.info("Slack setup: %s", ours.describe())
    return Runtime(settings, services)


def _database(settings: Settings) -> Database:
    db = Database(settings.DATABASE_URL)
    try:
        upgrade(db)
    except Exception as exc:
        raise ConfigError(
            f"DATABASE_URL: the database cannot be used ({type(exc).__name__})"
        ) from None
    return db
