"""The org-wide manifest (issue 21): accepted by Slack's schema, and the same app as the HTTP one
with ``org_deploy_enabled: true``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return data


def test_slack_would_accept_the_org_wide_manifest() -> None:
    schema = json.loads(
        shared_path("slack", "manifest-schema", "manifest.schema.1.0.0.json").read_text()
    )
    jsonschema.validate(_load("manifest.org.yml"), schema)


def test_the_org_wide_app_is_the_http_app_deployable_to_the_organisation() -> None:
    http = _load("manifest.yml")
    assert http["settings"]["org_deploy_enabled"] is False
    http["settings"]["org_deploy_enabled"] = True
    assert _load("manifest.org.yml") == http
