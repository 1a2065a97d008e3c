"""Every callback, block and action id the bot puts into Slack, in one place."""

from typing import Final

COMMAND: Final = "/nonconformity"

REPORT_CALLBACK: Final = "report_case"
REPORT_BLOCKS: Final = (
    "system",
    "title",
    "description",
    "requirements",
    "risk",
    "severity",
    "evidence",
)
INPUT_ACTION: Final = "value"

STEP_BLOCK: Final = "step_actions"
ACKNOWLEDGE: Final = "case_acknowledge"
OPEN_THREAD: Final = "case_open_thread"
