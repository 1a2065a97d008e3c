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

REPORT_MESSAGE: Final = "report_message"  # the message shortcut "Report as non-conformity"
STEP_BLOCK: Final = "step_actions"
ACKNOWLEDGE: Final = "case_acknowledge"
OPEN_THREAD: Final = "case_open_thread"

CONFIRM: Final = "case_confirm"
DISMISS: Final = "case_dismiss"
MEASURE_PREFIX: Final = "measure_choose_"  # + the Measure value
APPROVE: Final = "measure_approve"
REJECT: Final = "measure_reject"
DONE: Final = "measure_done"
CLOSE: Final = "case_close"
REOPEN: Final = "case_reopen"
STEP_ACTIONS: Final = (ACKNOWLEDGE, CONFIRM, DISMISS, APPROVE, REJECT, DONE, CLOSE, REOPEN)

CHANGE: Final = "case_change"  # the card's "Change…" menu; option value "<change>:<n>:<version>"
CHANGE_CALLBACK: Final = "case_change_submit"  # every change's modal; metadata names the change
CHANGE_KIND_CALLBACK: Final = "case_change_kind"  # "Add a measure": which measure, first

ASSESS_CALLBACK: Final = "step_assess"
DISMISS_CALLBACK: Final = "step_dismiss"
MEASURE_CALLBACK: Final = "step_measure"
REJECT_CALLBACK: Final = "step_reject"
DONE_CALLBACK: Final = "step_done"
REOPEN_CALLBACK: Final = "step_reopen"

NOTICE_ACK: Final = "notice_acknowledge_receipt"
NOTICE_RETRY: Final = "notice_retry"
NOTICE_WAIVE: Final = "notice_waive"
WAIVE_CALLBACK: Final = "notice_waive_submit"
NOTICE_RECORD: Final = "notice_record_receipt"
RECORD_CALLBACK: Final = "notice_record_receipt_submit"

DUTY_PREFIX: Final = "duty_record_"  # + the duty name
DUTY_CALLBACK: Final = "duty_record_submit"
AWARENESS: Final = "duty_correct_awareness"
ART73_REPORT: Final = "duty_draft_art73_report"  # uploads the Art. 73 report's draft
AWARENESS_CALLBACK: Final = "duty_correct_awareness_submit"

HOME_MORE: Final = "home_show_more"  # value: the list to lengthen (bot.views.home.SECTION_KEYS)
HOME_MORE_BLOCK: Final = "home_more"  # + "_" + the list's key
