"""OAuth installations in our database (issue 22): tokens encrypted at rest, an install link's
state used once, and a rotating token refreshed once however many replicas ask at once (Slack
revokes a refresh token once it is used)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text

from bot.clock import FakeClock
from bot.delivery.slack_api import TokenUnavailable
from bot.devkit.standin import SlackStandIn
from bot.ops.identity import InstallTeams
from bot.ops.installs import (
    EncryptedInstallationStore,
    InstalledTokens,
    OAuthApp,
    OAuthStates,
    TokenCipher,
)
from bot.ops.metrics import REGISTRY
from storage.db import Database
from storage.migrate import upgrade

# SLACK_INSTALL_TEAMS: the stand-in's workspaces, and T1 of the test that saves by hand
ALLOWED = InstallTeams(frozenset({"T0TEAM0001", "T0TEAMBBB1", "T1"}))
TTL = 3600  # the stand-in's token life (real time); the bot side runs on the fake clock


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token_rotation=True, token_ttl=TTL) as running:
        running.oauth.redirect_uri = "http://127.0.0.1:1/slack/oauth_redirect"
        yield running


def installed(
    standin: SlackStandIn,
    store: EncryptedInstallationStore,
    clock: FakeClock,
    team: str | None = None,
) -> str:
    """Exchange a code as Bolt's redirect handler does, and save what Slack gave (``team``:
    the workspace approving, when there are several)."""
    query = {"client_id": standin.oauth.client_id, "state": "s", **({"team": team} if team else {})}
    status, where = standin.oauth.authorize(query)
    assert status == 302
    code = where.split("code=")[1].split("&")[0]
    answer = WebClient(base_url=standin.api_url).oauth_v2_access(
        client_id=standin.oauth.client_id, client_secret=standin.oauth.client_secret, code=code
    )
    now = clock().timestamp()
    store.save(
        Installation(
            app_id=answer["app_id"],
            enterprise_id=None,
            team_id=answer["team"]["id"],
            bot_token=answer["access_token"],
            bot_refresh_token=answer["refresh_token"],
            bot_token_expires_at=int(now + TTL),
            bot_id="B0BOT00001",
            bot_user_id=answer["bot_user_id"],
            user_id=answer["authed_user"]["id"],
            installed_at=now,
        )
    )
    return str(answer["access_token"])


def refresh_count(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("ncbot_slack_token_refreshes_total", {"outcome": outcome}) or 0.0
    )


def replica(
    database_url: str, key: str, standin: SlackStandIn, clock: FakeClock
) -> InstalledTokens:
    """What one ``serve`` process holds: its own engine on the shared database."""
    database = Database(database_url)
    store = EncryptedInstallationStore(
        standin.oauth.client_id, database, TokenCipher(key), clock, allowed=ALLOWED
    )
    app = OAuthApp(standin.oauth.client_id, standin.oauth.client_secret, standin.api_url)
    return InstalledTokens(store, app, clock)


def test_tokens_are_encrypted_at_rest_and_read_back_in_clear(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    key = Fernet.generate_key().decode()
    store = EncryptedInstallationStore(
        standin.oauth.client_id, db, TokenCipher(key), clock, allowed=ALLOWED
    )
    token = installed(standin, store, clock)
    with db.read() as session:
        rows = session.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots")).all()
        rows += session.execute(
            text("SELECT bot_token, bot_refresh_token FROM slack_installations")
        ).all()
    assert len(rows) == 2
    for bot_token, refresh_token in rows:
        assert bot_token.startswith("fernet:") and refresh_token.startswith("fernet:")
        assert token not in bot_token
    bot = store.find_bot(enterprise_id=None, team_id=standin.team_id)
    assert bot is not None and bot.bot_token == token
    found = store.find_installation(enterprise_id=None, team_id=standin.team_id)
    assert found is not None and found.bot_token == token

    # Another key (a thief's guess, or a rotated key without re-encryption) opens nothing.
    other = EncryptedInstallationStore(
        standin.oauth.client_id,
        db,
        TokenCipher(Fernet.generate_key().decode()),
        clock,
        allowed=ALLOWED,
    )
    with pytest.raises(TokenUnavailable, match="token_key_mismatch"):
        other.latest_bot()


def test_a_long_rotating_token_fits_once_encrypted(db: Database) -> None:
    clock = FakeClock()
    store = EncryptedInstallationStore(
        "1.2", db, TokenCipher(Fernet.generate_key().decode()), clock, allowed=ALLOWED
    )
    long_token = "xoxe.xoxb-1-" + "A" * 300  # longer than any Slack token seen
    store.save(
        Installation(
            app_id="A1",
            enterprise_id=None,
            team_id="T1",
            bot_token=long_token,
            bot_refresh_token="xoxe-1-" + "B" * 300,
            bot_id="B1",
            bot_user_id="U1",
            user_id="U2",
        )
    )
    bot = store.latest_bot()
    assert bot is not None and bot.bot_token == long_token


def test_an_install_links_state_is_used_once(db: Database) -> None:
    states = OAuthStates(db)
    state = states.issue()
    assert states.consume(state) is True
    assert states.consume(state) is False  # a replayed redirect
    assert states.consume("forged") is False


def test_two_replicas_refresh_a_rotating_token_once_and_no_call_goes_without_a_token(
    database_url: str, db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    key = Fernet.generate_key().decode()
    first = installed(
        standin,
        EncryptedInstallationStore(
            standin.oauth.client_id, db, TokenCipher(key), clock, allowed=ALLOWED
        ),
        clock,
    )
    replicas = [replica(database_url, key, standin, clock) for _ in range(2)]
    assert {r() for r in replicas} == {first}  # not due yet: no refresh

    refreshed = refresh_count("ok")
    clock.advance(timedelta(seconds=TTL - 60))  # inside the refresh margin, not yet expired
    seen: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def caller(tokens: InstalledTokens) -> None:
        try:
            start.wait()
            for _ in range(5):
                seen.append(tokens())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(replicas[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(standin.oauth.refreshes) == 1 and standin.oauth.refused_refreshes == 0
    assert refresh_count("ok") == refreshed + 1
    second = {t for t in seen if t != first}
    assert len(second) == 1  # the old token while the refresh ran, then the new one

    clock.advance(timedelta(seconds=120))  # the first token has expired
    assert {r() for r in replicas} == second
    assert len(standin.oauth.refreshes) == 1
    for tokens in replicas:
        tokens.store.db.dispose()


def test_a_new_key_put_first_still_reads_what_the_old_one_encrypted(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store = EncryptedInstallationStore(
        standin.oauth.client_id, db, TokenCipher(old), clock, allowed=ALLOWED
    )
    token = installed(standin, store, clock)
    rotated = EncryptedInstallationStore(
        standin.oauth.client_id, db, TokenCipher(f"{new}, {old}"), clock, allowed=ALLOWED
    )
    bot = rotated.latest_bot()
    assert bot is not None and bot.bot_token == token


def test_a_refresh_token_someone_else_used_deactivates_the_installation(
    database_url: str, db: Database, standin: SlackStandIn
) -> None:
    """A stolen refresh token used first: the bot's own refresh is refused, and it stops
    with the reason instead of asking Slack again at every call."""
    clock = FakeClock()
    key = Fernet.generate_key().decode()
    store = EncryptedInstallationStore(
        standin.oauth.client_id, db, TokenCipher(key), clock, allowed=ALLOWED
    )
    installed(standin, store, clock)
    bot = store.latest_bot()
    assert bot is not None
    WebClient(base_url=standin.api_url).oauth_v2_access(
        client_id=standin.oauth.client_id,
        client_secret=standin.oauth.client_secret,
        grant_type="refresh_token",
        refresh_token=bot.bot_refresh_token,
    )
    tokens = replica(database_url, key, standin, clock)
    clock.advance(timedelta(seconds=TTL - 60))
    for _ in range(2):
        with pytest.raises(TokenUnavailable, match="invalid_refresh_token"):
            tokens()
    assert standin.oauth.refused_refreshes == 1
    assert store.latest_bot() is None  # its tokens are gone from the database
    tokens.store.db.dispose()


def test_with_several_installations_each_rotating_token_is_refreshed_once_and_stays_its_own(
    db: Database, standin: SlackStandIn
) -> None:
    """Two workspaces installed, both tokens due: the sweep refreshes each once, and each
    workspace's channel goes on with its own installation's new token."""
    clock = FakeClock()
    key = Fernet.generate_key().decode()
    standin.add_workspace("T0TEAMBBB1", "bravo")
    standin.add_channel("C0ALPHA001", team=standin.team_id)
    standin.add_channel("C0BRAVO001", team="T0TEAMBBB1")
    store = EncryptedInstallationStore(
        standin.oauth.client_id, db, TokenCipher(key), clock, allowed=ALLOWED
    )
    installed(standin, store, clock)
    clock.advance(timedelta(seconds=1))
    installed(standin, store, clock, team="T0TEAMBBB1")
    tokens = replica(db.url, key, standin, clock)
    assert {
        standin.oauth.team_of(tokens("", {"channel": c})) for c in ("C0ALPHA001", "C0BRAVO001")
    } == {
        standin.team_id,
        "T0TEAMBBB1",
    }
    clock.advance(timedelta(seconds=TTL))  # both due (and expired on the bot's clock)
    tokens.refresh_due()
    assert len(standin.oauth.refreshes) == 2
    tokens.refresh_due()
    assert len(standin.oauth.refreshes) == 2
    alpha, bravo = tokens("", {"channel": "C0ALPHA001"}), tokens("", {"channel": "C0BRAVO001"})
    assert (standin.oauth.team_of(alpha), standin.oauth.team_of(bravo)) == (
        standin.team_id,
        "T0TEAMBBB1",
    )
    assert standin.oauth.check(alpha) is None and standin.oauth.check(bravo) is None
    tokens.store.db.dispose()
