"""The OAuth manifest (issue 22): accepted by Slack's schema, rotating tokens, the redirect URL
Bolt serves, the uninstall events, and otherwise the same app as ``manifest.yml``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.app import REDIRECT_PATH
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return data


def test_slack_would_accept_the_oauth_manifest() -> None:
    schema = json.loads(
        shared_path("slack", "manifest-schema", "manifest.schema.1.0.0.json").read_text()
    )
    jsonschema.validate(_load("manifest.oauth.yml"), schema)


def test_tokens_rotate_and_slack_says_when_the_app_is_gone() -> None:
    manifest = _load("manifest.oauth.yml")
    assert manifest["settings"]["token_rotation_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is False
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
    [redirect] = manifest["oauth_config"]["redirect_urls"]
    assert redirect.endswith(REDIRECT_PATH)


def test_the_oauth_app_is_the_http_app_with_its_install_settings() -> None:
    http = copy.deepcopy(_load("manifest.yml"))
    oauth = _load("manifest.oauth.yml")
    http["oauth_config"] = {
        "redirect_urls": oauth["oauth_config"]["redirect_urls"],
        **http["oauth_config"],
    }
    http["settings"]["event_subscriptions"]["bot_events"] += ["app_uninstalled", "tokens_revoked"]
    http["settings"]["token_rotation_enabled"] = True
    assert oauth == http
