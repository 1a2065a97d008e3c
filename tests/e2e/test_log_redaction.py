"""What the logs of a whole case may not hold: the bot token, the signing secret, and anything
people typed into the case. ``serve`` runs as a process with ``LOG_FORMAT=json`` at
``LOG_LEVEL=DEBUG`` (where the libraries would dump request and response bodies), a case is
reported, assessed, a measure rejected with a reason and another approved; then the captured
log is searched for each secret and each typed text. The same lines carry the ids that let an
operator follow the case: the Slack request id and the case id."""

from __future__ import annotations

import json
import signal
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import load_workspace, sample_path
from tests.scenarios import (
    APPROVER,
    APPROVER2,
    ASSESSMENT,
    GOOD_REPORT,
    MEASURE_PLAN,
    OFFICER,
    ServeProcess,
    press_step,
    report,
    wait_for,
)

TOKEN = "xoxb-1234567890-0987654321-Zq8wLmN4pR2sT6uV"
SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TYPED = {
    "title": "Kumquat scores drift for applicants",
    "description": "Quetzal approval rates dropped by 30% for applicants over 60.",
    "nature": "Marzipan accuracy outside the declared range (Art. 15).",
    "causal_link": "Ocelot retraining sample lacked applicants over 60.",
    "plan": "Zeppelin withdrawal: stop offering 2.3 everywhere.",
    "affected": "Xylophone deployments of credit-scoring 2.3",
    "reason": "Wombat reason: withdrawal alone leaves deployed copies running.",
}


def test_a_whole_case_logged_at_debug_holds_no_secret_and_no_typed_text(tmp_path: Path) -> None:
    config = sample_path()
    log = tmp_path / "serve.log"
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    with SlackStandIn(bot_token=TOKEN) as standin:
        seed(standin, load_workspace(config))
        # one refused notice: a warning about a case, which must carry the case's id
        standin.inject("chat.postMessage", channel="C0NORTHWND", status=500)
        bot = ServeProcess(
            standin,
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            config=config,
            log=log,
            signing_secret=SECRET,
            env=env,
        )
        try:
            bot.start()
            driver = bot.driver
            people = SimpleNamespace(driver=driver, standin=standin)
            reported = report(
                people,
                title=TYPED["title"],
                description=TYPED["description"],
                severity="low",
                risk="no",  # risk "yes" with Low would first ask to confirm Low
            )
            assert reported.status == 200
            press_step(standin, driver, "case_acknowledge", OFFICER)
            today = date.today().isoformat()
            assessment = {**ASSESSMENT, "nature": TYPED["nature"], "aware_on": today}
            assessment["causal_link"] = TYPED["causal_link"]
            press_step(standin, driver, "case_confirm", OFFICER, assessment)
            plan = {**MEASURE_PLAN, "plan": TYPED["plan"], "affected": TYPED["affected"]}
            press_step(standin, driver, "measure_choose_withdraw", OFFICER, plan)
            press_step(standin, driver, "measure_reject", APPROVER2, {"reason": TYPED["reason"]})
            press_step(standin, driver, "measure_choose_withdraw", OFFICER, plan)
            press_step(standin, driver, "measure_approve", APPROVER)
            wait_for(
                lambda: "slack refused outbox message" in log.read_text(),
                timeout=10,
                what="the refused notice to be logged",
            )
            bot.process.send_signal(signal.SIGTERM)
            assert bot.process.wait(timeout=15) == 0
        finally:
            bot.stop()

    text = log.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert SECRET not in text
    assert TOKEN.split("-", 1)[1] not in text  # not even the token without its prefix
    for field, typed in TYPED.items():
        assert typed not in text, field
        assert typed.split()[0] not in text, field  # nor a word of it
    assert GOOD_REPORT["evidence"] not in text

    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 20 and any(line["level"] == "debug" for line in lines)
    # the libraries that would print bodies say nothing below INFO
    assert not [x for x in lines if x["logger"].startswith("slack") and x["level"] == "debug"]
    acked = [line for line in lines if line["message"] == "slack request acked"]
    assert {line["kind"] for line in acked} >= {"command", "action", "view"}
    assert all(line.get("request_id") for line in acked)
    refused = next(line for line in lines if line["message"] == "slack refused outbox message")
    assert refused["case_id"] == 1
