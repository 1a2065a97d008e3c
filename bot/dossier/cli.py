"""``nonconformity-bot export``: one case's dossier, or the whole register, to a file or stdout.

Read-only (``db.read()``); needs only ``DATABASE_URL``. Bad input is a ConfigError: one line on
stderr and exit code 2, like ``audit verify``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cases.service import parse_ref
from bot.clock import utc_now
from bot.dossier import art73, register
from bot.dossier.export import DossierJSON as Dossier
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
    report: str | None = None,
    report_type: str | None = None,
) -> int:
    if all_cases == bool(case):
        raise ConfigError("export: give one case (NC-<n>) or --all for the register")
    if (report or report_type) and all_cases:
        raise ConfigError("export --report: give one case (NC-<n>), not --all")
    if report_type and not report:
        raise ConfigError("export --type: only with --report art73")
    if report_type is not None and report_type not in art73.REPORT_TYPES:
        raise ConfigError(
            f"export: the report type is {', '.join(art73.REPORT_TYPES)}, not '{report_type}'"
        )
    if language is not None and language not in LANGUAGES:
        raise ConfigError(f"export: the language is {', '.join(LANGUAGES)}, not '{language}'")
    db = Database(database_url)
    try:
        if all_cases:
            data = _register(db, fmt)
        elif report:
            data = _art73(db, case or "", fmt, language, report_type)
        else:
            data = _dossier(db, case or "", fmt, language)
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
    return render(_load(db, ref), fmt, language)


def _art73(
    db: Database, ref: str, fmt: str | None, language: str | None, kind: str | None
) -> bytes:
    fmt = fmt or "md"
    if fmt not in FORMATS:
        raise ConfigError(f"export: a report is {', '.join(FORMATS)}, not '{fmt}'")
    dossier = _load(db, ref)
    if dossier["authorities"]["art73"] is None:
        raise ConfigError(f"{ref} is not a serious incident: there is no Art. 73 report to draft")
    lang = language or str(dossier["case"]["language"])
    report_type = next(t for t in art73.REPORT_TYPES if t == kind) if kind else None
    return art73.render(art73.draft(dossier, lang, report_type), fmt)


def _load(db: Database, ref: str) -> Dossier:
    number = parse_ref(ref)
    if number is None:
        raise ConfigError(f"'{ref}' is not a case reference like NC-12")
    try:
        return load(db, number, now=utc_now())
    except UserError:
        raise ConfigError(f"there is no case {ref}") from None


def _register(db: Database, fmt: str | None) -> bytes:
    fmt = fmt or "csv"
    if fmt not in register.FORMATS:
        raise ConfigError(
            f"export --all: the register is {', '.join(register.FORMATS)}, not '{fmt}'"
        )
    return register.render(register.load(db), fmt, now=utc_now())
