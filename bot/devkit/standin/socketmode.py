"""Socket Mode: the WebSocket side of Slack, for bots that run without a public URL.

``apps.connections.open`` hands out a one-time ``ws://…/link/?ticket=…`` URL served here.
On connect the server says ``hello`` like Slack; tests then push envelopes to the client and
read back the acks (``envelope_id`` plus an optional ``payload``) it returns.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

JSON = dict[str, Any]


class SocketModeServer:
    """A websockets sync server on 127.0.0.1 speaking Slack's Socket Mode protocol."""

    def __init__(self, host: str, app_id: str) -> None:
        self._host = host
        self._app_id = app_id
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._acks: list[JSON] = []
        self._received: list[JSON] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> SocketModeServer:
        server = serve(
            self._handle, self._host, 0, compression=None, ping_interval=None, close_timeout=0.2
        )
        self._server = server
        self.port = int(server.socket.getsockname()[1])
        self._thread = threading.Thread(
            target=server.serve_forever, name="slack-standin-socket", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://{self._host}:{self.port}/link/?ticket={ticket}&app_id={self._app_id}"

    def _handle(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        ticket = path.partition("ticket=")[2].split("&", 1)[0]
        with self._cond:
            if ticket not in self._tickets:
                connection.close(code=4001, reason="invalid ticket")
                return
            self._tickets.discard(ticket)  # a ticket connects once, like Slack's
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self._app_id},
                }
            )
        )
        with self._cond:
            self._connections.append(connection)
            self._cond.notify_all()
        try:
            for raw in connection:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                with self._cond:
                    self._received.append(message)
                    if isinstance(message, dict) and "envelope_id" in message:
                        self._acks.append(message)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._cond.notify_all()

    def wait_connected(self, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._connections), timeout):
                raise TimeoutError("no Socket Mode client connected")

    def send(self, envelope_type: str, payload: JSON, retry_attempt: int = 0) -> str:
        """Send an envelope to the most recent client; returns its envelope_id."""
        self.wait_connected(5.0)
        envelope_id = str(uuid.uuid4())
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        with self._cond:
            connection = self._connections[-1]
        connection.send(json.dumps(envelope))
        return envelope_id

    def acks(self) -> list[JSON]:
        with self._cond:
            return list(self._acks)

    def wait_ack(self, envelope_id: str, timeout: float) -> JSON:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ack in self._acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no ack for envelope {envelope_id}")
                self._cond.wait(left)
