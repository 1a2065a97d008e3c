"""The sandbox's **Mail** pane (issue 17): a partner outside Slack is e-mailed through a relay
stand-in, the pane shows the e-mail, and its receipt link opens the partner's page on the
sandbox's own port and records the receipt. No browser needed: the page's JSON API."""

from __future__ import annotations

import re
import urllib.request
from datetime import date

from bot.devkit.sandbox import SandboxServer
from tests.browser.test_sandbox_server import _report, get, state
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    MEASURE_PLAN,
    OFFICER,
    press_step,
    wait_for,
)

ADDRESS = "compliance@eu-import.example"  # the sandbox gives the sample's importer an address


def test_the_mail_pane_shows_the_email_and_its_receipt_link_works(
    sandbox: SandboxServer,
) -> None:
    generation = _report(sandbox)
    standin, driver = generation.standin, generation.driver
    press_step(standin, driver, "case_acknowledge", OFFICER)
    assessed = {**ASSESSMENT, "aware_on": date.today().isoformat()}
    press_step(standin, driver, "case_confirm", OFFICER, assessed)
    press_step(standin, driver, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)
    empty = state(sandbox, OFFICER, "mail")
    assert "Mail (0)" in empty["sidebar"] and "No e-mail yet" in empty["body"]
    press_step(standin, driver, "measure_approve", APPROVER)

    pane = wait_for(
        lambda: (s := state(sandbox, OFFICER, "mail")) and ADDRESS in s["body"] and s,
        timeout=20,
        what="the e-mail in the Mail pane",
    )
    assert pane["channel"] == "mail" and "Mail (1)" in pane["sidebar"]
    assert "Example AI B.V." in pane["body"] and "NC-1" in pane["body"]
    [link] = re.findall(r'href="(http://[^"]+/receipts/[^"]+)"', pane["body"])
    assert link.startswith(sandbox.url + "/receipts/")

    status, page = get(link)
    assert status == 200 and b"Confirm receipt" in page
    request = urllib.request.Request(link, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and b"is recorded" in response.read()
    with generation.services.db.read() as session:
        from storage import notices as notice_rows

        [notice] = [n for n in notice_rows.of_case(session, 1) if n.partner_id == "eu-import"]
        assert notice.status == "acknowledged" and notice.receipt == {
            "via": "email",
            "address": ADDRESS,
        }
