"""Shared fixtures: databases (SQLite and PostgreSQL), a fake clock, and a whole local bot.

PostgreSQL tests skip with a reason where no server answers, except when ``CI=true``: there a
missing server is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace, load_workspace, sample_path

PG_ADMIN_URL = os.environ.get(
    "NCBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SHARED = Path(__file__).resolve().parents[2] / "shared"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def shared_path(*parts: str) -> Path:
    """A file from ../shared; skips where it is absent, fails in CI."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if in_ci():
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"{path} is not on this machine")
    return path


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__})"


_PG_PROBLEM: str | None = None
_PG_CHECKED = False


def postgres_url() -> str:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards by the fixture)."""
    global _PG_PROBLEM, _PG_CHECKED
    if not _PG_CHECKED:
        _PG_PROBLEM, _PG_CHECKED = _postgres_available(), True
    if _PG_PROBLEM:
        if in_ci():
            pytest.fail(_PG_PROBLEM)
        pytest.skip(_PG_PROBLEM)
    name = f"ncbot_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on both databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    url = postgres_url()
    try:
        yield url
    finally:
        drop_postgres(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def workspace() -> Workspace:
    return load_workspace(sample_path())


# Slack's rate limits are on in every end-to-end test (issue 23), a minute of Slack's passing
# in a second so that the suite stays fast: every method's tier, posting per channel.
SLACK_LIMITS_SCALE = 60.0


@pytest.fixture
def bot(workspace: Workspace, sqlite_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    """The real bot over HTTP on SQLite with a fake clock, and the Slack stand-in."""
    with LocalBot(workspace, database_url=sqlite_url, clock=clock) as local:
        local.standin.set_limits(SLACK_LIMITS_SCALE)
        yield local


@pytest.fixture
def any_db_bot(workspace: Workspace, database_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    """The same, once on SQLite and once on PostgreSQL."""
    with LocalBot(workspace, database_url=database_url, clock=clock) as local:
        local.standin.set_limits(SLACK_LIMITS_SCALE)
        yield local
