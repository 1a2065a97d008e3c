"""HTTP mode on waitress: a threaded production WSGI server, one process per replica.

Connections cost a file descriptor and no thread (waitress reads them in one event loop and hands
complete requests to its threads), so many idle or slow clients must not lock Slack out:
waitress's default of 100 connections did — 100 idle sockets and it stopped accepting until
its channel timeout reaped them. The limits here keep the bot answering with hundreds open;
the reverse proxy in front is the first line (``docs/operations.md``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.wasyncore import close_all

from bot.app import WSGIApp

CONNECTION_LIMIT = 1000  # open connections before waitress stops accepting (its default is 100)
CHANNEL_TIMEOUT = 30  # seconds a connection may send nothing before it is closed
CLEANUP_INTERVAL = 5  # how often idle connections are looked for (waitress: 30 s)
FILES_BESIDES = 200  # descriptors kept for everything but connections (database, logs, files)


class HttpServer:
    """Wraps waitress so that ``serve`` blocks and tests run the same server in a thread."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        host: str,
        port: int,
        threads: int,
        max_body: int | None = None,
        connection_limit: int = CONNECTION_LIMIT,
    ) -> None:
        limits: dict[str, Any] = {} if max_body is None else {"max_request_body_size": max_body}
        self._server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="nonconformity-bot",
            connection_limit=room_for(connection_limit),
            channel_timeout=CHANNEL_TIMEOUT,
            cleanup_interval=CLEANUP_INTERVAL,
            asyncore_use_poll=True,  # select() cannot watch descriptors above 1024
            clear_untrusted_proxy_headers=True,
            **limits,
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    def serve_forever(self) -> None:
        self._server.run()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start_in_thread(self) -> HttpServer:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self

    def stop_accepting(self) -> None:
        """Close the listening socket (from the loop's thread): new connections are refused, so a
        load balancer sends them to another replica; requests already received go on."""
        server = self._server
        if self._thread is not None and self._thread.is_alive():
            server.trigger.pull_trigger(server.close)
        else:
            server.close()

    def in_flight(self) -> int:
        """Requests received and not yet answered in full (queued, being handled, or with a
        response still being written)."""
        server = self._server
        dispatcher = server.task_dispatcher
        busy = len(dispatcher.queue) + max(dispatcher.active_count, 0)
        channels = [c for c in list(server._map.values()) if isinstance(c, HTTPChannel)]
        return int(busy) + sum(1 for c in channels if c.requests or c.total_outbufs_len)

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is in flight; False if something still was after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.in_flight():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self) -> None:
        server = self._server
        if self._thread is not None and self._thread.is_alive():
            # Close from the loop's own thread, woken by its trigger: closing from here left the
            # loop in select() until its 1 s timeout, and raced the loop over the socket map.
            try:
                server.trigger.pull_trigger(lambda: close_all(server._map))
            except OSError:  # the trigger is gone (waitress closed the listener after an error)
                close_all(server._map, ignore_all=True)
            self._thread.join(timeout=5)
        else:
            server.close()
        server.task_dispatcher.shutdown()


def room_for(connections: int) -> int:
    """How many connections fit in the open-file limit, raising the soft limit toward the hard
    one where it is lower than they need (1024 is a common soft limit)."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = connections + FILES_BESIDES
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(16, min(connections, soft - FILES_BESIDES))
