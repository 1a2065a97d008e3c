"""The org-wide manifests (issues 21, 22): accepted by Slack's schema, and the same app as the
HTTP one (static token, or OAuth) with ``org_deploy_enabled: true``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", ["manifest.org.yml", "manifest.org.oauth.yml"])
def test_slack_would_accept_the_org_wide_manifest(name: str) -> None:
    schema = json.loads(
        shared_path("slack", "manifest-schema", "manifest.schema.1.0.0.json").read_text()
    )
    jsonschema.validate(_load(name), schema)


@pytest.mark.parametrize(
    ("org", "http_name"),
    [("manifest.org.yml", "manifest.yml"), ("manifest.org.oauth.yml", "manifest.oauth.yml")],
)
def test_the_org_wide_app_is_the_http_app_deployable_to_the_organisation(
    org: str, http_name: str
) -> None:
    http = _load(http_name)
    assert http["settings"]["org_deploy_enabled"] is False
    http["settings"]["org_deploy_enabled"] = True
    assert _load(org) == http
