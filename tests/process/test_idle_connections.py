"""Idle and half-sent connections do not lock Slack out of ``serve``.

waitress stops accepting at its connection limit (100 by default) until its channel timeout reaps
the idle ones, so 100 sockets that never sent a byte made the bot deaf to Slack for half a minute.
Here the real ``serve`` process gets 200 of them, and a signed slash command is still acked within
Slack's 3 s. Setup waits are generous; the 3 s is Slack's own limit.
"""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import load_workspace, sample_path
from tests.scenarios import GENERAL, REPORTER, ServeProcess

IDLE = 200
SLACK_ACK_LIMIT = 3.0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    with SlackStandIn() as standin:
        seed(standin, load_workspace(sample_path()))
        bot = ServeProcess(
            standin,
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            config=sample_path(),
            log=tmp_path / "serve.log",
            env={"MAX_BODY_BYTES": str(64 * 1024)},
        )
        try:
            yield bot.start(timeout=60)
        finally:
            bot.stop()


def open_connections(port: int, count: int, first_bytes: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


@pytest.mark.parametrize(
    "first_bytes",
    [b"", b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n"],
    ids=["idle", "half-sent-headers"],
)
def test_200_idle_connections_do_not_stop_serve_acking_a_signed_command(
    serve: ServeProcess, first_bytes: bytes
) -> None:
    sockets = open_connections(serve.port, IDLE, first_bytes)
    try:
        time.sleep(2.0)  # let the server's loop take them all in: generous, not measured
        started = time.monotonic()
        response = serve.driver.command("/nonconformity", "help", user=REPORTER, channel=GENERAL)
        took = time.monotonic() - started
        assert response.status == 200, response.text
        assert "/nonconformity report" in response.text
        assert took < SLACK_ACK_LIMIT, f"acked after {took:.1f}s with {IDLE} idle connections"
    finally:
        for sock in sockets:
            sock.close()


def test_serve_refuses_a_body_over_max_body_bytes_with_413(serve: ServeProcess) -> None:
    """``MAX_BODY_BYTES`` (64 KiB here) bounds what ``serve`` reads, signed or not."""
    body = urllib.parse.urlencode({"command": "/nonconformity", "text": "x" * 70_000}).encode()
    response = serve.driver.raw(body, "application/x-www-form-urlencoded")
    assert response.status == 413
    small = serve.driver.command("/nonconformity", "help", user=REPORTER, channel=GENERAL)
    assert small.status == 200


def test_the_connection_limit_fits_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A soft limit of 1024 is raised toward the hard one; where it cannot be, fewer connections
    are accepted rather than accept() failing for want of descriptors."""
    import resource

    from bot.ops import server

    limits = {"soft": 1024, "hard": 4096}
    monkeypatch.setattr(resource, "getrlimit", lambda _: (limits["soft"], limits["hard"]))

    def setrlimit(_: int, value: tuple[int, int]) -> None:
        limits["soft"] = value[0]

    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert server.room_for(1000) == 1000 and limits["soft"] == 1000 + server.FILES_BESIDES

    limits.update(soft=1024, hard=1024)
    assert server.room_for(1000) == 1024 - server.FILES_BESIDES
