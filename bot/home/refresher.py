"""Refresh each person's App Home once for the latest state, whatever the number of changes.

A step changes a case several times in a second (the card, a panel, the permalink, a notice's
receipt), and each change used to publish every involved person's Home: five ``views.publish``
per step. Slack counts ``views.publish`` per workspace (Tier 4), so twenty cases moving in one
minute passed the limit. Here a request only marks the person: after a short quiet period one
publish reads the state as it is then. A request that comes while that person's publish runs
is kept for one more publish afterwards (the state it saw may be older than the change).

A 429 is never a reason to drop a refresh: the person stays marked and the whole method waits
``Retry-After`` (Slack's limit is per method and workspace, so every person's refresh waits),
while other methods go on; nothing sleeps in the thread that asked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.delivery.slack_api import classify

log = logging.getLogger("ncbot.home")

DEBOUNCE_SECONDS = 0.15  # changes of one step arrive within this; a click still feels immediate
SPACING_SECONDS = 0.5  # one person's Home at most twice a second: a burst becomes one publish


class Refresher:
    """Coalesce and debounce ``work(user)``; retry it after ``Retry-After`` on a 429."""

    def __init__(
        self,
        work: Callable[[str], None],
        *,
        debounce: float = DEBOUNCE_SECONDS,
        spacing: float = SPACING_SECONDS,
        workers: int = 2,
    ) -> None:
        self._work = work
        self._debounce = debounce
        self._spacing = spacing
        self._last: dict[str, float] = {}  # user -> when their last publish started
        self._due: dict[str, float] = {}  # user -> monotonic time of their next publish
        self._running: set[str] = set()
        self._again: set[str] = set()  # asked for while running: once more afterwards
        self._hold_until = 0.0  # a 429 for the method: nobody's publish before this
        self._cond = threading.Condition()
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="home")
        self._thread = threading.Thread(target=self._loop, name="home-refresher", daemon=True)
        self._thread.start()

    def request(self, user: str) -> None:
        """Publish ``user``'s Home soon, reading the state as it is then."""
        with self._cond:
            if user in self._running:
                self._again.add(user)
            elif user not in self._due:  # an earlier request still waits: it will read this
                self._due[user] = self._next(user, time.monotonic())
                self._cond.notify()

    def idle(self) -> bool:
        """Nothing waits and nothing runs (the demo and tests wait for this)."""
        with self._cond:
            return not self._due and not self._running and not self._again

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._due.clear()
            self._cond.notify()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                ready = [u for u, at in self._due.items() if at <= now and now >= self._hold_until]
                for user in ready:
                    del self._due[user]
                    self._running.add(user)
                    self._last[user] = now
                    self._pool.submit(self._run, user)
                later = [max(at, self._hold_until) for at in self._due.values()]
                self._cond.wait(timeout=(min(later) - now) if later else None)

    def _run(self, user: str) -> None:
        retry_after: float | None = None
        try:
            if self._stopped:
                return  # shutting down: nothing more is published
            self._work(user)
        except Exception as exc:
            if self._stopped:
                return  # the server went away under a publish that was already running
            failure = classify(exc)
            if failure.kind == "rate_limited":
                retry_after = max(failure.retry_after, 1.0)
                log.info("App Home refresh rate limited", extra={"user": user})
            else:
                log.warning("App Home refresh failed", extra={"user": user, "error": str(exc)})
        with self._cond:
            self._running.discard(user)
            now = time.monotonic()
            if retry_after is not None:
                self._hold_until = max(self._hold_until, now + retry_after)
                self._due[user] = min(self._due.get(user, self._hold_until), self._hold_until)
            if user in self._again:
                self._again.discard(user)
                self._due.setdefault(user, self._next(user, now))
            self._cond.notify()

    def _next(self, user: str, now: float) -> float:
        return max(now + self._debounce, self._last.get(user, 0.0) + self._spacing)
