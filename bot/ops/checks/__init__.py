"""What ``doctor`` and ``serve`` check before a real case arrives, one result per line.

Each check returns ``Result``s and never raises for a problem it was written to find: a bad
setting, an old schema, a missing scope or a channel the bot was never invited to is a line
with ✗ and the fix, so that one run shows everything that is wrong at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    ok: bool
    subject: str
    detail: str
    fix: str = ""
    warning: bool = False  # passes (the exit code stays 0), but says what to look at

    def line(self) -> str:
        mark = "⚠" if self.warning else "✓" if self.ok else "✗"
        text = f"{mark} {self.subject}: {self.detail}"
        return f"{text} — fix: {self.fix}" if (not self.ok or self.warning) and self.fix else text


def passed(subject: str, detail: str) -> Result:
    return Result(True, subject, detail)


def failed(subject: str, detail: str, fix: str) -> Result:
    return Result(False, subject, detail, fix)


def warned(subject: str, detail: str, fix: str) -> Result:
    return Result(True, subject, detail, fix, warning=True)
