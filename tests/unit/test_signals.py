"""One signal handler for every way the bot runs (``serve``, ``socket``, ``sandbox``): SIGTERM
from a container stop and SIGINT from Ctrl-C both end the wait, and whatever handled the signal
before is back afterwards. Real signals, sent to this process (pytest runs tests in the main
thread, where Python delivers them)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from bot.ops.lifecycle import wait_for_signal


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_either_signal_ends_the_wait_and_the_earlier_handler_is_back(
    signum: signal.Signals,
) -> None:
    before = signal.getsignal(signum)
    sender = threading.Timer(0.2, os.kill, (os.getpid(), signum))
    sender.start()
    try:
        wait_for_signal()  # without the handler, SIGTERM would end pytest, SIGINT interrupt it
    finally:
        sender.cancel()
    assert signal.getsignal(signum) is before
