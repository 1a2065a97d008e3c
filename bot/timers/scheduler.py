"""APScheduler is only the clock: every ``sweep_interval`` it asks the database what is due.

What is due lives in our tables (with leases), never in APScheduler's job store, so several
replicas and restarts neither lose nor double anything.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.delivery.slack_api import TokenUnavailable
from bot.ops import metrics
from bot.services import Services

log = logging.getLogger("ncbot.scheduler")


def sweep(services: Services, stopping: threading.Event | None = None) -> None:
    """One pass: fire every timer that is due (each overdue level once, in order), make the
    signed audit checkpoint if one is due (a case closed since the last, or a day passed), then
    deliver every message that is due. Loops until nothing due is left, so a late tick catches up.

    ``stopping`` (SIGTERM) ends the pass after the batch in hand: every claimed row is finished,
    and what is left stays due in the database for the next replica or the restart."""
    if services.installs is not None:
        # A rotating token due for refresh is refreshed here too (under the lease), so an idle
        # bot's token does not run out between calls. Not installed, or uninstalled: every
        # call says so itself.
        with contextlib.suppress(TokenUnavailable):
            services.installs.tokens.refresh_due()
    while services.timers.fire_due(limit=100):
        if stopping is not None and stopping.is_set():
            return
    try:
        services.anchoring.make_due()
    except Exception:  # a checkpoint that failed is made by the next pass; deliveries go on
        log.exception("audit checkpoint failed")
    while services.outbox.deliver_due(limit=100) == 100:
        if stopping is not None and stopping.is_set():
            return


def start_scheduler(
    services: Services,
    job: Callable[[Services], None] | None = None,
    *,
    stopping: threading.Event | None = None,
) -> BackgroundScheduler:
    """Sweep every ``sweep_interval``. Set ``stopping`` before ``shutdown(wait=True)`` so that
    the sweep in progress ends after its current batch instead of draining a whole backlog."""
    scheduler = BackgroundScheduler(timezone="UTC")
    interval = services.workspace.escalation.sweep_interval.total_seconds()

    def run() -> None:
        if stopping is not None and stopping.is_set():
            return
        started = time.perf_counter()
        try:
            if job is None:
                sweep(services, stopping)
            else:
                job(services)
        except Exception:
            log.exception("sweep failed")
        finally:
            metrics.SWEEP_SECONDS.observe(time.perf_counter() - started)
            metrics.SWEEPS.inc()

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
