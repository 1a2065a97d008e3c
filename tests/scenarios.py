"""Steps that many end-to-end tests take, written the way a user does them in Slack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from bot.cases.state import CaseRecord, CorrectiveMeasure
from bot.devkit.local import LocalBot
from bot.devkit.standin import DriverResponse

REPORTER = "U0REPORTR1"
OFFICER = "U0OFFICER1"
OFFICER2 = "U0OFFICER2"
APPROVER = "U0APPROVE1"
APPROVER2 = "U0APPROVE2"
ADMIN = "U0ADMIN001"
TRIAGE = "C0TRIAGE01"
GENERAL = "C0GENERAL1"

GOOD_REPORT: dict[str, Any] = {
    "system": "credit-scoring",
    "title": "Scores drift",
    "description": "Approval rates dropped by 30% for applicants over 60.",
    "requirements": ["art10", "art15"],
    "risk": "yes",
    "severity": "high",
    "evidence": "https://example.com/e/42",
}


# How long a test waits for what should come at once before it gives up. A wait that succeeds
# returns the moment its condition holds, so this costs nothing when all is well; it is long
# because a loaded 2-core CI machine can pause a process for seconds (a 5-s wait was flaky).
PATIENCE: Final = 60.0


def wait_for(
    condition: Callable[[], object], timeout: float = PATIENCE, what: str = "condition"
) -> Any:
    """Poll until ``condition`` returns something truthy: the bot acks first and calls Slack
    right after, so what a test checks arrives a few milliseconds after the HTTP answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def open_report(bot: LocalBot, text: str = "", user: str = REPORTER) -> dict[str, Any]:
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.command(
        "/nonconformity", f"report {text}".strip(), user=user, channel=GENERAL
    )
    assert response.status == 200, response.body
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="views.open")
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def report(bot: LocalBot, user: str = REPORTER, **overrides: Any) -> DriverResponse:
    """Report a case through the command and the modal, as an engineer does."""
    view = open_report(bot, user=user)
    return bot.driver.submit(view["id"], user=user, values={**GOOD_REPORT, **overrides})


def triage_messages(bot: LocalBot) -> list[Any]:
    return bot.standin.messages(TRIAGE)


# --- the guided thread (issue 4) ---------------------------------------------------------------

ASSESSMENT: dict[str, Any] = {
    "nature": "Approval rates for applicants over 60 fall outside the accuracy declared (Art. 15).",
    "causal_link": "The March retraining used a sample without applicants over 60.",
    # No risk under Art. 79(1) and no serious incident: the Art. 20(2) and Art. 73 duties, which
    # would stand between Done and Close, have their own tests.
    "risk": "no",
    "serious_incident": "none",
    "aware_on": "2026-11-29",
}
MEASURE_PLAN: dict[str, Any] = {
    "plan": "Stop offering 2.3; distributors pull it from their catalogue.",
    "owner": OFFICER2,
    "target_date": "2026-12-15",
    "affected": "credit-scoring 2.3, all deployments",
    "keeps_running": "no",
}
DONE_EVIDENCE: dict[str, Any] = {
    "evidence": "All distributors confirmed removal in writing.",
    "link": "https://example.com/withdrawal/7",
}
PROPOSER = OFFICER  # who proposes the measure in ``walk_to``


def case_row(bot: LocalBot, number: int = 1) -> CaseRecord:
    """The case as stored now, read back as its typed state (``bot.case_state.CaseRecord``)."""
    from storage import cases as case_rows

    with bot.services.db.transaction() as session:
        case = case_rows.by_number(session, number)
        assert case is not None, f"no case NC-{number}"
        return case.record()


def current_measure(bot: LocalBot, number: int = 1) -> CorrectiveMeasure:
    """The case's measure in force (the test fails where there is none)."""
    measure = case_row(bot, number).measure
    assert measure is not None, f"NC-{number} has no current measure"
    return measure


def case_events(bot: LocalBot, number: int = 1) -> list[Any]:
    from storage.events import events_of

    case = case_row(bot, number)
    with bot.services.db.transaction() as session:
        return list(events_of(session, case.id))


def event_kinds(bot: LocalBot, number: int = 1) -> list[str]:
    """The case's decisions in its audit trail: the report and each workflow transition."""
    from bot.cases.workflow import Action

    decisions = {"reported", *(action.value for action in Action)}
    return [event.kind for event in case_events(bot, number) if event.kind in decisions]


def case_card(bot: LocalBot) -> Any:
    """The first case card in the triage channel (the thread's parent)."""
    return wait_for(
        lambda: next((m for m in bot.standin.messages(TRIAGE) if not m.is_reply), None),
        what="the case card",
    )


def thread_replies(bot: LocalBot) -> list[Any]:
    return [m for m in bot.standin.thread(TRIAGE, case_card(bot).ts) if m.is_reply]


def last_step_message(bot: LocalBot) -> Any:
    """The newest step message in the case thread: the one that waits for someone now (other
    messages, such as notices to partners, may follow it)."""

    def newest() -> Any:
        steps = [
            m
            for m in thread_replies(bot)
            if any(b.get("block_id") == "step" for b in m.blocks or [])
        ]
        return steps[-1] if steps else None

    return wait_for(newest, what="a step message")


def pending_deliveries(bot: LocalBot) -> int:
    from storage import outbox as outbox_rows

    with bot.services.db.transaction() as session:
        return outbox_rows.depth(session)


def settle(bot: LocalBot, timeout: float = PATIENCE) -> None:
    """Wait until the outbox owes Slack nothing, delivering what is due as the scheduler's
    sweep does; with a fake clock, a delivery put off for a moment (waiting for the card) is
    made due by moving the clock to it, as the next sweep would find it."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from bot.clock import FakeClock
    from storage.models import OutboxMessage

    def delivered() -> bool:
        # A click's answer comes back when its listener acked; what it does next (its
        # transaction, what it queues) is still running: wait for the listeners too.
        if not bot.listeners_idle():
            return False
        if pending_deliveries(bot) == 0:
            return True
        if isinstance(bot.clock, FakeClock):
            with bot.services.db.transaction() as session:
                due = session.scalar(
                    select(func.min(OutboxMessage.not_before)).where(
                        OutboxMessage.status == "pending"
                    )
                )
            soon = bot.clock() + timedelta(minutes=1)
            if due is not None and bot.clock() < due < soon:
                bot.clock.now = due
        bot.services.outbox.deliver_due()
        return False

    wait_for(delivered, timeout, what="the outbox to deliver everything")


def click_step(
    bot: LocalBot,
    action_id: str,
    user: str,
    *,
    message: Any = None,
    team_id: str | None = None,
    force: bool = False,
    value: str | None = None,
) -> DriverResponse:
    """Click a button of the newest step message (or of ``message``), as ``user``."""
    target = message or last_step_message(bot)
    response = bot.driver.click(
        TRIAGE, target.ts, action_id, user=user, team_id=team_id, force=force, value=value
    )
    assert response.status == 200, response.body
    return response


def refusal_after(bot: LocalBot, before: int) -> str:
    """The ephemeral answer (via response_url) that arrived after ``before`` answers."""
    posts = wait_for(
        lambda: (lambda p: p if len(p) > before else None)(bot.standin.response_posts()),
        what="an ephemeral answer",
    )
    body = posts[before].body
    assert body.get("response_type") == "ephemeral", body
    assert body.get("replace_original") in (False, None), body
    return str(body.get("text", ""))


def open_step_modal(
    bot: LocalBot, action_id: str, user: str, *, message: Any = None
) -> dict[str, Any]:
    """Click a step button that opens a modal and return the modal Slack shows."""
    before = len(bot.standin.calls("views.open"))
    click_step(bot, action_id, user, message=message)
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="views.open")
    opened = bot.standin.calls("views.open")[before]
    assert opened.response.get("ok"), opened.response
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def decide(
    bot: LocalBot,
    action_id: str,
    user: str,
    values: dict[str, Any] | None = None,
    *,
    number: int = 1,
) -> DriverResponse:
    """Take one step in the thread and wait until Slack shows its outcome.

    A button with a modal behind it is clicked, the modal filled in with ``values`` and
    submitted; a button without one acts at once.
    """
    version = case_row(bot, number).version
    if values is None:
        response = click_step(bot, action_id, user)
    else:
        view = open_step_modal(bot, action_id, user)
        response = bot.driver.submit(view["id"], user=user, values=values)
        assert (response.status, response.body) == (200, b""), response.body
    wait_for(lambda: case_row(bot, number).version == version + 1, what=f"{action_id} to apply")
    settle(bot)
    return response


STEP_PATH: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    # (state reached, button, who clicks, modal values)
    ("acknowledged", "case_acknowledge", OFFICER, None),
    ("confirmed", "case_confirm", OFFICER, ASSESSMENT),
    ("measure_proposed", "measure_choose_withdraw", PROPOSER, MEASURE_PLAN),
    ("measure_approved", "measure_approve", APPROVER, None),
    ("measure_done", "measure_done", OFFICER2, DONE_EVIDENCE),
    ("closed", "case_close", OFFICER, None),
)


def walk_to(bot: LocalBot, state: str) -> None:
    """Report a case and take it, the usual way, to ``state`` (a ``CaseState`` value)."""
    assert state == "reported" or any(s == state for s, *_ in STEP_PATH), state
    response = report(bot)
    assert response.status == 200, response.body
    case_card(bot)
    wait_for(lambda: thread_replies(bot), what="the first step")
    settle(bot)
    for reached, action_id, user, values in STEP_PATH:
        if case_row(bot).state == state:
            return
        decide(bot, action_id, user, values)
        assert case_row(bot).state == reached


def snapshot(bot: LocalBot) -> tuple[Any, ...]:
    """What a refused click must leave as it was: the case row, what triage was sent, and the
    modals opened."""
    import json

    settle(bot)
    case = case_row(bot)
    triage = [
        c
        for c in bot.standin.calls()
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == TRIAGE
    ]
    return (
        case.version,
        case.state,
        case.event_count,
        case.owner_id,
        case.details.model_dump_json(),
        json.dumps([m.model_dump(mode="json") for m in case.measures], sort_keys=True),
        len(triage),
        len(bot.standin.calls("views.open")),
    )


def refused(bot: LocalBot, action_id: str, user: str, **click: Any) -> str:
    """Click as ``user``, expect an ephemeral explanation and no change; return its text."""
    before = snapshot(bot)
    answers = len(bot.standin.response_posts())
    click_step(bot, action_id, user, **click)
    text = refusal_after(bot, answers)
    after = snapshot(bot)
    changed = [(was, now) for was, now in zip(before, after, strict=True) if was != now]
    assert not changed, f"a refused click changed something: {changed}"
    return text


# --- the bot as a separate process (process tests: restarts, replicas; issue 5) ----------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_workspace(path: Any, escalation: dict[str, Any]) -> Any:
    """The sample workspace with ``escalation`` replaced, written to ``path``; returns it parsed."""
    import yaml

    from bot.ops.workspace import load_workspace, sample_path

    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    data["escalation"] = escalation
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_workspace(path)


class ServeProcess:
    """``nonconformity-bot serve`` as a child process talking to a stand-in in this process.

    ``start()`` waits for ``/healthz``; ``kill()`` is SIGKILL (no clean shutdown); ``stop()``
    terminates politely and kills after a few seconds. Output goes to ``log``.
    """

    def __init__(
        self,
        standin: Any,
        *,
        database_url: str,
        config: Any,
        log: Any,
        signing_secret: str = "process-test-signing-secret",
        env: dict[str, str] | None = None,
    ) -> None:
        self.standin = standin
        self.env = env or {}
        self.database_url = database_url
        self.config = config
        self.log = log
        self.signing_secret = signing_secret
        self.port = free_port()
        self.process: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def driver(self) -> Any:
        from bot.devkit.standin import SlackDriver

        return SlackDriver(self.standin, self.base_url + "/slack/events", self.signing_secret)

    def start(self, timeout: float = 20.0) -> ServeProcess:
        import os
        import subprocess
        import sys
        import urllib.request
        from pathlib import Path

        from bot.ops.settings import Settings

        env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
        env.update(
            SLACK_BOT_TOKEN=self.standin.settings.bot_token,
            SLACK_SIGNING_SECRET=self.signing_secret,
            SLACK_API_URL=self.standin.api_url,
            DATABASE_URL=self.database_url,
            NCBOT_CONFIG=str(self.config),
            PORT=str(self.port),
            HOST="127.0.0.1",
            METRICS_PORT="0",  # replicas side by side; a test that scrapes passes its own
        )
        env.update(self.env)
        cli = str(Path(sys.executable).parent / "nonconformity-bot")
        with open(self.log, "a", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [cli, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer /healthz in {timeout}s; see {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL: no finally blocks, no scheduler shutdown
            self.process.wait(timeout=10)

    def stop(self) -> None:
        import subprocess

        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()


def guided_workspace(**roles: list[str]) -> Any:
    """The sample workspace for the guided thread of issue 4: its systems have no partners and
    no authority, so no partner notice or authority step stands between Done and Close (those
    duties have their own tests); ``roles`` replaces role lists, e.g. ``triage=[...]``."""
    from bot.ops.workspace import parse_workspace, sample_path

    lines = sample_path().read_text().splitlines()
    for i, line in enumerate(lines):
        name = line.strip().partition(":")[0]
        if line.startswith("  ") and not line.startswith("   ") and name in roles:
            lines[i] = f"  {name}: [{', '.join(roles[name])}]"
        if line.lstrip().startswith("- {id:") and "version:" in line:  # a system
            head, _, _ = line.partition(", partners:")
            lines[i] = head.rstrip("}").rstrip(", ") + ", partners: []}"
    return parse_workspace("\n".join(lines) + "\n", "guided-thread-workspace.yml")


# --- partner notices (issue 6) -----------------------------------------------------------------

# The sample workspace's credit-scoring partners: channel → partner id. Its authority (nl-ams)
# and notified body are not the addressees of a partner notice.
PARTNER_CHANNELS = {"C0ACMEDIST": "acme-dist", "C0NORTHWND": "northwind", "C0EUIMPORT": "eu-import"}
PARTNER_USER = "U0PARTNER1"  # of another workspace (team T0PARTNER1), in every partner channel
ACME_CONTACT = "U0ACMECON1"  # listed as ACME's contact, but a user of our own workspace
NOTICE_EVENT = "nonconformity_notice"


def notices_in(bot: LocalBot, channel: str) -> list[Any]:
    """The partner notices that reached ``channel`` (top-level messages tagged as notices)."""
    return [
        m
        for m in bot.standin.messages(channel)
        if not m.is_reply and (m.metadata or {}).get("event_type") == NOTICE_EVENT
    ]


def notice_rows(bot: LocalBot, number: int = 1) -> dict[str, Any]:
    """The case's notices as stored now, by partner id."""
    from storage import notices as stored

    case = case_row(bot, number)
    with bot.services.db.transaction() as session:
        return {n.partner_id: n for n in stored.of_case(session, case.id)}


def notice_table(bot: LocalBot) -> Any:
    """The thread's notice table (one message, updated in place)."""
    return wait_for(
        lambda: next(
            (m for m in thread_replies(bot) if m.text.startswith("Partner notices")), None
        ),
        what="the notice table",
    )


def drain(bot: LocalBot, timeout: float = PATIENCE) -> None:
    """Deliver what is due now, without moving the clock (unlike ``settle``): rows put off until
    later (a Retry-After, a back-off) stay put off. Returns when nothing is due or in flight."""
    from sqlalchemy import func, or_, select

    from storage.models import OutboxMessage

    def idle() -> bool:
        if not bot.listeners_idle():
            return False
        bot.services.outbox.deliver_due()
        now = bot.clock()
        with bot.services.db.transaction() as session:
            busy = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    or_(OutboxMessage.not_before <= now, OutboxMessage.claimed_until > now),
                )
            )
        return not busy

    wait_for(idle, timeout, what="the outbox to deliver what is due now")


def acknowledge_notices(bot: LocalBot, user: str = PARTNER_USER) -> None:
    """The partner's side presses "Acknowledge receipt" on every notice of the case."""
    for channel in PARTNER_CHANNELS:
        for notice in notices_in(bot, channel):
            actions = {e.get("action_id") for e in _elements(notice)}
            if "notice_acknowledge_receipt" not in actions:
                continue
            response = bot.driver.click(channel, notice.ts, "notice_acknowledge_receipt", user=user)
            assert response.status == 200, response.body
    wait_for(
        lambda: all(n.status == "acknowledged" for n in notice_rows(bot).values()),
        what="every notice acknowledged",
    )
    settle(bot)


def _elements(message: Any) -> list[dict[str, Any]]:
    return [e for b in message.blocks or [] for e in b.get("elements", []) if isinstance(e, dict)]


def many_partners_workspace(
    path: Any, count: int, *, system: str = "credit-scoring", sweep_interval: str | None = None
) -> Any:
    """The sample workspace with ``count`` partners linked to ``system``, each with its own
    Slack Connect channel (``C0PART0000``…), written to ``path``; returns it parsed."""
    import yaml

    from bot.ops.workspace import load_workspace, sample_path

    roles = ("distributor", "deployer", "importer", "authorised_representative")
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    partners = [
        {
            "id": f"partner-{i:02d}",
            "name": f"Partner {i:02d} B.V.",
            "role": roles[i % len(roles)],
            "channel": f"C0PART{i:04d}",
        }
        for i in range(count)
    ]
    informed = {"distributor", "deployer", "importer", "authorised_representative"}
    data["catalogue"]["partners"] = partners + [
        p
        for p in data["catalogue"]["partners"]
        if p["role"] not in informed  # authorities
    ]
    for entry in data["catalogue"]["systems"]:
        entry["partners"] = [p["id"] for p in partners] if entry["id"] == system else []
    if sweep_interval is not None:
        data["escalation"]["sweep_interval"] = sweep_interval
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_workspace(path)


# --- authorities and serious incidents (issue 7) -----------------------------------------------

RISK_ASSESSMENT: dict[str, Any] = {**ASSESSMENT, "risk": "yes"}  # Art. 79(1): a risk
# A serious incident says where it occurred (Art. 73(1)) and, where known, whom it affected.
WHERE: dict[str, Any] = {"member_states": ["NL"], "persons_affected": "1"}
SERIOUS_ASSESSMENT: dict[str, Any] = {**RISK_ASSESSMENT, "serious_incident": "a_health", **WHERE}
SENT: dict[str, Any] = {"on": "2026-11-30", "how": "Authority's web form", "reference": "MSA-17"}
FINDINGS: dict[str, Any] = {
    "findings": "The March retraining sample had no applicants over 60.",
    "how": "Call with the data team",
}
DUTY_VALUES: dict[str, dict[str, Any]] = {
    "investigate": FINDINGS,
    # The sample's authority has a Slack channel: its modal asks "Send it now" or another way.
    "inform_authority": {**SENT, "choice": "other"},
    "inform_notified_body": {**SENT, "how": "E-mail to the certification desk"},
    "initial_report": {**SENT, "how": "Authority's incident form"},
    "complete_report": {**SENT, "how": "Authority's incident form, final"},
}


def assessed(bot: LocalBot, assessment: dict[str, Any], **report_fields: Any) -> None:
    """Report a case (``report_fields`` override the good report), acknowledge it and confirm it
    with ``assessment``."""
    response = report(bot, **report_fields)
    assert response.status == 200, response.body
    case_card(bot)
    wait_for(lambda: thread_replies(bot), what="the first step")
    settle(bot)
    decide(bot, "case_acknowledge", OFFICER)
    decide(bot, "case_confirm", OFFICER, assessment)


def duties_panel(bot: LocalBot) -> Any:
    """The thread's duties panel (one message, kept current)."""
    return wait_for(
        lambda: next(
            (m for m in thread_replies(bot) if m.text.startswith("Duties to the authorities")),
            None,
        ),
        what="the duties panel",
    )


def open_duty(bot: LocalBot, duty: str, user: str = OFFICER) -> dict[str, Any]:
    """Click the panel's button for ``duty`` and return the modal that opens."""
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.click(TRIAGE, duties_panel(bot).ts, f"duty_record_{duty}", user=user)
    assert response.status == 200, response.body
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="the duty modal")
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def record_duty(
    bot: LocalBot, duty: str, user: str = OFFICER, values: dict[str, Any] | None = None
) -> None:
    """Record ``duty`` through its button and modal, and wait until Slack shows it."""
    view = open_duty(bot, duty, user)
    response = bot.driver.submit(view["id"], user=user, values=values or DUTY_VALUES[duty])
    assert (response.status, response.body) == (200, b""), response.body
    wait_for(lambda: duty in case_row(bot).details.duties, what=f"{duty} recorded")
    settle(bot)


def block_texts(blocks: Any) -> list[str]:
    """Every text in a tree of Block Kit blocks, in order (mrkdwn as written)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return out


def view_text(view: dict[str, Any]) -> str:
    """Every text a modal shows, joined."""
    return "\n".join(block_texts(view.get("blocks")))


def expire_leases(database_url: str) -> int:
    """What a minute without the dead process would do: its claims run out."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(
                text(
                    "UPDATE outbox SET claimed_until = :past "
                    "WHERE status = 'pending' AND claimed_until IS NOT NULL"
                ),
                {"past": "2000-01-01 00:00:00.000000"},
            )
            return int(result.rowcount)
    finally:
        engine.dispose()


# --- serve processes walked by their Slack traffic (issues 6 and 9) ----------------------------


def press_step(standin: Any, driver: Any, action_id: str, user: str, values: Any = None) -> None:
    """Press ``action_id`` on the thread's step message (and fill in its modal)."""

    def holder() -> Any:
        return next(
            (
                m
                for m in reversed(standin.messages(TRIAGE))
                if m.is_reply and action_id in str(m.blocks)
            ),
            None,
        )

    message = wait_for(holder, timeout=10, what=f"a step with {action_id}")
    views = len(standin.calls("views.open"))
    response = driver.click(TRIAGE, message.ts, action_id, user=user)
    assert response.status == 200, response.body
    if values is None:
        return
    wait_for(lambda: len(standin.calls("views.open")) > views, what="the modal")
    view = driver.last_view(user)
    submitted = driver.submit(view["id"], user=user, values=values)
    assert (submitted.status, submitted.body) == (200, b""), submitted.body


def notice_statuses(database_url: str) -> dict[str, tuple[str, str | None]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT channel, status, slack_ts FROM partner_notices")
            ).all()
    finally:
        engine.dispose()
    return {row[0]: (row[1], row[2]) for row in rows}


def tagged_notices(standin: Any, channel: str) -> list[Any]:
    return [
        m
        for m in standin.messages(channel)
        if (m.metadata or {}).get("event_type") == "nonconformity_notice"
    ]


# --- alerts from monitoring (issue 24) ---------------------------------------------------------

ALERTS_TOKEN = "test-alerts-token-0123456789"


def alertmanager_webhook(
    *,
    system: str = "credit-scoring",
    group_key: str = '{}:{alertname="ModelAccuracyLow"}',
    status: str = "firing",
    fingerprints: tuple[str, ...] = ("a1b2c3d4e5f60718",),
    severity: str | None = "critical",
    version: str = "4",
) -> dict[str, Any]:
    """Alertmanager's webhook body (version 4) for one group of alerts about ``system``."""
    labels = {"alertname": "ModelAccuracyLow", "ai_system": system}
    if severity is not None:
        labels["severity"] = severity
    return {
        "version": version,
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "nonconformity-bot",
        "groupLabels": {"alertname": "ModelAccuracyLow"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "Credit model accuracy below 0.85"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "instance": f"scorer-{n}"},
                "annotations": {
                    "summary": "Credit model accuracy below 0.85",
                    "description": "Accuracy on labelled feedback was 0.79 over the last hour.",
                },
                "startsAt": "2026-11-30T08:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=model_accuracy",
                "fingerprint": fingerprint,
            }
            for n, fingerprint in enumerate(fingerprints)
        ],
    }


def post_alert(
    bot: LocalBot,
    body: object,
    *,
    path: str = "/alerts/alertmanager",
    token: str | None = ALERTS_TOKEN,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST to the bot's alerts endpoint as monitoring does; returns the status and JSON body."""
    import json
    import urllib.error
    import urllib.request

    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(bot.base_url + path, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text.startswith(b"{") else {}


def alert_panel(bot: LocalBot, number: int = 1) -> Any:
    """The thread's kept-current alerts line (one message, updated in place)."""

    def find() -> Any:
        card_ts = case_row(bot, number).card_ts
        if card_ts is None:
            return None
        return next(
            (
                m
                for m in bot.standin.thread(TRIAGE, card_ts)
                if m.is_reply and "Monitoring" in m.text and "fired" in m.text
            ),
            None,
        )

    return wait_for(find, 30, what="the alerts line in the thread")


def install_with_oauth(bot: LocalBot) -> tuple[int, str]:
    """A person's browser installing the app: ``/slack/install``, Slack's approval page (the
    stand-in approves at once), back to ``/slack/oauth_redirect`` with the code and the state,
    keeping the state cookie Bolt set. Returns the last status and page."""
    import http.cookiejar
    import urllib.error
    import urllib.request

    class LocalhostIsSecure(http.cookiejar.DefaultCookiePolicy):
        """Browsers send ``Secure`` cookies (Bolt's state cookie) to http://localhost too."""

        def return_ok_secure(self, cookie: Any, request: Any) -> bool:
            return True

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(LocalhostIsSecure()))
    )
    try:
        with opener.open(bot.base_url + "/slack/install", timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def browser_get(url: str) -> tuple[int, str]:
    """One GET without cookies, redirects not followed."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
