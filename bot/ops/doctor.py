"""``nonconformity-bot doctor`` and the same checks when ``serve`` starts.

doctor: one line per check with ✓ or ✗ and the fix; exit code 0 only when every check passed.
Checks that depend on an earlier one (the database on a valid DATABASE_URL, Slack on a token)
are skipped when it failed, since they could only repeat its error.

serve: the token and the database are already checked by ``start_runtime`` (it refuses to start
without them); the Slack checks run after start and their failures are logged as warnings —
a partner channel the bot is not in must not keep the triage channel from working.
"""

from __future__ import annotations

import logging
import threading
from typing import TextIO

from slack_sdk import WebClient

from bot.clock import utc_now
from bot.delivery.slack_api import make_client
from bot.ops.checks import Result, failed, passed
from bot.ops.checks.config import check_provider, check_settings, check_workspace
from bot.ops.checks.database import check_database
from bot.ops.checks.mail import check_mail
from bot.ops.checks.slack import SlackChecks
from bot.ops.installs import OAuthInstalls, oauth_installs
from bot.ops.settings import Settings
from bot.ops.workspace import Workspace
from storage.db import Database

log = logging.getLogger("ncbot.doctor")


def _client(settings: Settings) -> tuple[WebClient | None, OAuthInstalls | None]:
    """The client ``serve`` would use: the static token, or the OAuth installation's."""
    if (
        settings.oauth
        and settings.SLACK_CLIENT_SECRET
        and settings.TOKEN_ENCRYPTION_KEY
        and settings.SLACK_INSTALL_TEAMS
    ):
        try:
            installs = oauth_installs(
                client_id=str(settings.SLACK_CLIENT_ID),
                client_secret=settings.secret("SLACK_CLIENT_SECRET"),
                encryption_key=settings.secret("TOKEN_ENCRYPTION_KEY"),
                api_url=settings.SLACK_API_URL,
                public_url=settings.PUBLIC_URL,
                allowed=settings.install_teams,
                db=Database(settings.DATABASE_URL),
                clock=utc_now,
            )
        except Exception:  # the database check above already said what is wrong with it
            return None, None
        return make_client(installs.tokens, settings.SLACK_API_URL), installs
    if settings.SLACK_BOT_TOKEN is not None and settings.SLACK_BOT_TOKEN.get_secret_value():
        return make_client(settings.secret("SLACK_BOT_TOKEN"), settings.SLACK_API_URL), None
    return None, None


def check_install_teams(installs: OAuthInstalls) -> Result:
    """No installation kept in the database lies outside ``SLACK_INSTALL_TEAMS`` (one put
    there by other means, or left from before the setting changed: never used)."""
    allowed = installs.store.allowed.describe()
    try:
        foreign = installs.store.foreign()
    except Exception:  # the database check already said what is wrong with it
        return failed("installations", "cannot be read", "see the database check")
    if foreign:
        return failed(
            "installations",
            f"kept outside SLACK_INSTALL_TEAMS ({allowed}), never used: {', '.join(foreign)}",
            "uninstall the app there and delete those rows, or add the id to "
            "SLACK_INSTALL_TEAMS if that workspace is yours",
        )
    return passed("installations", f"every stored installation is in {allowed}")


def run_doctor(out: TextIO) -> int:
    results: list[Result] = []

    def report(*new: Result) -> None:
        for result in new:
            results.append(result)
            print(result.line(), file=out, flush=True)

    settings_result, settings = check_settings()
    report(settings_result)
    if settings is None:
        return _summary(results, out)
    workspace_result, workspace = check_workspace(settings)
    report(workspace_result)
    if workspace is not None:
        report(check_provider(workspace))
    report(*check_mail(settings, workspace))
    report(check_database(settings.DATABASE_URL))
    client, installs = _client(settings)
    if installs is not None:
        report(check_install_teams(installs))
    if client is not None:
        if workspace is None:
            report(*SlackChecks(client, _no_workspace()).token())
        else:
            report(*SlackChecks(client, workspace).run())
    return _summary(results, out)


def _summary(results: list[Result], out: TextIO) -> int:
    bad = sum(not r.ok for r in results)
    print(f"{len(results) - bad} passed, {bad} failed", file=out)
    return 1 if bad else 0


def _no_workspace() -> Workspace:
    return Workspace(triage_channel="C0000000000")


def check_at_start(client: WebClient, workspace: Workspace) -> threading.Thread:
    """The Slack checks, in the background so that the bot answers at once; each failure is a
    warning in the log, with its fix."""

    def run() -> None:
        try:
            results = SlackChecks(client, workspace).run()
        except Exception:
            log.exception("startup checks failed to run")
            return
        for result in results:
            if result.warning:
                log.warning("startup check: %s", result.line(), extra={"check": result.subject})
            elif not result.ok:
                log.warning(
                    "startup check failed: %s",
                    result.line(),
                    extra={"check": result.subject},
                )
        bad = sum(not r.ok for r in results)
        log.info("startup checks done", extra={"passed": len(results) - bad, "failed": bad})

    thread = threading.Thread(target=run, name="startup-checks", daemon=True)
    thread.start()
    return thread
