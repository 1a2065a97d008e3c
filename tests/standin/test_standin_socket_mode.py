"""Socket Mode against slack_sdk's own builtin SocketModeClient."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.devkit.standin import SlackStandIn
from tests.scenarios import PATIENCE


def test_a_socket_mode_client_connects_and_acks_a_slash_command(standin: SlackStandIn) -> None:
    web = WebClient(token="xoxb-standin", base_url=standin.api_url)
    client = SocketModeClient(
        app_token="xapp-standin", web_client=web, auto_reconnect_enabled=False
    )
    seen: list[SocketModeRequest] = []

    def listener(c: SocketModeClient, req: SocketModeRequest) -> None:
        seen.append(req)
        c.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload={"text": "got it"})
        )

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        standin.wait_socket_connected()
        envelope_id = standin.socket_send(
            "slash_commands", {"command": "/nonconformity", "text": "help", "user_id": "U0REPORTR1"}
        )
        ack = standin.wait_socket_ack(envelope_id, timeout=PATIENCE)
    finally:
        client.close()
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "got it"}}
    assert seen[0].type == "slash_commands"
    assert seen[0].payload["command"] == "/nonconformity"
    assert standin.calls("apps.connections.open")[0].status == 200


def test_connections_open_needs_the_app_token(client: WebClient) -> None:
    try:
        client.apps_connections_open(app_token="xoxb-standin")
    except Exception as exc:
        assert "not_allowed_token_type" in str(exc)
    else:
        raise AssertionError("a bot token opened a Socket Mode connection")
