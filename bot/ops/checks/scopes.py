"""The bot scopes ``manifest.yml`` asks for: what the token must hold."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml


def manifest_path() -> Path | None:
    """The wheel ships it as ``bot/resources/manifest.yml``; a checkout has it at the root."""
    packaged = Path(str(resources.files("bot").joinpath("resources/manifest.yml")))
    checkout = Path(__file__).resolve().parents[3] / "manifest.yml"
    return next((p for p in (packaged, checkout) if p.is_file()), None)


def manifest_scopes(path: Path | None = None) -> tuple[str, ...]:
    path = path or manifest_path()
    if path is None:
        return ()
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    scopes = ((data.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return tuple(str(s) for s in scopes)
