"""SIGTERM in the middle of a partner fan-out: ``serve`` stops taking requests, lets the
listener that is sending the notices finish, lets the current sweep finish, and exits 0 within
SHUTDOWN_TIMEOUT; a restart on the same database sends nothing again. Every partner is
notified exactly once.

Real processes and real time: the stand-in holds every partner channel's ``chat.postMessage``
for a while, so the signal arrives while all the notices are in Slack's hands and none of the
answers has come back.
"""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    MEASURE_PLAN,
    OFFICER,
    ServeProcess,
    free_port,
    many_partners_workspace,
    notice_statuses,
    press_step,
    report,
    tagged_notices,
    wait_for,
)

PARTNERS = 6
CHANNELS = [f"C0PART{i:04d}" for i in range(PARTNERS)]
HELD = 2.0  # seconds the stand-in holds each partner notice
SHUTDOWN_TIMEOUT = 10.0


def refused(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5):
            return False
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)
    except OSError:
        return False


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


def test_sigterm_during_a_fan_out_finishes_it_and_a_restart_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    config = tmp_path / "workspace.yml"
    workspace = many_partners_workspace(config, PARTNERS, sweep_interval="1s")
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    log = tmp_path / "serve.log"
    metrics_port = free_port()
    env = {"SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT), "METRICS_PORT": str(metrics_port)}
    with SlackStandIn() as standin:
        seed(standin, workspace)
        first = ServeProcess(standin, database_url=database_url, config=config, log=log, env=env)
        second = ServeProcess(standin, database_url=database_url, config=config, log=log)
        try:
            first.start()
            driver = first.driver
            assert report(SimpleNamespace(driver=driver, standin=standin)).status == 200
            press_step(standin, driver, "case_acknowledge", OFFICER)
            today = date.today().isoformat()
            press_step(standin, driver, "case_confirm", OFFICER, {**ASSESSMENT, "aware_on": today})
            press_step(standin, driver, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)
            assert 'ncbot_cases{severity="high",state="measure_proposed"} 1.0' in scrape(
                metrics_port
            )

            for channel in CHANNELS:
                standin.inject("chat.postMessage", channel=channel, delay=HELD)
            press_step(standin, driver, "measure_approve", APPROVER)
            wait_for(
                lambda: not any(f.channel in CHANNELS for f in standin.faults.pending()),
                timeout=10,
                what="every partner notice to be in Slack's hands",
            )
            assert not any(tagged_notices(standin, c) for c in CHANNELS), (
                "the notices came back too soon"
            )

            signalled = time.monotonic()
            first.process.send_signal(signal.SIGTERM)
            # it stops taking requests at once, while the notices are still on their way
            wait_for(
                lambda: refused(first.base_url + "/healthz"),
                timeout=1.5,
                what="new connections to be refused",
            )
            assert first.process.poll() is None, "it exited before the fan-out finished"
            code = first.process.wait(timeout=SHUTDOWN_TIMEOUT + 5)
            took = time.monotonic() - signalled
            assert code == 0, log.read_text()[-3000:]
            assert took < SHUTDOWN_TIMEOUT

            # nothing was left for the restart: every notice recorded with its ts before exit
            stored = notice_statuses(database_url)
            assert {c: s for c, (s, _) in stored.items()} == dict.fromkeys(CHANNELS, "sent")
            assert {c: ts for c, (_, ts) in stored.items()} == {
                c: tagged_notices(standin, c)[0].ts for c in CHANNELS
            }

            second.start()
            time.sleep(2.5)  # two sweeps: nothing goes out again
        finally:
            first.kill()
            second.stop()
    for channel in CHANNELS:
        assert len(tagged_notices(standin, channel)) == 1, channel
        posts = [c for c in standin.calls("chat.postMessage") if c.args.get("channel") == channel]
        assert len(posts) == 1, channel
    text_log = log.read_text()
    assert "shutdown step done" in text_log and "step=listeners" in text_log
    assert "clean=True" in text_log
