"""``nonconformity-bot sandbox`` serves bot, Slack stand-in and page on one port, and resets.

No browser needed: the page's JSON API is called the way its script calls it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from bot.app import EVENTS_PATH
from bot.devkit.sandbox import SandboxServer
from tests.scenarios import wait_for

REPORTER = "U0REPORTR1"
GENERAL = "C0GENERAL1"
TRIAGE = "C0TRIAGE01"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def state(sandbox: SandboxServer, user: str, channel: str) -> dict[str, Any]:
    _, body = get(f"{sandbox.url}/sandbox/api/state?user={user}&channel={channel}")
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_bot_stand_in_and_page_answer_on_the_one_port(sandbox: SandboxServer) -> None:
    assert get(sandbox.url + "/healthz") == (200, b'{"ok": true, "database": "ok"}')
    status, page = get(sandbox.url + "/")
    assert status == 200 and b"Reset sandbox" in page
    assert get(sandbox.url + "/sandbox/static/sandbox.js")[0] == 200
    status, body = get(sandbox.url + "/api/auth.test")
    assert json.loads(body) == {"ok": False, "error": "not_authed"}, "Slack's Web API is here"
    assert get(sandbox.url + EVENTS_PATH)[0] in (400, 401, 404, 405), "the bot's request URL"
    assert get(sandbox.url + "/sandbox/static/../app.py")[0] == 404
    assert get(sandbox.url + "/elsewhere")[0] == 404


def test_the_bot_talks_to_the_stand_in_through_the_public_port(sandbox: SandboxServer) -> None:
    generation = sandbox.sandbox.current
    assert generation is not None
    assert post(
        sandbox.url + "/sandbox/api/command",
        {"user": REPORTER, "channel": GENERAL, "text": "/nonconformity report Drift"},
    ) == {"ok": True, "status": 200}
    opened = wait_for(lambda: generation.standin.calls("views.open"), what="views.open")
    assert opened[0].response["ok"]
    assert generation.standin.calls("auth.test"), "the bot checked its token through the port"
    modal = wait_for(lambda: state(sandbox, REPORTER, GENERAL)["modal"], what="the modal")
    assert 'value="Drift"' in modal["html"]


def test_a_command_answer_in_the_http_body_is_shown_to_that_user_only(
    sandbox: SandboxServer,
) -> None:
    post(
        sandbox.url + "/sandbox/api/command",
        {"user": REPORTER, "channel": GENERAL, "text": "/nonconformity help"},
    )
    post(
        sandbox.url + "/sandbox/api/command",
        {"user": REPORTER, "channel": GENERAL, "text": "/giphy cats"},
    )
    mine = state(sandbox, REPORTER, GENERAL)["body"]
    assert "Only visible to you" in mine and "/nonconformity report" in mine
    assert "is not a valid command" in mine
    assert "Only visible to you" not in state(sandbox, "U0OFFICER1", GENERAL)["body"]


def test_a_modal_answered_with_errors_keeps_them_for_the_page(sandbox: SandboxServer) -> None:
    post(
        sandbox.url + "/sandbox/api/command",
        {"user": REPORTER, "channel": GENERAL, "text": "/nonconformity report"},
    )
    generation = sandbox.sandbox.current
    assert generation is not None
    view = wait_for(lambda: generation.standin.open_views(REPORTER), what="the modal")[-1]
    answer = post(
        sandbox.url + "/sandbox/api/submit",
        {
            "user": REPORTER,
            "view_id": view.id,
            "values": {
                "system": "credit-scoring",
                "title": "Drift",
                "description": "x",
                "requirements": ["art10"],
                "risk": "yes",
                "severity": "high",
                "evidence": "not a url",
            },
        },
    )
    assert answer["action"] == "errors" and "evidence" in answer["errors"], answer
    assert generation.standin.open_views(REPORTER), "the modal stays open"


def test_reset_starts_an_empty_stand_in_and_database(sandbox: SandboxServer) -> None:
    post(
        sandbox.url + "/sandbox/api/command",
        {"user": REPORTER, "channel": GENERAL, "text": "hello <everyone>"},
    )
    assert "hello &lt;everyone&gt;" in state(sandbox, REPORTER, GENERAL)["body"]
    before = sandbox.sandbox.current
    assert post(sandbox.url + "/sandbox/api/reset", {"user": REPORTER})["ok"]
    after = sandbox.sandbox.current
    assert before is not None and after is not None and after.number == before.number + 1
    assert "No messages yet" in state(sandbox, REPORTER, GENERAL)["body"]
    assert get(sandbox.url + "/healthz")[0] == 200


def _started(process: subprocess.Popen[str], url: Callable[[], str]) -> bool:
    try:
        return get(url())[0] == 200
    except OSError:
        return process.poll() is not None


def test_the_command_serves_on_port_with_no_slack_credentials(unused_port: int) -> None:
    env = {"PATH": "/usr/bin:/bin", "PORT": str(unused_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{unused_port}"
        wait_for(lambda: _started(process, lambda: url + "/healthz"), 30, what="the sandbox")
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert get(url + "/")[0] == 200
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=15)
    assert process.returncode == 0, out
    assert f"open {url}/" in out


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    time.sleep(0.05)
    return port


def _report(sandbox: SandboxServer) -> Any:
    """Report a case through the page's API and return the generation it lives in."""
    post(
        sandbox.url + "/sandbox/api/command",
        {"user": REPORTER, "channel": GENERAL, "text": "/nonconformity report Drift"},
    )
    generation = sandbox.sandbox.current
    assert generation is not None
    view = wait_for(lambda: generation.standin.open_views(REPORTER), what="the modal")[-1]
    values = {
        "system": "credit-scoring",
        "title": "Drift",
        "description": "x",
        "requirements": ["art10"],
        "risk": "yes",
        "severity": "high",
    }
    answer = post(
        sandbox.url + "/sandbox/api/submit",
        {"user": REPORTER, "view_id": view.id, "values": values},
    )
    assert answer["ok"] and answer["action"] is None, answer
    return generation


def test_a_refused_click_answers_in_the_thread_to_the_clicker_only(sandbox: SandboxServer) -> None:
    generation = _report(sandbox)
    step = wait_for(
        lambda: next((m for m in generation.standin.messages(TRIAGE) if m.is_reply), None),
        10,
        what="the first step in the thread",
    )
    answer = post(
        sandbox.url + "/sandbox/api/click",
        {"user": REPORTER, "channel": TRIAGE, "ts": step.ts, "action_id": "case_acknowledge"},
    )
    assert answer == {"ok": True, "status": 200}

    def thread_of(user: str) -> str:
        url = (
            f"{sandbox.url}/sandbox/api/state?user={user}&channel={TRIAGE}&thread={step.thread_ts}"
        )
        thread: str = json.loads(get(url)[1])["thread"]
        return thread

    wait_for(lambda: "Only visible to you" in thread_of(REPORTER), what="the refusal")
    assert "Only visible to you" not in thread_of("U0OFFICER1")


def test_reset_wipes_a_configured_database(tmp_path: Any) -> None:
    from bot.ops.workspace import load_workspace, sample_path
    from storage import cases as case_rows

    url = f"sqlite:///{tmp_path / 'kept.db'}"
    with SandboxServer(load_workspace(sample_path()), port=0, database_url=url) as sandbox:
        generation = _report(sandbox)
        wait_for(lambda: generation.standin.messages(TRIAGE), what="the case card")
        post(sandbox.url + "/sandbox/api/reset", {"user": REPORTER})
        current = sandbox.sandbox.current
        assert current is not None
        with current.services.db.transaction() as session:
            assert list(case_rows.all_cases(session)) == []
