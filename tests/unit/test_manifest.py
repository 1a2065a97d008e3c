"""``manifest.yml`` is an app Slack would accept, with the command, scopes and event the bot
uses (a missing scope shows up only in production, as ``missing_scope``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import shared_path

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
NEEDED_SCOPES = {
    "chat:write",  # case card, thread steps
    "commands",  # /nonconformity
    "im:write",  # conversations.open for DMs
    "channels:history",  # conversations.history with metadata (outbox recovery)
    "groups:history",  # the same in a private triage channel
    "users:read",
    "usergroups:read",
    "files:write",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def test_the_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(
        shared_path("slack", "manifest-schema", "manifest.schema.1.0.0.json").read_text()
    )
    assert manifest["_metadata"]["major_version"] == 1
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path)
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_schema_check_catches_a_broken_manifest(manifest: dict[str, Any]) -> None:
    """The check above is not vacuous: a manifest Slack would refuse fails it."""
    schema = json.loads(
        shared_path("slack", "manifest-schema", "manifest.schema.1.0.0.json").read_text()
    )
    broken = {**manifest, "display_information": {"name": ""}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_the_manifest_declares_the_slash_command(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/nonconformity"]
    assert commands[0]["url"].endswith("/slack/events")


def test_the_manifest_asks_for_every_scope_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert sorted(NEEDED_SCOPES - scopes) == []


def test_the_manifest_subscribes_to_app_home_opened_over_http(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings.get("socket_mode_enabled") is False  # else Slack ignores the request URLs


def test_the_manifest_declares_the_report_message_shortcut(manifest: dict[str, Any]) -> None:
    """Issue 19: "Report as non-conformity" on any message; its callback id is the listener's."""
    from bot.views import ids

    assert manifest["features"]["shortcuts"] == [
        {
            "name": "Report as non-conformity",
            "type": "message",
            "callback_id": ids.REPORT_MESSAGE,
            "description": "Report this message as a suspected non-conformity (AI Act Art. 20)",
        }
    ]
