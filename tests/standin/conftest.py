"""Fixtures for the stand-in's own tests: a started stand-in and a WebClient on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed in the venv
    sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bot.devkit.standin import SlackStandIn  # noqa: E402


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(trigger_ttl=0.5)
    s.add_user("U0REPORTR1", name="reporter", real_name="Rita Reporter")
    s.add_user("U0OFFICER1", name="officer", real_name="Olaf Officer")
    s.add_user("U0EXTERNL1", name="partner", team_id="T0PARTNER1", real_name="Pat Partner")
    s.add_channel("C0TRIAGE01", name="nc-triage", members=["U0REPORTR1", "U0OFFICER1"])
    s.add_channel("C0GENERAL1", name="general", members=["U0REPORTR1"])
    s.add_channel("C0NOTBOT01", name="elsewhere", bot_is_member=False)
    s.add_channel("C0ARCHIVE1", name="old", is_archived=True)
    with s:
        yield s


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-standin", base_url=standin.api_url, timeout=30)
