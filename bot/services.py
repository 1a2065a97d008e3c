"""The services a running bot shares, built once by the app factory and handed to listeners and
the scheduler (rather than threaded through every call)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from slack_sdk import WebClient

from bot.alerts.service import Alerts
from bot.audit.anchoring import Anchoring
from bot.cases.changes import Changes
from bot.cases.service import Cases
from bot.cases.steps import Steps
from bot.clock import Clock, today_in
from bot.delivery.outbox import Outbox
from bot.dossier.people import Names
from bot.dossier.service import Dossiers
from bot.duties.service import Duties
from bot.home.service import Home
from bot.notices.service import Notices
from bot.ops.people import People
from bot.ops.workspace import Workspace
from bot.timers.engine import TimerEngine
from storage.db import Database


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
    team_id: str | None = None  # our own workspace; set from auth.test when known

    @property
    def lang(self) -> str:
        return self.workspace.language

    def today(self) -> date:
        """Today where the organisation works: the default for dates people enter."""
        return today_in(self.workspace.timezone, self.clock())


def build_services(
    workspace: Workspace,
    db: Database,
    client: WebClient,
    clock: Clock,
    *,
    team_id: str | None = None,
    bot_user_id: str | None = None,
    audit_key: str | None = None,
    checkpoint_file: Path | None = None,
) -> Services:
    people = People(workspace, team_id)
    names = Names(db, client, clock)
    deliveries = Outbox(db, client, workspace, clock, bot_user_id=bot_user_id)
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
        duties=Duties(db, workspace, clock, people),
        home=home,
        dossiers=Dossiers(db, client, workspace, clock, names, people),
        alerts=alerts,
        names=names,
        anchoring=Anchoring(db, workspace, clock, audit_key, checkpoint_file),
        timers=TimerEngine(
            db, client, workspace, clock, lambda case_id: deliveries.deliver_due(case_id=case_id)
        ),
        team_id=team_id,
    )
