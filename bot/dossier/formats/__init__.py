"""Renderings of a dossier: JSON (the schema), Markdown and PDF (both from one ``Document``).

``render`` is the single entry point for the CLI and the Slack export, so a new format is one
module and one line here.
"""

from __future__ import annotations

import json
from typing import Final

from bot.dossier.export import DossierJSON as Dossier
from bot.dossier.formats.document import document
from bot.dossier.formats.markdown import to_markdown

FORMATS: Final = ("md", "json", "pdf")
MEDIA_TYPES: Final = {"md": "text/markdown", "json": "application/json", "pdf": "application/pdf"}


def render(dossier: Dossier, fmt: str, lang: str | None = None) -> bytes:
    """``lang``: any catalogue language; by default the case's (the workspace's at reporting)."""
    if fmt == "json":
        return _json(dossier)
    doc = document(dossier, lang or str(dossier["case"].get("language") or "en"))
    if fmt == "md":
        return to_markdown(doc).encode()
    if fmt == "pdf":
        from bot.dossier.formats.pdf import to_pdf  # the PDF library loads only when asked for

        return to_pdf(doc, (filename(dossier, "json"), _json(dossier)))
    raise ValueError(f"unknown dossier format {fmt!r} (use {', '.join(FORMATS)})")


def _json(dossier: Dossier) -> bytes:
    return (json.dumps(dossier, indent=2, ensure_ascii=False) + "\n").encode()


def filename(dossier: Dossier, fmt: str) -> str:
    return f"{dossier['case']['ref']}-dossier.{fmt}"
