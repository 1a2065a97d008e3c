"""Start the sandbox on one port of 127.0.0.1 with the production server (waitress)."""

from __future__ import annotations

from types import TracebackType

from bot.devkit.sandbox.runtime import Sandbox
from bot.devkit.sandbox.web import SandboxApp
from bot.ops.lifecycle import wait_for_signal
from bot.ops.server import HttpServer
from bot.ops.workspace import Workspace

HOST = "127.0.0.1"  # a sandbox is for the person at this machine; never listen wider


class SandboxServer:
    """``with SandboxServer(workspace, port=0) as sandbox:`` — ``sandbox.url`` is the page."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        port: int = 3000,
        database_url: str | None = None,
        workers: int = 8,
    ) -> None:
        self.sandbox = Sandbox(workspace, database_url=database_url, workers=workers)
        # A page action waits for the bot's answer, which waits for its Web API calls, all on
        # this one server: leave room for those beside the page's polling.
        self._server = HttpServer(
            SandboxApp(self.sandbox), host=HOST, port=port, threads=max(16, 2 * workers)
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.port}"

    def start(self) -> SandboxServer:
        self._server.start_in_thread()
        try:
            self.sandbox.start(self.url)
        except BaseException:
            self._server.stop()
            raise
        return self

    def stop(self) -> None:
        self.sandbox.stop()
        self._server.stop()

    def run_until_signalled(self) -> None:
        """Block until SIGTERM or Ctrl-C (SIGINT), then return for ``stop``."""
        wait_for_signal()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
