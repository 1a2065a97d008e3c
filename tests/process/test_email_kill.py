"""The bot killed with SIGKILL while a relay holds its e-mails, and restarted on the same
database (issue 17): every partner gets its e-mail, and the duplicates SMTP cannot avoid are
counted. Real processes, real time, a real SMTP server on 127.0.0.1 (aiosmtpd) in this process.

Ten partners, each with one address and no Slack channel:

- four addresses are answered at once (accepted, and recorded: the test waits for that);
- three are accepted (the relay stores the message) but the relay holds its ``250`` for 10 s:
  the bot dies waiting, in the window between the relay accepting and the bot's commit;
- three are refused with a 4xx first: the bot backs off, and is dead before it tries again.

After the restart the held ones go again, with the same ``Message-ID`` (nothing in SMTP lets
the bot ask the relay whether it has them): those are the duplicates, and only those. The
number is documented in docs/operations.md ("E-mail").
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import yaml

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import load_workspace, sample_path
from tests.mailbox import Mailbox
from tests.scenarios import (
    APPROVER,
    ASSESSMENT,
    MEASURE_PLAN,
    OFFICER,
    ServeProcess,
    expire_leases,
    press_step,
    report,
    wait_for,
)

PARTNERS = 10
ADDRESSES = [f"notices@partner{i:02d}.example" for i in range(PARTNERS)]
AT_ONCE = ADDRESSES[0:4]
HELD = ADDRESSES[4:7]
DEFERRED = ADDRESSES[7:10]


def email_partners(path: Path) -> None:
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    partners = [
        {
            "id": f"partner-{i:02d}",
            "name": f"Partner {i:02d} GmbH",
            "role": "importer",
            "email": [address],
            "language": "de",
        }
        for i, address in enumerate(ADDRESSES)
    ]
    informed = {"distributor", "deployer", "importer", "authorised_representative"}
    data["catalogue"]["partners"] = partners + [
        p for p in data["catalogue"]["partners"] if p["role"] not in informed
    ]
    for system in data["catalogue"]["systems"]:
        system["partners"] = [p["id"] for p in partners] if system["id"] == "credit-scoring" else []
    data["escalation"]["sweep_interval"] = "1s"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def recorded(database_url: str) -> set[str]:
    """The addresses whose e-mail the bot recorded as sent."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT target FROM outbox WHERE kind = 'email_notice' AND status = 'sent'")
            )
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def statuses(database_url: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [r[0] for r in connection.execute(text("SELECT status FROM partner_notices"))]
    finally:
        engine.dispose()


def test_a_bot_killed_while_the_relay_holds_its_emails_sends_each_again_at_most_once(
    tmp_path: Path,
) -> None:
    config = tmp_path / "workspace.yml"
    email_partners(config)
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    log = tmp_path / "serve.log"
    with SlackStandIn() as standin, Mailbox() as mailbox:
        seed(standin, load_workspace(config))
        env = {
            "SMTP_URL": mailbox.url,
            "MAIL_FROM": "ncbot@example.com",
            "RECEIPT_KEY": "a-receipt-key-for-tests-only-0123456789",
            "PUBLIC_URL": "https://bot.example.com",
        }
        first = ServeProcess(standin, database_url=database_url, config=config, log=log, env=env)
        second = ServeProcess(standin, database_url=database_url, config=config, log=log, env=env)
        try:
            first.start()
            driver = first.driver
            assert report(SimpleNamespace(driver=driver, standin=standin)).status == 200
            press_step(standin, driver, "case_acknowledge", OFFICER)
            today = date.today().isoformat()
            press_step(standin, driver, "case_confirm", OFFICER, {**ASSESSMENT, "aware_on": today})
            press_step(standin, driver, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)

            for address in HELD:
                mailbox.hold(address, 10)
            for address in DEFERRED:
                mailbox.refuse("DATA", "451 4.3.0 try again later", address=address)
            press_step(standin, driver, "measure_approve", APPROVER)

            wait_for(
                lambda: (
                    all(mailbox.to(a) for a in [*AT_ONCE, *HELD])
                    and mailbox.attempts >= len(AT_ONCE) + len(HELD) + len(DEFERRED)
                ),
                timeout=20,
                what="the relay to hold its accepted e-mails and refuse the deferred ones",
            )
            wait_for(
                lambda: set(AT_ONCE) <= recorded(database_url),
                timeout=10,
                what="the e-mails answered at once to be recorded",
            )
            first.kill()
            mailbox.release()  # the relay answers the restarted bot at once
            assert all(mailbox.to(a) == [] for a in DEFERRED)
            assert expire_leases(database_url) >= len(HELD)

            second.start()
            wait_for(
                lambda: all(s == "sent" for s in statuses(database_url)),
                timeout=60,
                what="every notice recorded as sent",
            )
            wait_for(
                lambda: all(mailbox.to(a) for a in DEFERRED),
                timeout=60,
                what="the deferred e-mails after their back-off",
            )
            time.sleep(2.5)  # two more sweeps: nothing goes out again
        finally:
            first.kill()
            second.stop()

    received = {address: mailbox.to(address) for address in ADDRESSES}
    assert all(received[a] for a in ADDRESSES)  # nothing lost
    duplicates = {a: len(r) - 1 for a, r in received.items() if len(r) > 1}
    # Only the e-mails accepted in the window before the kill went twice, each exactly twice,
    # and with the same Message-ID: 3 of 10 in this test (docs/operations.md, "E-mail").
    assert duplicates == {address: 1 for address in HELD}, duplicates
    for address in HELD:
        assert len({r.message["Message-ID"] for r in received[address]}) == 1
    assert all(len(received[a]) == 1 for a in [*AT_ONCE, *DEFERRED])
