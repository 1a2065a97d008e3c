"""The services a running bot shares, built once by the app factory and handed to listeners and
the scheduler (rather than threaded through every call)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot

from bot.alerts.service import Alerts
from bot.audit.anchoring import Anchoring
from bot.cases.changes import Changes
from bot.cases.service import Cases
from bot.cases.steps import Steps
from bot.clock import Clock, today_in
from bot.delivery.mail import MailSettings
from bot.delivery.outbox import Outbox
from bot.delivery.slack_api import TokenUnavailable, acting_workspace
from bot.dossier.people import Names
from bot.dossier.service import Dossiers
from bot.duties.service import Duties
from bot.errors import ConfigError
from bot.home.service import Home
from bot.notices.service import Notices
from bot.ops.identity import Installation, InstallTeams
from bot.ops.installs import OAuthInstalls, installed_where
from bot.ops.people import People
from bot.ops.workspace import Workspace
from bot.timers.engine import TimerEngine
from storage.db import Database

log = logging.getLogger("ncbot.services")


@dataclass(frozen=True)
class Services:
    workspace: Workspace
    db: Database
    clock: Clock
    client: WebClient
    cases: Cases
    outbox: Outbox
    steps: Steps
    changes: Changes
    timers: TimerEngine
    notices: Notices
    duties: Duties
    home: Home
    dossiers: Dossiers
    alerts: Alerts
    names: Names  # who acted, by name as Slack showed them (looked up once per person)
    anchoring: Anchoring
    people: People  # who is ours and their roles; one instance, shared by every service
    installation: Installation = field(default_factory=Installation)  # from auth.test
    installs: OAuthInstalls | None = None  # OAuth: installations and the token source
    mail: MailSettings | None = None  # e-mail to partners outside Slack (issue 17)

    @property
    def team_id(self) -> str | None:
        """Our workspace as ``auth.test`` (or the OAuth install) named it (the organisation's
        id, org-wide)."""
        return self.people.installation.team_id

    @property
    def lang(self) -> str:
        return self.workspace.language

    def today(self) -> date:
        """Today where the organisation works: the default for dates people enter."""
        return today_in(self.workspace.timezone, self.clock())


def _installed(
    bots: list[Bot],
    people: People,
    deliveries: Outbox,
    client: WebClient,
    workspace: Workspace,
    allowed: InstallTeams,
) -> None:
    """OAuth installations seen for the first time (or changed): where we are installed is now
    known, as auth.test tells it at start with a static token — every installation's workspace
    (or organisation) ours, the triage channel's installation first — and the bot user the
    outbox names. An org-wide install also needs the triage channel's workspace, named on the
    calls that act in one (``acting_workspace``)."""
    found = installed_where(bots, allowed)
    if found is None:
        return
    before = people.installation
    same = (before.team_id, before.enterprise_id) == (found.team_id, found.enterprise_id)
    found = replace(found, workspace_id=before.workspace_id if same else None)
    if found.is_enterprise_install and found.workspace_id is None:
        try:
            found = acting_workspace(client, found, workspace.triage_channel)
        except (ConfigError, TokenUnavailable) as exc:
            log.error("org-wide install without a workspace to act in: %s", exc)
    people.installation = found
    if bots[0].bot_user_id:
        deliveries.bot_user_id = deliveries.senders.bot_user_id = bots[0].bot_user_id


def build_services(
    workspace: Workspace,
    db: Database,
    client: WebClient,
    clock: Clock,
    *,
    installation: Installation | None = None,
    bot_user_id: str | None = None,
    audit_key: str | None = None,
    checkpoint_file: Path | None = None,
    installs: OAuthInstalls | None = None,
    mail: MailSettings | None = None,
) -> Services:
    installation = installation or Installation()
    people = People(workspace, installation)
    names = Names(db, client, clock)
    deliveries = Outbox(db, client, workspace, clock, bot_user_id=bot_user_id, mail=mail)
    if installs is not None:
        installs.tokens.default_channel = workspace.triage_channel
        allowed = installs.store.allowed
        installs.tokens.on_change.append(
            lambda bot: _installed(bot, people, deliveries, client, workspace, allowed)
        )
    home = Home(db, client, workspace, clock, people)
    deliveries.senders.on_case_shown = home.refresh_case  # the App Home follows the card
    cases = Cases(db, workspace, clock, people)
    alerts = Alerts(db, workspace, clock, cases)
    return Services(
        workspace=workspace,
        db=db,
        clock=clock,
        client=client,
        cases=cases,
        outbox=deliveries,
        steps=Steps(db, workspace, clock, people),
        changes=Changes(db, workspace, clock, people),
        notices=Notices(db, workspace, clock, people, client),
        duties=Duties(db, workspace, clock, people, email=mail is not None and mail.can_send),
        home=home,
        dossiers=Dossiers(db, client, workspace, clock, names, people),
        alerts=alerts,
        names=names,
        anchoring=Anchoring(db, workspace, clock, audit_key, checkpoint_file),
        timers=TimerEngine(
            db, client, workspace, clock, lambda case_id: deliveries.deliver_due(case_id=case_id)
        ),
        people=people,
        installation=installation,
        installs=installs,
        mail=mail,
    )
