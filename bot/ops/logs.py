"""Logging setup: readable lines by default, JSON lines with ``LOG_FORMAT=json``.

Every line carries the request id and case id of the work it belongs to (from
``bot.request_context``), so one case or one Slack request can be followed across threads and
replicas. What must never reach a log: tokens, signing secrets and what people typed into a
case. Our own log calls pass ids only; the libraries that dump whole request and response
bodies at DEBUG (slack_sdk, slack_bolt) are held at INFO or above whatever ``LOG_LEVEL`` says;
and as a last guard every formatted line has Slack tokens and the configured secrets masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from bot.ops.request_context import log_fields

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_TOKEN = re.compile(r"\b(?:xox[abeopr]|xapp)-[A-Za-z0-9-]+")
REDACTED = "[redacted]"

QUIET_LIBRARIES = {
    # They log request/response bodies (typed case text) or payloads at DEBUG.
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.WARNING,
    "websocket": logging.INFO,
    "urllib3": logging.INFO,
    "apscheduler": logging.WARNING,
    "alembic": logging.WARNING,  # it announces every plugin at INFO
    "sqlalchemy": logging.WARNING,  # bound parameters at INFO with echo
    "fontTools": logging.WARNING,  # a PDF export's font subsetting says ~75 lines at INFO
    "fpdf": logging.ERROR,  # a glyph the font lacks is drawn as a box, not worth a warning
}

_secrets: set[str] = set()


def redact_values(*values: str | None) -> None:
    """Mask these exact strings (the signing secret, tokens of any shape) in every line."""
    _secrets.update(v for v in values if v and len(v) >= 6)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _TOKEN.sub(REDACTED, text)


class LibraryFloor(logging.Filter):
    """Drops library records under their floor. Setting logger levels is not enough: Bolt
    copies the root level onto the loggers it creates, so at DEBUG it would log bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        for library, floor in QUIET_LIBRARIES.items():
            if name == library or name.startswith(library + "."):
                return record.levelno >= max(floor, logging.getLogger().level)
        return True


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``case_id`` from the current context where a line has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_fields().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD)
        return redact(f"{base} {extras}" if extras else base)


def configure(fmt: str = "text", level: int | str = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(LibraryFloor())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name, floor in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
