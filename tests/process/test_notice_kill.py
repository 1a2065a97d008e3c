"""The bot killed with SIGKILL in the middle of a partner fan-out, and restarted on the same
database, notifies every partner exactly once (issue 6): notices are outbox rows committed with
the approval, claimed with a lease, and a re-attempt looks for the notice's metadata in the
channel's history before posting.

Real processes and real time: ``nonconformity-bot serve`` against a stand-in in this process,
ten partners on one system, each with its own channel. The stand-in makes the fan-out slow so
the kill lands in the middle of it:

- three channels answer at once (sent and, most likely, recorded before the kill);
- one stores the notice and then holds its reply (``after_success``): the bot dies waiting, in
  the window between Slack accepting a message and the bot recording it;
- three store the notice only after a delay, by then the bot is dead (accepted, never heard);
- two fail after a delay (nothing stored) and one is rate limited (not posted before the kill).

The outbox's lease is 60 s; rather than wait it out, the test moves the dead process's leases
into the past in the database, as a minute passing would.
"""

from __future__ import annotations

import time
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
    PATIENCE,
    ServeProcess,
    expire_leases,
    many_partners_workspace,
    notice_statuses,
    press_step,
    report,
    tagged_notices,
    wait_for,
)

PARTNERS = 10
CHANNELS = [f"C0PART{i:04d}" for i in range(PARTNERS)]
AT_ONCE = CHANNELS[0:3]
HELD_REPLY = CHANNELS[3]
STORED_LATE = CHANNELS[4:7]
FAILED_LATE = CHANNELS[7:9]
RATE_LIMITED = CHANNELS[9]
SLOW = 1.5  # seconds the stand-in sleeps on the slow channels


def test_a_bot_killed_mid_fan_out_notifies_every_partner_once_after_restart(
    tmp_path: Path,
) -> None:
    config = tmp_path / "workspace.yml"
    workspace = many_partners_workspace(config, PARTNERS, sweep_interval="1s")
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    log = tmp_path / "serve.log"
    with SlackStandIn() as standin:
        seed(standin, workspace)
        first = ServeProcess(standin, database_url=database_url, config=config, log=log)
        second = ServeProcess(standin, database_url=database_url, config=config, log=log)
        try:
            first.start()
            driver = first.driver
            assert report(SimpleNamespace(driver=driver, standin=standin)).status == 200
            press_step(standin, driver, "case_acknowledge", OFFICER)
            today = date.today().isoformat()
            press_step(standin, driver, "case_confirm", OFFICER, {**ASSESSMENT, "aware_on": today})
            press_step(standin, driver, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)

            post = "chat.postMessage"
            standin.inject(post, channel=HELD_REPLY, delay=10, after_success=True)
            for channel in STORED_LATE:
                standin.inject(post, channel=channel, delay=SLOW)
            for channel in FAILED_LATE:
                standin.inject(post, channel=channel, delay=SLOW, status=500)
            standin.inject(post, channel=RATE_LIMITED, retry_after=2)
            press_step(standin, driver, "measure_approve", APPROVER)

            slow = {*STORED_LATE, *FAILED_LATE}
            wait_for(
                lambda: (
                    all(tagged_notices(standin, c) for c in [*AT_ONCE, HELD_REPLY])
                    and not any(f.channel in slow for f in standin.faults.pending())
                ),
                timeout=10,
                what="the first notices to land and the slow ones to be in Slack's hands",
            )
            first.kill()
            assert not any(tagged_notices(standin, c) for c in STORED_LATE), "killed too late"
            before = notice_statuses(database_url)
            assert before[HELD_REPLY] == ("queued", None)  # Slack has it; the bot never heard
            assert all(before[c][0] == "queued" for c in [*STORED_LATE, *FAILED_LATE])

            # Slack finishes what it was doing for the dead process
            wait_for(
                lambda: all(tagged_notices(standin, c) for c in STORED_LATE),
                timeout=PATIENCE,
                what="the late notices to be stored",
            )
            wait_for(
                lambda: (
                    len([c for c in standin.calls(post) if c.args.get("channel") in FAILED_LATE])
                    == len(FAILED_LATE)
                ),
                timeout=PATIENCE,
                what="the late failures to be answered",
            )
            assert expire_leases(database_url) >= len([*STORED_LATE, *FAILED_LATE, HELD_REPLY])

            second.start()
            wait_for(
                lambda: all(
                    status == "sent" for status, _ in notice_statuses(database_url).values()
                ),
                timeout=PATIENCE,
                what="every notice recorded as sent",
            )
            time.sleep(2.5)  # two more sweeps: nothing goes out again
        finally:
            first.kill()
            second.stop()
    for channel in CHANNELS:
        assert len(tagged_notices(standin, channel)) == 1, (
            f"{channel}: {len(tagged_notices(standin, channel))}"
        )
        assert len(standin.messages(channel)) == 1
    after = notice_statuses(database_url)
    assert {c: after[c][1] for c in CHANNELS} == {
        c: tagged_notices(standin, c)[0].ts for c in CHANNELS
    }
    posts = {c: 0 for c in CHANNELS}
    for call in standin.calls("chat.postMessage"):
        if call.args.get("channel") in posts:
            posts[call.args["channel"]] += 1
    # the held reply and the late ones were found in history, not posted again (the stand-in
    # records the held request only once its reply goes out, 10 s after it came in)
    assert posts[HELD_REPLY] <= 1
    looked = {c.args.get("channel") for c in standin.calls("conversations.history")}
    assert {HELD_REPLY, *STORED_LATE, *FAILED_LATE} <= looked
    assert all(posts[c] == 1 for c in STORED_LATE)
    assert all(posts[c] == 2 for c in FAILED_LATE)
