"""A visitor walks a case through the sandbox in a real (headless) browser.

Everything happens on the page as a person does it: typing the command, filling the modals,
switching who they are, opening the thread and clicking its buttons. Screenshots of the modal and
of the case thread are kept in ``artifacts/``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.devkit.sandbox import SandboxServer

REPORTER = "U0REPORTR1"
OFFICER = "U0OFFICER1"
APPROVER = "U0APPROVE1"
GENERAL = "C0GENERAL1"
TRIAGE = "C0TRIAGE01"
PARTNER_CHANNEL = "C0ACMEDIST"
DEPLOYER_CHANNEL = "C0NORTHWND"
WAIT = 20.0  # the outbox paces a channel at about one message a second; the sweep runs every 2 s


class Page:
    """The sandbox page, in the words a visitor would use."""

    def __init__(self, browser: Any, url: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select, WebDriverWait

        self.browser = browser
        self.by = By
        self.select = Select
        # The page redraws a region whenever the stand-in changes: an element found a moment
        # ago can be gone, so every wait looks again instead of failing on a stale element.
        self.wait = WebDriverWait(
            browser, WAIT, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        browser.get(url + "/")
        self.until(lambda: self.css("#user option"), "the user switcher")

    def css(self, selector: str, within: Any = None) -> list[Any]:
        found: list[Any] = (within or self.browser).find_elements(self.by.CSS_SELECTOR, selector)
        return found

    def until(self, condition: Callable[[], Any], what: str) -> Any:
        try:
            return self.wait.until(lambda _driver: condition())
        except Exception as exc:  # TimeoutException, with what we waited for
            raise AssertionError(f"timed out waiting for {what}") from exc

    def visible(self, selector: str, what: str) -> Any:
        return self.until(
            lambda: next((e for e in self.css(selector) if e.is_displayed()), None), what
        )

    def click(self, selector: str, what: str) -> None:
        """Click the first visible match, looking again if the page redrew it meanwhile."""

        def clicked() -> bool:
            self.visible(selector, what).click()
            return True

        self.until(clicked, f"a click on {what}")

    def text(self, selector: str) -> str:
        """The text of every match, read in one go (the page may redraw between reads)."""
        return str(
            self.browser.execute_script(
                "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)"
                ".join('\\n')",
                selector,
            )
        )

    def be(self, user: str) -> None:
        self.select(self.css("#user")[0]).select_by_value(user)
        self.until(
            lambda: f"user={user}" in self.browser.current_url and self.css(".sb-item"), user
        )

    def open_channel(self, channel: str) -> None:
        self.click(f'.sb-item[data-channel="{channel}"]', channel)
        self.until(lambda: self.css(f'.sb-item.active[data-channel="{channel}"]'), channel)

    def type_command(self, text: str) -> None:
        box = self.css("#composer-input")[0]
        box.send_keys(text)
        self.css("#composer .send")[0].click()

    def modal(self, title: str) -> Any:
        dialog = self.visible(".md-dialog", f"the {title!r} modal")
        self.until(
            lambda: title in dialog.find_element(self.by.CSS_SELECTOR, ".md-title").text, title
        )
        return dialog

    def fill(self, dialog: Any, values: dict[str, Any]) -> None:
        """Fill input blocks by block_id, whatever element the bot chose for each."""
        for block_id, value in values.items():
            block = self.css(f'.bk-input[data-block-id="{block_id}"]', dialog)[0]
            kind = block.get_attribute("data-type")
            if kind in ("static_select", "users_select"):
                self.select(self.css("select", block)[0]).select_by_value(value)
            elif kind in ("radio_buttons", "checkboxes", "multi_static_select"):
                for choice in [value] if isinstance(value, str) else value:
                    box = self.css(f'input[value="{choice}"]', block)[0]
                    if not box.is_selected():
                        box.click()
            elif kind == "datepicker":
                control = self.css("input", block)[0]
                self.browser.execute_script("arguments[0].value = arguments[1]", control, value)
            else:
                control = self.css(".bk-control", block)[0]
                control.clear()
                control.send_keys(value)

    def submit(self, dialog: Any) -> None:
        self.css("[data-modal-submit]", dialog)[0].click()

    def closed(self, what: str) -> None:
        self.until(lambda: not self.css(".md-dialog"), f"{what} to close")

    def error_of(self, dialog: Any, block_id: str) -> str:
        return str(
            self.until(
                lambda: self.css(f'.bk-error[data-error-for="{block_id}"]', dialog)[0].text,
                f"an inline error on {block_id}",
            )
        )

    def thread_button(self, action_id: str) -> Any:
        return self.visible(f'#thread .bk-button[data-action-id="{action_id}"]', action_id)

    def click_in_thread(self, action_id: str) -> None:
        self.click(f'#thread .bk-button[data-action-id="{action_id}"]', action_id)

    def shot(self, path: Path) -> Path:
        self.browser.save_screenshot(str(path))
        assert path.stat().st_size > 0
        return path


def test_a_case_reported_acknowledged_measured_and_approved_in_the_browser(
    browser: Any, sandbox: SandboxServer, artifacts: Path
) -> None:
    (artifacts / "sandbox-failure.png").unlink(missing_ok=True)
    page = Page(browser, sandbox.url)
    try:
        _walk_the_case(page, artifacts)
    except BaseException:
        page.shot(artifacts / "sandbox-failure.png")
        raise


def _walk_the_case(page: Page, artifacts: Path) -> None:
    # Rita reports from #general: the command opens the report modal.
    page.be(REPORTER)
    page.open_channel(GENERAL)
    page.type_command("/nonconformity report Scores drift for older applicants")
    report = page.modal("Report")
    assert page.css('.bk-input[data-block-id="title"] input', report)[0].get_attribute("value") == (
        "Scores drift for older applicants"
    )
    page.fill(
        report,
        {
            "system": "credit-scoring",
            "description": "Approval rates dropped by 30% for applicants over 60 <since May>.",
            "requirements": ["art10", "art15"],
            "risk": "yes",
            "severity": "high",  # no default: a case with a risk must not stay Medium unseen
            "evidence": "https://example.com/monitoring/drift",
        },
    )
    page.shot(artifacts / "sandbox-report-modal.png")
    page.submit(report)
    page.closed("the report modal")

    # Olga, triage officer, finds the card in #nc-triage and opens its thread.
    page.be(OFFICER)
    page.open_channel(TRIAGE)
    card = page.until(lambda: (lambda t: t if "NC-1" in t else "")(page.text("#messages")), "NC-1")
    assert "<since May>" in card, "typed markup is shown literally"
    assert "@Rita Reporter" in card, "the reporter mention reads as a name"
    page.click("#messages .replies[data-thread]", "the thread's replies link")
    page.visible("#thread .th-body", "the thread pane")

    page.click_in_thread("case_acknowledge")
    page.click_in_thread("case_confirm")
    assessment = page.modal("")
    page.fill(
        assessment,
        {
            "nature": "Approval rates for applicants over 60 fall outside the declared accuracy.",
            "causal_link": "The March retraining used a sample without applicants over 60.",
            "risk": "yes",
        },
    )
    page.submit(assessment)
    page.closed("the assessment modal")

    # She chooses to withdraw; a past target date is refused inline, then corrected.
    page.click_in_thread("measure_choose_withdraw")
    measure = page.modal("")
    details = {
        "plan": "Stop offering 2.3; distributors pull it from their catalogue.",
        "owner": "U0OFFICER2",
        "target_date": (date.today() - timedelta(days=3)).isoformat(),
        "affected": "credit-scoring 2.3, all deployments",
        "keeps_running": "no",
        "partner_ask": "Remove 2.3 from your catalogue and tell us which customers received it.",
        "partner_by": (date.today() + timedelta(days=7)).isoformat(),
    }
    page.fill(measure, details)
    page.submit(measure)
    assert "past" in page.error_of(measure, "target_date")
    page.shot(artifacts / "sandbox-measure-modal-error.png")
    page.fill(measure, {"target_date": (date.today() + timedelta(days=14)).isoformat()})
    page.submit(measure)
    page.closed("the measure modal")
    page.thread_button("measure_approve")

    # Anna, approver, approves in the same thread.
    page.be(APPROVER)
    page.thread_button("measure_approve")
    # The approver sees what they approve: the assessment above the measure.
    page.until(lambda: "What is to be approved" in page.text("#thread"), "the assessment")
    page.browser.execute_script(
        "document.activeElement.blur();document.querySelector('#thread .th-body').scrollTop = 1e6"
    )
    page.until(
        lambda: page.browser.execute_script(
            "const b = document.querySelector('#thread .th-body');"
            "return b.scrollTop + b.clientHeight >= b.scrollHeight - 2"
        ),
        "the thread scrolled to its newest step",
    )
    page.shot(artifacts / "sandbox-approval-step.png")  # docs/sandbox.png is this one
    page.click_in_thread("measure_approve")
    page.thread_button("measure_done")
    thread = page.css("#thread")[0].text
    for seen in ("Acknowledge", "Withdraw", "@Anna Approver"):
        assert seen in thread, seen
    page.shot(artifacts / "sandbox-case-thread.png")

    # The distributor's Slack Connect channel shows the partner notice (in its language).
    page.open_channel(PARTNER_CHANNEL)
    notice = page.until(
        lambda: (lambda t: t if "NC-1" in t else "")(page.text("#messages")), "the partner notice"
    )
    assert "Credit scoring model" in notice
    assert "Example AI B.V." in notice, "the provider is named"
    assert "Wat wij van u vragen" in notice, "ACME reads Dutch: what we ask, and by when"
    assert page.css("#messages .bk-button[data-action-id]"), "the partner can confirm receipt"
    page.shot(artifacts / "sandbox-partner-notice.png")

    # The deployer's channel has it in English; docs/partner-notice.png is this one.
    page.open_channel(DEPLOYER_CHANNEL)
    notice = page.until(
        lambda: (lambda t: t if "NC-1" in t else "")(page.text("#messages")), "the English notice"
    )
    assert "What this means for you as deployer" in notice
    assert "What we ask of you, and by when" in notice
    assert "does not mean that you agree" in notice
    page.browser.set_window_size(1100, 960)
    page.browser.execute_script("document.activeElement.blur()")
    page.shot(artifacts / "sandbox-partner-notice-en.png")


def test_an_alert_in_a_channel_the_bot_is_not_in_is_reported_from_its_menu(
    browser: Any, sandbox: SandboxServer, artifacts: Path
) -> None:
    """Issue 19: "Report as non-conformity" on a message opens the report modal with the
    message's words and link."""
    page = Page(browser, sandbox.url)
    page.be(REPORTER)
    page.open_channel("C0MONITOR1")
    page.until(lambda: "ApprovalRateDrift" in page.text("#messages"), "the alert")
    page.browser.execute_script("document.querySelector('#messages .msg [data-shortcut]').click()")
    report = page.modal("Report")
    description = page.css('.bk-input[data-block-id="description"] .bk-control', report)[0]
    assert "ApprovalRateDrift" in (description.get_attribute("value") or description.text)
    evidence = page.css('.bk-input[data-block-id="evidence"] input', report)[0]
    assert "/archives/C0MONITOR1/p" in (evidence.get_attribute("value") or "")
    page.shot(artifacts / "sandbox-report-from-message.png")
