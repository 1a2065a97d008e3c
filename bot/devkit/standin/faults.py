"""Injected failures and Slack's per-channel posting rate limit.

Slack fails in ways a happy-path fake never shows: 429 with Retry-After, 5xx, slow answers
that time the client out, and the worst one, a request Slack processed whose reply was lost
(``after_success``). Tests inject these to prove the bot neither loses nor duplicates work.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    method: str
    channel: str | None = None
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1
    after_success: bool = False

    @property
    def fails(self) -> bool:
        """Whether the fault replaces the answer (else it only delays it)."""
        return self.status != 200 or self.error is not None or self.retry_after is not None

    def response(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        """HTTP status, extra headers and body of the failed answer."""
        headers: dict[str, str] = {}
        if self.status == 429 or self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after if self.retry_after is not None else 1)
            return 429, headers, {"ok": False, "error": self.error or "ratelimited"}
        if self.status >= 500:
            return self.status, headers, {"ok": False, "error": self.error or "internal_error"}
        return self.status, headers, {"ok": False, "error": self.error or "fatal_error"}


def call_channel(args: dict[str, Any]) -> str | None:
    """The channel a call is about, for channel-scoped faults and rate limits."""
    for key in ("channel", "channel_id"):
        value = args.get(key)
        if isinstance(value, str):
            return value
    return None


class FaultTable:
    """Pending faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, args: dict[str, Any]) -> Fault | None:
        channel = call_channel(args)
        with self._lock:
            for fault in self._faults:
                if fault.method != method:
                    continue
                if fault.channel is not None and fault.channel != channel:
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)


class RateLimiter:
    """chat.postMessage per channel: at most one accepted post every ``1/rate`` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.per_channel_per_second: float | None = None
        self._last: dict[str, float] = {}

    def set(self, per_channel_per_second: float | None) -> None:
        if per_channel_per_second is not None and per_channel_per_second <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self.per_channel_per_second = per_channel_per_second
            self._last.clear()

    def acquire(self, channel: str) -> int | None:
        """None when the post may go ahead (and counts it); else the Retry-After seconds."""
        with self._lock:
            if self.per_channel_per_second is None:
                return None
            interval = 1.0 / self.per_channel_per_second
            now = time.monotonic()
            last = self._last.get(channel)
            if last is not None and now - last < interval:
                return max(1, math.ceil(interval - (now - last)))
            self._last[channel] = now
            return None


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode("utf-8")
