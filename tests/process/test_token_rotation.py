"""Two ``serve`` processes on one database with a rotating token (issue 22): across the token's
expiry, exactly one of them refreshes it (Slack revokes a refresh token once used, so a second
refresh would fail and leave a replica without a token), and no call fails meanwhile: calls
made after the first token expired carry its successor."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import load_workspace, sample_path
from tests.conftest import drop_postgres, postgres_url
from tests.scenarios import GENERAL, REPORTER, ServeProcess, install_with_oauth, wait_for

pytestmark = pytest.mark.postgres

TTL = 20.0  # seconds a token lives on the stand-in: refreshed a quarter of that before expiry


def test_two_replicas_refresh_once_and_no_call_fails_across_the_expiry(tmp_path: Path) -> None:
    database_url = postgres_url()
    replicas: list[ServeProcess] = []
    try:
        with SlackStandIn(token_rotation=True, token_ttl=TTL) as standin:
            seed(standin, load_workspace(sample_path()))
            env = {
                "SLACK_CLIENT_ID": standin.oauth.client_id,
                "SLACK_CLIENT_SECRET": standin.oauth.client_secret,
                "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "SLACK_INSTALL_TEAMS": standin.team_id,
            }
            replicas = [
                ServeProcess(
                    standin,
                    database_url=database_url,
                    config=sample_path(),
                    log=tmp_path / f"r{i}.log",
                    env=env,
                )
                for i in (1, 2)
            ]
            try:
                replicas[0].start()  # migrates the fresh database
                replicas[1].start()
                standin.oauth.redirect_uri = replicas[0].base_url + "/slack/oauth_redirect"
                status, page = install_with_oauth(SimpleNamespace(base_url=replicas[0].base_url))
                assert status == 200, page
                [first] = standin.oauth.tokens()
                expiry = standin.oauth.grants[first].expires_at
                assert expiry is not None

                n = 0
                while time.time() < expiry + 3.0:  # across the expiry, both replicas busy
                    before = len(standin.calls("views.open"))
                    answer = replicas[n % 2].driver.command(
                        "/nonconformity", "report", user=REPORTER, channel=GENERAL
                    )
                    assert answer.status == 200, answer.body
                    wait_for(
                        lambda b=before: len(standin.calls("views.open")) > b,
                        timeout=30,
                        what="views.open",
                    )
                    n += 1
                    time.sleep(0.3)
            finally:
                for replica in replicas:
                    replica.kill()
            calls = standin.calls("views.open")
            assert [c.response.get("error") for c in calls if not c.response.get("ok")] == []
            assert len(standin.oauth.refreshes) == 1
            assert standin.oauth.refused_refreshes == 0
            tokens = standin.oauth.tokens()
            assert len(tokens) == 2
            after = [c for c in calls if c.at > expiry]
            assert after, "calls were made after the first token expired"
            assert {c.headers["authorization"] for c in after} == {f"Bearer {tokens[1]}"}
            logs = [(tmp_path / f"r{i}.log").read_text(encoding="utf-8") for i in (1, 2)]
            assert all("Traceback" not in log for log in logs), logs
            assert sum(log.count("bot token refreshed") for log in logs) == 1, logs
    finally:
        drop_postgres(database_url)
