"""Stopping cleanly on SIGTERM: what a container stop, a rolling deploy or Ctrl-C sends.

The signal handler only sets an event; the main thread then runs the shutdown steps in order,
each given what is left of one overall deadline (``SHUTDOWN_TIMEOUT``), so the process exits
within a bounded time even when Slack hangs. Nothing is lost if a step runs out of time: every
message owed is a row in the outbox, and a claim not finished expires for the next replica.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("ncbot.lifecycle")

Step = tuple[str, Callable[[float], bool]]
"""A name for the log and a function given the seconds left, returning whether it finished."""


class Signals:
    """SIGTERM and SIGINT set ``received``; install from the main thread."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self._previous: dict[int, object] = {}

    def install(self) -> Signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.received.is_set():
            log.info("stopping", extra={"signal": signal.Signals(signum).name})
        self.received.set()

    def wait(self, alive: Callable[[], bool] = lambda: True) -> None:
        """Until a signal arrives, or ``alive`` says the server died on its own."""
        while not self.received.wait(0.5):
            if not alive():
                log.error("the server stopped on its own")
                return

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def wait_for_signal() -> None:
    """Block the main thread until SIGTERM or SIGINT, then put the earlier handlers back.

    For a caller whose shutdown is quick and needs no shield; ``serve`` keeps ``Signals``
    installed through its bounded shutdown instead, so a second signal cannot cut it short.
    """
    signals = Signals().install()
    try:
        signals.wait()
    finally:
        signals.restore()


def shut_down(steps: list[Step], timeout: float) -> bool:
    """Run ``steps`` in order within ``timeout`` seconds overall; True if all finished."""
    deadline = time.monotonic() + timeout
    finished = True
    for name, step in steps:
        left = max(deadline - time.monotonic(), 0.1)
        started = time.monotonic()
        try:
            done = step(left)
        except Exception:
            log.exception("shutdown step failed", extra={"step": name})
            done = False
        if not done:
            finished = False
            log.warning("shutdown step did not finish in time", extra={"step": name})
        else:
            log.info(
                "shutdown step done",
                extra={"step": name, "ms": round((time.monotonic() - started) * 1000)},
            )
    return finished


def in_thread(work: Callable[[], object]) -> Callable[[float], bool]:
    """A blocking call made into a step: run it in a thread and wait at most the time left."""

    def step(timeout: float) -> bool:
        worker = threading.Thread(target=work, name="shutdown", daemon=True)
        worker.start()
        worker.join(timeout)
        return not worker.is_alive()

    return step


def at_once(work: Callable[[], object]) -> Callable[[float], bool]:
    """A step that does not wait."""

    def step(_timeout: float) -> bool:
        work()
        return True

    return step
