"""A Slack stand-in for tests: a fake Slack workspace served on 127.0.0.1.

Self-contained (stdlib, slack_sdk-free server, ``websockets`` for Socket Mode) so it can ship
inside the package and be used by any test suite or local demo without a real workspace.
"""

from .blockkit import validate_message_blocks, validate_view
from .driver import DriverResponse, SlackDriver, sign
from .faults import Fault
from .server import SlackStandIn
from .state import Call, Channel, Ephemeral, Message, ResponsePost, User, Usergroup, View

__all__ = [
    "Call",
    "Channel",
    "DriverResponse",
    "Ephemeral",
    "Fault",
    "Message",
    "ResponsePost",
    "SlackDriver",
    "SlackStandIn",
    "User",
    "Usergroup",
    "View",
    "sign",
    "validate_message_blocks",
    "validate_view",
]
