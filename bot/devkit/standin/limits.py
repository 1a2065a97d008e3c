"""Slack's rate limits, enforced by the stand-in when asked (``SlackStandIn.set_limits``).

Per workspace (one stand-in is one workspace), each Web API method has its tier's allowance a
minute (``bot/delivery/tiers.py``: Tier 1 about 1, Tier 2 about 20, Tier 3 about 50, Tier 4
about 100), kept as a token bucket that holds one minute's allowance, so a short burst passes
and a sustained rate above the tier is answered 429. ``chat.postMessage`` is limited per
channel instead: about one a second, with a burst of a few. A refused call gets ``Retry-After``:
the seconds until the bucket holds a call again.

``scale`` speeds Slack's clock up for tests: with ``scale=60`` a minute's allowance refills in
one second, and ``Retry-After`` is the real wait (a decimal, which Slack never sends but our
client reads), so a suite runs with the limits on and stays fast. Benchmarks use
``scale=1``: Slack's real rates and whole seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.delivery.tiers import PER_MINUTE, SPECIAL, tier

POST_PER_SECOND = 1.0  # chat.postMessage per channel
POST_BURST = 3.0  # "short bursts": a few posts at once before the 1/s applies


@dataclass
class Bucket:
    capacity: float
    per_second: float
    tokens: float
    at: float

    def take(self, now: float) -> float | None:
        """None when a call may go ahead (and takes it); else the seconds until it may."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.per_second


class SlackLimits:
    def __init__(self, scale: float = 1.0, now: Callable[[], float] = time.monotonic) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self.refused: dict[str, int] = {}  # method -> 429s answered

    def check(self, method: str, channel: str | None) -> str | None:
        """None when the call is within the limits; else the ``Retry-After`` to answer."""
        if method == "chat.postMessage":
            if channel is None:
                return None
            key, capacity, per_second = f"{method} {channel}", POST_BURST, POST_PER_SECOND
        else:
            level = tier(method)
            if level == SPECIAL:
                return None
            per_minute = PER_MINUTE[level]
            key, capacity, per_second = method, float(per_minute), per_minute / 60.0
        with self._lock:
            now = self._now()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = Bucket(capacity, per_second * self.scale, capacity, now)
                self._buckets[key] = bucket
            wait = bucket.take(now)
            if wait is None:
                return None
            self.refused[method] = self.refused.get(method, 0) + 1
        if self.scale == 1.0:
            return str(max(1, math.ceil(wait)))
        return f"{max(wait, 0.01):.2f}"
