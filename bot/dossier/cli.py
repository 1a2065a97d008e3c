"""``nonconformity-bot export``: one case's dossier, or the whole register, to a file or stdout.

Read-only (``db.read()``); needs only ``DATABASE_URL``. Bad input is a ConfigError: one line on
stderr and exit code 2, like ``audit verify``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cases.service import parse_ref
from bot.clock import utc_now
from bot.dossier import register
from bot.dossier.formats import FORMATS, render
from bot.dossier.service import load
from bot.errors import ConfigError, UserError
from bot.messages import LANGUAGES
from storage.db import Database


def run_export(
    database_url: str,
    case: str | None,
    all_cases: bool,
    fmt: str | None,
    output: str | None,
    *,
    language: str | None = None,
) -> int:
    if all_cases == bool(case):
        raise ConfigError("export: give one case (NC-<n>) or --all for the register")
    if language is not None and language not in LANGUAGES:
        raise ConfigError(f"export: the language is {', '.join(LANGUAGES)}, not '{language}'")
    db = Database(database_url)
    try:
        data = _register(db, fmt) if all_cases else _dossier(db, case or "", fmt, language)
    finally:
        db.dispose()
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def _dossier(db: Database, ref: str, fmt: str | None, language: str | None) -> bytes:
    fmt = fmt or "md"
    if fmt not in FORMATS:
        raise ConfigError(f"export: a dossier is {', '.join(FORMATS)}, not '{fmt}'")
    number = parse_ref(ref)
    if number is None:
        raise ConfigError(f"'{ref}' is not a case reference like NC-12")
    try:
        dossier = load(db, number, now=utc_now())
    except UserError:
        raise ConfigError(f"there is no case {ref}") from None
    return render(dossier, fmt, language)


def _register(db: Database, fmt: str | None) -> bytes:
    fmt = fmt or "csv"
    if fmt not in register.FORMATS:
        raise ConfigError(
            f"export --all: the register is {', '.join(register.FORMATS)}, not '{fmt}'"
        )
    return register.render(register.load(db), fmt, now=utc_now())
