"""HTTP mode on waitress: a threaded production WSGI server, one process per replica."""

from __future__ import annotations

import threading
from typing import Any

from waitress.server import create_server

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
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
