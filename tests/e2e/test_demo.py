"""``nonconformity-bot demo`` as a newcomer runs it: no Slack, no configuration, one command,
the whole Article 20 path of one case on the sample workspace."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.devkit.demo import STEPS, Demo, run_demo

ROOT = Path(__file__).resolve().parents[2]
OLGA = "Olga Officer (compliance, triage)"
THREAD = "#nc-triage › thread “NC-1 · "


def in_order(text: str, *parts: str) -> None:
    """Each of ``parts`` appears in ``text``, each after the one before."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing after position {at}"
        at = found + len(part)


def sections(out: str) -> dict[int, str]:
    """The transcript of each step, by its number."""
    parts = re.split(r"^▶ (\d+)/\d+ · ", out, flags=re.M)
    return {int(number): text for number, text in zip(parts[1::2], parts[2::2], strict=True)}


# step → (what people do, in order; what the bot shows, in any order)
EXPECTED: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    1: (
        (
            "An engineer reports",
            "Rita Reporter (engineer) types  /nonconformity report",
            "(Art. 79(1))?: Yes",
        ),
        ("== NC-1 · ", "[Acknowledge]", "your report is NC-1"),
    ),
    2: ((f"{OLGA} clicks [Acknowledge]",), ("State: Acknowledged",)),
    3: (
        (
            f"{OLGA} clicks [Confirm non-conformity]",
            "Does the system present a risk (Art. 79(1))?: Yes",
            "Serious incident (Art. 3(49))?: (a) serious harm to a person's health",
        ),
        (
            "Duties to the authorities for NC-1",
            "(15 days after awareness, Art. 73(2))",
            "[Investigate causes]  [Inform the market surveillance authority]  "
            "[Inform the notified body]  [Record initial report]  [Record complete report]",
            "Art. 73 report due: ",
            "[Bring into conformity]",
        ),
    ),
    4: (
        (
            f"{OLGA} clicks [Bring into conformity]",
            "┆ ⚠️ Serious incident: Art. 73(6) — do not alter the AI system",
            "I have read this warning and go on",
            "Measure owner: Omar Officer",
        ),
        ("(The Art. 73(6) warning was shown; @Olga Officer went on.)", "[Approve]"),
    ),
    5: (
        ("Anna Approver (manager) clicks [Approve]",),
        (
            "\n  #ext-acme-dist\n",
            "\n  #ext-northwind\n",
            "\n  #ext-eu-import\n",
            "== Corrective action notice — NC-1 ==",
            "Partner notices for NC-1 — 0 of 3 acknowledged",
            "👍 Approved by @Anna Approver",
        ),
    ),
    6: (
        (
            "Pat Partner (Northwind Bank, another workspace) clicks [Acknowledge receipt]",
            "✅ Receipt acknowledged by @Pat Partner",
            "Carla Contact (ACME Distribution) clicks [Ontvangst bevestigen]",
            "✅ Ontvangst bevestigd door @Carla Contact",
        ),
        ("Partner notices for NC-1 — 2 of 3 acknowledged",),
    ),
    7: (
        (
            "Arno Approver (manager) clicks [Waive a notice…]",
            "Notice: EU Import GmbH",
            "➖ EU Import GmbH (importer) — waived by @Arno Approver",
        ),
        (),
    ),
    8: (
        ("Omar Officer (compliance, triage) clicks [Done]",),
        ("🏁 Measure carried out, recorded by @Omar Officer", "[Close]"),
    ),
    9: (
        (f"{OLGA} clicks [Investigate causes]",),
        ("✅ Investigate the causes (Art. 20(2)) — by @Olga Officer",),
    ),
    10: (
        (
            f"{OLGA} clicks [Inform the market surveillance authority]",
            "┆ AI system: Credit scoring model, version 2.3",
            "┆ Corrective action taken: Bring into conformity — ",
            f"{OLGA} clicks [Inform the notified body]",
        ),
        (
            "\n  #ext-nl-ams\n",
            "== Information under Art. 20(2) — NC-1 ==",
            "✅ Inform the notified body (EU AI Certification N.V.) (Art. 20(2)) — by @Olga",
        ),
    ),
    11: (
        (f"{OLGA} clicks [Record initial report]", f"{OLGA} clicks [Record complete report]"),
        ("✅ Complete report (Art. 73(5)) — by @Olga Officer",),
    ),
    12: ((f"{OLGA} clicks [Close]",), ("State: Closed", "🔒 Closed by @Olga Officer")),
}


def test_the_demo_plays_the_whole_article_20_path_and_prints_it_as_slack_shows_it(
    tmp_path: Path,
) -> None:
    # Whatever the developer's shell holds must not matter: no tokens, no workspace file.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))}
    env["SLACK_APP_TOKEN"] = "not-an-app-token"  # invalid for `socket`, ignored by `demo`
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,  # nothing from the checkout's directory is needed
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""

    # Where things happen: channels and the case thread.
    assert "== NC-1 · " in out  # the case card's header
    assert "\n  #nc-triage\n" in out
    for channel in ("#ext-acme-dist", "#ext-northwind", "#ext-eu-import", "#ext-nl-ams"):
        assert f"\n  {channel}\n" in out, channel
    assert "#general · only visible to Rita Reporter (engineer)" in out

    # The whole path, step by step: who clicked what (in order) and what the bot said.
    steps = sections(out)
    assert sorted(steps) == list(range(1, 13)), sorted(steps)
    for number, (clicks, said) in EXPECTED.items():
        in_order(steps[number], *clicks)
        for line in said:
            assert line in steps[number], f"step {number}: {line!r} missing"
    assert "Done: NC-1 went through 12 steps" in out
    assert THREAD in out
    assert re.search(r"Slack answered all \d+ Web API calls\.\n$", out)


def test_the_demo_fails_with_one_clear_line_when_slack_refuses_a_step() -> None:
    def slack_loses_the_triage_channel(demo: Demo) -> None:
        demo.standin.inject("chat.postMessage", error="channel_not_found", times=10)

    out, err = io.StringIO(), io.StringIO()
    steps = (("Slack loses the triage channel", slack_loses_the_triage_channel), *STEPS)
    assert run_demo(out, err, steps) == 1
    assert err.getvalue().startswith("demo failed at step 2 (An engineer reports")
    assert "Slack refused chat.postMessage: channel_not_found" in err.getvalue()


def test_the_demo_fails_naming_what_did_not_appear_when_a_later_step_breaks() -> None:
    def the_authority_channel_is_gone(demo: Demo) -> None:
        demo.standin.inject("chat.postMessage", error="is_archived", times=10)

    out, err = io.StringIO(), io.StringIO()
    names = [title for title, _ in STEPS]
    at = names.index("The authority and the notified body are informed (Art. 20(2))")
    steps = (*STEPS[:at], ("Slack stops posting", the_authority_channel_is_gone), *STEPS[at:])
    assert run_demo(out, err, steps) == 1
    line = err.getvalue().splitlines()[0]
    assert line.startswith(f"demo failed at step {at + 2} (The authority and the notified body")
    assert line.endswith("Slack refused chat.postMessage: is_archived"), line
