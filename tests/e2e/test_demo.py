"""``nonconformity-bot demo`` as a newcomer runs it: no Slack, no configuration, one command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.demo import STEPS, Demo, run_demo

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_plays_a_case_and_prints_it_as_slack_shows_it(tmp_path: Path) -> None:
    # Whatever the developer's shell holds must not matter: no tokens, no workspace file.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))}
    env["SLACK_APP_TOKEN"] = "not-an-app-token"  # invalid for `socket`, ignored by `demo`
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,  # nothing from the checkout's directory is needed
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Rita Reporter (engineer) types  /nonconformity report" in out
    assert "== NC-1 · " in out  # the case card's header
    assert "\n  #nc-triage\n" in out
    assert "#nc-triage › thread “NC-1 · " in out
    assert "[Acknowledge]" in out
    assert "Olga Officer (compliance, triage) clicks [Acknowledge]" in out
    assert "#general · only visible to Rita Reporter (engineer)" in out
    assert "your report is NC-1" in out
    assert "Slack answered all" in out
    assert elapsed < 10, f"the demo took {elapsed:.1f} s"


def test_the_demo_fails_with_one_clear_line_when_slack_refuses_a_step() -> None:
    def slack_loses_the_triage_channel(demo: Demo) -> None:
        demo.standin.inject("chat.postMessage", error="channel_not_found", times=10)

    out, err = io.StringIO(), io.StringIO()
    steps = (("Slack loses the triage channel", slack_loses_the_triage_channel), *STEPS)
    assert run_demo(out, err, steps) == 1
    assert err.getvalue().startswith("demo failed at step 2 (An engineer reports")
    assert "Slack refused chat.postMessage: channel_not_found" in err.getvalue()
