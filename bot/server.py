"""HTTP mode on waitress: a threaded production WSGI server, one process per replica."""

from __future__ import annotations

import threading
from typing import Any

from waitress.server import create_server
from waitress.wasyncore import close_all

from bot.app import WSGIApp


class HttpServer:
    """Wraps waitress so that ``serve`` blocks and tests run the same server in a thread."""

    def __init__(self, app: WSGIApp, *, host: str, port: int, threads: int) -> None:
        self._server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="nonconformity-bot",
            channel_timeout=30,
            clear_untrusted_proxy_headers=True,
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

    def start_in_thread(self) -> HttpServer:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self

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
