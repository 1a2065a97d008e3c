"""What a case costs against Slack's rate limits (issue 23): the Web API calls the demo's case
makes, by method and tier, per step and per person.

Plays ``nonconformity-bot demo`` in process (the real bot over HTTP on the Slack stand-in, one
case through all twelve steps of Article 20's path) ``--rounds`` times and reads every call the
stand-in received. Reported per round: calls by method with Slack's tier
(``bot/delivery/tiers.py``), the total against the baseline measured when issue 23 started,
and the most ``views.publish`` one person received within one step (the target is one).
Timing decides how many refreshes coalesce, so the rounds differ a little; the median counts.

    .venv/bin/python bench/calls.py              # 3 rounds
    .venv/bin/python bench/calls.py --rounds 5
    .venv/bin/python bench/calls.py --homes-open # everyone involved has their App Home open

A Home is refreshed on a change only if its person opened it in the last 12 hours (opening it
publishes it fresh): the demo's people never open theirs, so ``--homes-open`` has each of the
five open it before the case starts, the most a case can cost in ``views.publish``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections import Counter

from bot.delivery.tiers import tier
from bot.devkit.demo import (
    APPROVER,
    APPROVER2,
    OFFICER,
    OFFICER2,
    REPORTER,
    STEPS,
    Demo,
    Step,
    run_demo,
)
from bot.devkit.standin import Call, SlackStandIn

# Measured with this script's method at the start of issue 23 (commit 53111d4), 3 rounds:
# 116, 122 and 116 calls; views.publish 51-56, chat.update 38-39.
BASELINE = 116
TARGET = 0.6


def play(homes_open: bool = False) -> tuple[list[Call], list[float]]:
    """One demo run: every call the stand-in received, and when each step began."""
    standins: list[SlackStandIn] = []
    starts: list[float] = []

    def marked(step: Step) -> Step:
        def run(demo: Demo) -> None:
            if not standins:
                standins.append(demo.standin)
                for user in (REPORTER, OFFICER, OFFICER2, APPROVER, APPROVER2) * homes_open:
                    demo.bot.driver.app_home_opened(user)
            starts.append(time.time())
            step(demo)

        return run

    out, err = io.StringIO(), io.StringIO()
    if run_demo(out, err, tuple((title, marked(step)) for title, step in STEPS)) != 0:
        raise SystemExit(f"the demo failed:\n{err.getvalue()}")
    return standins[0].calls(), starts


def publishes_per_person_and_step(calls: list[Call], starts: list[float]) -> Counter[object]:
    found: Counter[object] = Counter()
    for call in calls:
        if call.method == "views.publish":
            step = sum(1 for start in starts if start <= call.at)
            found[(step, call.args.get("user_id"))] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--homes-open", action="store_true", help="the five people look")
    args = parser.parse_args()
    totals: list[int] = []
    by_method: list[Counter[str]] = []
    worst: list[int] = []
    for _ in range(args.rounds):
        calls, starts = play(args.homes_open)
        totals.append(len(calls))
        by_method.append(Counter(call.method for call in calls))
        worst.append(max(publishes_per_person_and_step(calls, starts).values(), default=0))
    methods = sorted({m for counts in by_method for m in counts}, key=lambda m: -by_method[0][m])
    homes = ", every involved person's App Home open" if args.homes_open else ""
    print(f"Web API calls of the demo's case, {args.rounds} rounds ({len(STEPS)} steps{homes})")
    print(f"{'method':<24}{'tier':<9}" + "".join(f"{f'#{i + 1}':>6}" for i in range(args.rounds)))
    for method in methods:
        row = "".join(f"{counts[method]:>6}" for counts in by_method)
        print(f"{method:<24}{tier(method):<9}{row}")
    print(f"{'total':<33}" + "".join(f"{total:>6}" for total in totals))
    median = statistics.median(totals)
    share = median / BASELINE
    print(
        f"median {median:.0f} calls per case = {share:.0%} of the baseline {BASELINE} "
        f"(target at most {TARGET:.0%}: {'met' if share <= TARGET else 'NOT met'})"
    )
    print(f"most views.publish to one person in one step: {max(worst)} (target 1)")


if __name__ == "__main__":
    main()
