"""The Socket Mode manifest: accepted by Slack's schema, and the same app as the HTTP one."""

from __future__ import annotations

import copy
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


def _without_request_urls(manifest: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(manifest)
    for command in out.get("features", {}).get("slash_commands", []):
        command.pop("url", None)
    for section in ("event_subscriptions", "interactivity"):
        out.get("settings", {}).get(section, {}).pop("request_url", None)
    return out


def test_slack_would_accept_the_socket_mode_manifest() -> None:
    schema = json.loads(
        shared_path("slack", "manifest-schema", "manifest.schema.1.0.0.json").read_text()
    )
    jsonschema.validate(_load("manifest.socket.yml"), schema)


def test_socket_mode_is_enabled_and_no_request_url_is_left() -> None:
    manifest = _load("manifest.socket.yml")
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in json.dumps(manifest["features"]["slash_commands"])
    assert "request_url" not in manifest["settings"]["event_subscriptions"]
    assert "request_url" not in manifest["settings"]["interactivity"]


def test_the_socket_mode_app_is_the_http_app_without_its_urls() -> None:
    http = _without_request_urls(_load("manifest.yml"))
    http["settings"]["socket_mode_enabled"] = True
    assert _load("manifest.socket.yml") == http


def test_the_socket_mode_app_offers_the_same_message_shortcut() -> None:
    shortcuts = _load("manifest.socket.yml")["features"]["shortcuts"]
    assert [(s["name"], s["type"], s["callback_id"]) for s in shortcuts] == [
        ("Report as non-conformity", "message", "report_message")
    ]
