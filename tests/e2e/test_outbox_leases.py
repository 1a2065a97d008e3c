"""A worker that stalls past its lease must not send what another worker has since claimed.

Claims hold a short lease; once it runs out, a sweep on another replica (or thread) claims the
same rows and sends them. The stalled worker, when it wakes, must notice that the rows it still
holds in memory are no longer its own, instead of posting each of them a second time.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from storage import outbox as outbox_rows

CHANNEL = "C0TRIAGE01"


def test_rows_whose_lease_ran_out_are_not_sent_by_the_stalled_worker(
    bot: LocalBot, clock: FakeClock
) -> None:
    outbox = bot.services.outbox
    with bot.services.db.transaction() as session:
        for n in range(3):
            outbox_rows.enqueue(
                session,
                dedupe_key=f"lease-test:{n}",
                kind="channel",
                target=CHANNEL,
                now=clock(),
                payload={"text": f"reminder {n}"},
            )
    # Worker A claims the three rows, then stalls (a slow Slack, a long GC pause, …).
    with bot.services.db.transaction() as session:
        stalled = outbox_rows.claim_due(session, now=clock(), lease=outbox.lease)
    assert len(stalled) == 3
    # Its lease runs out; worker B's sweep claims the rows and sends them.
    clock.advance(outbox.lease + timedelta(seconds=1))
    assert outbox.deliver_due() == 3
    # Worker A wakes up and goes on with the rows it claimed.
    outbox._deliver_in_order(stalled)

    posted = [
        c.args.get("text")
        for c in bot.standin.calls("chat.postMessage")
        if c.args.get("channel") == CHANNEL and str(c.args.get("text", "")).startswith("reminder")
    ]
    assert sorted(posted) == ["reminder 0", "reminder 1", "reminder 2"]
