"""Acknowledgement latency of ``/nonconformity help`` and ``report`` under concurrent clients.

Slack gives a slash command 3 s for its acknowledgement, and a ``trigger_id`` 3 s to be used
for ``views.open``. This measures how much of that budget the bot spends, against the floor:
a bare Bolt app with one listener that only acks, served by the same server
(``bot.server.HttpServer`` on waitress, same thread count, same request verification).

Two processes, so that the clients and Slack do not compete for the servers' GIL:
- this one: the Slack stand-in (it issues triggers and records ``views.open``) and the clients,
  which send signed slash commands exactly as Slack does (``SlackDriver``);
- a child (``--serve``): the real bot and the bare app, each on its own ``HttpServer``.

Targets are measured in one run, in alternating rounds (bare ``help``, our ``help``, our
``report``), so that a noisy neighbour or a warming cache hits all of them alike. For
``report`` two figures: the HTTP acknowledgement, and the time from sending the command
until the stand-in has recorded a successful ``views.open`` for its trigger.

    .venv/bin/python bench/ack_latency.py                  # 2000 requests a target, 20 clients
    .venv/bin/python bench/ack_latency.py --requests 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.devkit.local import seed
from bot.devkit.standin import SlackDriver, SlackStandIn
from bot.ops.workspace import load_workspace, sample_path

COMMAND = "/nonconformity"
USER = "U0REPORTR1"
CHANNEL = "C0GENERAL1"
TRIGGER_SECONDS = 3.0


# ---------------------------------------------------------------- the servers (child process)


def serve(
    api_url: str,
    bot_token: str,
    signing_secret: str,
    database_url: str,
    threads: int,
    bare_threads: int,
) -> None:
    """Start both apps, print their URLs as one JSON line, serve until stdin closes."""
    from pydantic import SecretStr
    from slack_bolt import Ack, App
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    from bot.app import EVENTS_PATH, build_app, wsgi_app
    from bot.delivery.slack_api import make_client
    from bot.ops.runtime import start_runtime
    from bot.ops.server import HttpServer
    from bot.ops.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    # With more clients than threads waitress queues requests and says so for every one.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    settings = Settings(
        SLACK_BOT_TOKEN=SecretStr(bot_token),
        SLACK_SIGNING_SECRET=SecretStr(signing_secret),
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        WORKERS=threads,
    )
    services = start_runtime(settings, workspace=load_workspace(sample_path())).services
    ours = HttpServer(
        wsgi_app(build_app(services, signing_secret=signing_secret, workers=threads), services),
        host="127.0.0.1",
        port=0,
        threads=threads,
    ).start_in_thread()

    bare_app = App(
        client=make_client(bot_token, settings.SLACK_API_URL),
        signing_secret=signing_secret,
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(max_workers=bare_threads),
    )

    @bare_app.command(COMMAND)
    def only_ack(ack: Ack) -> None:
        ack()

    bare = HttpServer(
        SlackRequestHandler(bare_app),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=0,
        threads=bare_threads,
    ).start_in_thread()
    print(
        json.dumps(
            {
                "ours": f"http://127.0.0.1:{ours.port}{EVENTS_PATH}",
                "bare": f"http://127.0.0.1:{bare.port}{EVENTS_PATH}",
            }
        ),
        flush=True,
    )
    sys.stdin.read()  # the parent closes our stdin when it is done
    ours.stop()
    bare.stop()
    services.db.dispose()


# ---------------------------------------------------------------- the clients (this process)


@dataclass
class Target:
    name: str
    driver: SlackDriver
    text: str
    expect: str | None = None  # a text the acknowledgement must carry
    latencies: list[float] = field(default_factory=list)  # seconds
    sent: dict[str, float] = field(default_factory=dict)  # trigger_id -> wall clock at send
    errors: int = 0


def one_request(target: Target) -> None:
    wall = time.time()
    started = time.perf_counter()
    response = target.driver.command(COMMAND, target.text, user=USER, channel=CHANNEL)
    elapsed = time.perf_counter() - started
    if response.status != 200 or (target.expect is not None and target.expect not in response.text):
        target.errors += 1
        return
    target.latencies.append(elapsed)
    trigger = urllib.parse.parse_qs(response.request_body.decode())["trigger_id"][0]
    target.sent[trigger] = wall


def run_round(pool: ThreadPoolExecutor, target: Target, count: int) -> None:
    list(pool.map(lambda _i: one_request(target), range(count)))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below it."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def views_open_latencies(standin: SlackStandIn, target: Target) -> tuple[list[float], int]:
    """Send → successful ``views.open`` recorded, per trigger; misses count as errors."""
    landed: dict[str, float] = {}
    for call in standin.calls("views.open"):
        if call.response.get("ok"):
            landed.setdefault(str(call.args.get("trigger_id")), call.at)
    latencies = [landed[tr] - at for tr, at in target.sent.items() if tr in landed]
    missing = sum(1 for tr in target.sent if tr not in landed)
    return latencies, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per target (default 2000)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--round", type=int, default=100, help="requests a target per round")
    parser.add_argument("--threads", type=int, default=8, help="server threads (WORKERS)")
    parser.add_argument(
        "--bare-threads",
        type=int,
        default=None,
        help="the bare app's threads (default: as many as --threads; issue 23 compares "
        "with one thread per client)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="the bot's database (default: SQLite in a temporary file), e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/bench (emptied first)",
    )
    parser.add_argument("--max-seconds", type=float, default=300, help="stop rounds after this")
    parser.add_argument(
        "--standin-backlog-5", action="store_true", help="keep the stand-in's listen backlog of 5"
    )
    parser.add_argument("--serve", nargs=4, metavar=("API_URL", "TOKEN", "SECRET", "DB"))
    args = parser.parse_args(argv)
    bare_threads = args.bare_threads or args.threads
    if args.serve:
        serve(*args.serve, threads=args.threads, bare_threads=bare_threads)
        return 0

    logging.basicConfig(level=logging.WARNING)
    if not args.standin_backlog_5:
        # The stand-in's ThreadingHTTPServer listens with socketserver's backlog of 5: with
        # 8 bot threads calling views.open at once, connections overflow it and wait for a TCP
        # retransmit (1 s, then 3 s). Slack does not do that; the measurement should not either.
        ThreadingHTTPServer.request_queue_size = 128
    workspace = load_workspace(sample_path())
    secret = secrets.token_hex(16)
    with SlackStandIn() as standin, tempfile.TemporaryDirectory(prefix="ncbot-bench-") as tmp:
        seed(standin, workspace)
        child = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--threads",
                str(args.threads),
                "--bare-threads",
                str(bare_threads),
                "--serve",
                standin.api_url,
                standin.settings.bot_token,
                secret,
                _empty(args.database_url)
                if args.database_url
                else f"sqlite:///{Path(tmp) / 'bot.db'}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert child.stdout is not None
            urls = json.loads(child.stdout.readline())
            result = measure(standin, urls, secret, args)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=30)
    print(result)
    return 0


def _empty(database_url: str) -> str:
    """A PostgreSQL database emptied for the run (its schema dropped and made again)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return database_url


def measure(standin: SlackStandIn, urls: dict[str, str], secret: str, args: Any) -> str:
    bare = Target(
        "bare Bolt app, `/nonconformity` (ack only)",
        SlackDriver(standin, urls["bare"], secret),
        "help",
    )
    ours = Target(
        "our bot, `/nonconformity help`",
        SlackDriver(standin, urls["ours"], secret),
        "help",
        "/nonconformity report [",
    )
    report = Target(
        "our bot, `/nonconformity report` (ack)",
        SlackDriver(standin, urls["ours"], secret),
        "report",
    )
    targets = (bare, ours, report)
    order: list[tuple[Target, int]] = []
    with ThreadPoolExecutor(max_workers=args.clients, thread_name_prefix="client") as pool:
        for target in targets:  # warm-up: connections, imports, caches; not counted
            run_round(pool, target, min(50, args.round))
            target.latencies.clear()
            target.sent.clear()
            target.errors = 0
        standin.reset_calls()
        started = time.monotonic()
        done = 0
        while done < args.requests and time.monotonic() - started < args.max_seconds:
            count = min(args.round, args.requests - done)
            for target in targets:
                run_round(pool, target, count)
                order.append((target, count))
            done += count
        wall = time.monotonic() - started
    deadline = time.monotonic() + TRIGGER_SECONDS  # the last acks' views.open may be in flight
    opened, missing = views_open_latencies(standin, report)
    while missing and time.monotonic() < deadline:
        time.sleep(0.05)
        opened, missing = views_open_latencies(standin, report)
    late = sum(1 for x in opened if x > TRIGGER_SECONDS)
    return table(targets, opened, missing + late, wall, args)


def table(
    targets: tuple[Target, ...], opened: list[float], open_errors: int, wall: float, args: Any
) -> str:
    def row(name: str, values: list[float], errors: int) -> str:
        if not values:
            return f"| {name} | 0 | – | – | – | {errors} |"
        ms: Callable[[float], str] = lambda x: f"{x * 1000:.1f}"  # noqa: E731
        return (
            f"| {name} | {len(values)} | {ms(percentile(values, 50))} | "
            f"{ms(percentile(values, 99))} | {ms(max(values))} | {errors} |"
        )

    bare, ours, report = targets
    lines = [
        f"{args.clients} concurrent clients, our bot {args.threads} server threads, the bare "
        f"app {args.bare_threads or args.threads}, on "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}, rounds of "
        f"{args.round} requests a target, {wall:.1f} s measured, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| target | requests | p50 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
        row(bare.name, bare.latencies, bare.errors),
        row(ours.name, ours.latencies, ours.errors),
        row(report.name, report.latencies, report.errors),
        row("our bot, `report` sent → `views.open` recorded", opened, open_errors),
        "",
    ]
    if bare.latencies and ours.latencies and opened:
        ratio = percentile(ours.latencies, 99) / percentile(bare.latencies, 99)
        open_p99 = percentile(opened, 99) * 1000
        lines += [
            f"- `help` p99 / bare p99 = {ratio:.2f} (target ≤ 1.20): "
            + ("met" if ratio <= 1.2 else "MISSED"),
            f"- `report` → `views.open` p99 = {open_p99:.1f} ms (target < 300 ms): "
            + ("met" if open_p99 < 300 and open_errors == 0 else "MISSED"),
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
