"""APScheduler is only the clock: every ``sweep_interval`` it asks the database what is due.

What is due lives in our tables (with leases), never in APScheduler's job store, so several
replicas and restarts neither lose nor double anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services

log = logging.getLogger("ncbot.scheduler")


def sweep(services: Services) -> None:
    """One pass: fire every timer that is due (each overdue level once, in order), then deliver
    every message that is due. Loops until nothing due is left, so a late tick catches up."""
    while services.timers.fire_due(limit=100):
        pass
    while services.outbox.deliver_due(limit=100) == 100:
        pass


def start_scheduler(
    services: Services, job: Callable[[Services], None] = sweep
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    interval = services.workspace.escalation.sweep_interval.total_seconds()

    def run() -> None:
        try:
            job(services)
        except Exception:
            log.exception("sweep failed")

    scheduler.add_job(
        run,
        "interval",
        seconds=max(interval, 1),
        id="sweep",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # what fell due while we were down goes out now
    )
    scheduler.start()
    return scheduler
