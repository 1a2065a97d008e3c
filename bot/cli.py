"""The ``nonconformity-bot`` command: serve, socket, doctor, demo, sandbox and the tools.

A ConfigError (a missing setting, a bad workspace file) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.clock import utc_now
from bot.errors import ConfigError
from bot.ops import logs
from bot.ops.settings import Settings, load_settings

log = logging.getLogger("ncbot.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        # demo reads no environment: it must run the same on any machine, whatever is set there
        settings = (
            load_settings() if getattr(args, "environment", True) else Settings.model_construct()
        )
        logs.configure(settings.LOG_FORMAT, settings.LOG_LEVEL)
        logs.redact_values(
            *(
                getattr(settings, name).get_secret_value()
                for name in (
                    "SLACK_BOT_TOKEN",
                    "SLACK_SIGNING_SECRET",
                    "SLACK_APP_TOKEN",
                    "ALERTS_TOKEN",
                    "AUDIT_KEY",
                    "SLACK_CLIENT_SECRET",
                    "TOKEN_ENCRYPTION_KEY",
                )
                if getattr(settings, name, None) is not None
            )
        )
        result: int = args.handler(settings, args)
        return result
    except ConfigError as exc:
        print(f"nonconformity-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nonconformity-bot",
        description="Runs the EU AI Act Article 20 corrective-action procedure in Slack.",
    )
    sub = parser.add_subparsers(title="commands")
    serve = sub.add_parser("serve", help="run the bot over HTTP (POST /slack/events, GET /healthz)")
    serve.set_defaults(handler=_serve)
    socket = sub.add_parser("socket", help="run the bot in Socket Mode (no public URL needed)")
    socket.set_defaults(handler=_socket)
    doctor = sub.add_parser(
        "doctor",
        help="check settings, database, Slack token, scopes, channels, people and groups; "
        "exit 0 only when all pass",
    )
    doctor.set_defaults(handler=_doctor, environment=False)
    demo = sub.add_parser(
        "demo", help="play a whole case against a local Slack stand-in and print it"
    )
    demo.add_argument(
        "--dossier",
        metavar="DIR",
        help="also write the played case's dossier (md, pdf, json) into DIR, as exported",
    )
    demo.add_argument(
        "--two-measures",
        action="store_true",
        help="play a case with two measures: disable now, bring into conformity later",
    )
    demo.set_defaults(handler=_demo, environment=False)
    sandbox = sub.add_parser(
        "sandbox",
        help="try the bot in a browser: bot, Slack stand-in and a Slack-like page on one port",
    )
    sandbox.set_defaults(handler=_sandbox)
    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(title="audit commands")
    verify = audit_sub.add_parser(
        "verify",
        help="check the hash chains, the case rows against their events, and the checkpoints",
    )
    verify.add_argument("case", nargs="?", help="NC-<n>; all cases when left out")
    verify.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        metavar="FILE",
        help="checkpoints kept outside the database (the file, or the audit channel's "
        "messages saved as text); AUDIT_CHECKPOINT_FILE is read too",
    )
    verify.add_argument(
        "--public-key", help="the checkpoints' public key (default AUDIT_PUBLIC_KEY or AUDIT_KEY's)"
    )
    verify.set_defaults(handler=_audit_verify)
    keygen = audit_sub.add_parser(
        "keygen", help="print a new AUDIT_KEY for signing checkpoints, and its public key"
    )
    keygen.set_defaults(handler=_audit_keygen, environment=False)
    check = audit_sub.add_parser(
        "check-checkpoint",
        help="check signed checkpoints with the public key alone (no database needed)",
    )
    check.add_argument("file", nargs="?", help="the checkpoints (a file, or - for stdin)")
    check.add_argument("--public-key", help="base64 (default AUDIT_PUBLIC_KEY or AUDIT_KEY's)")
    check.set_defaults(handler=_audit_check_checkpoint)
    make = audit_sub.add_parser("checkpoint", help="make a signed checkpoint now (needs AUDIT_KEY)")
    make.set_defaults(handler=_audit_checkpoint)
    export = sub.add_parser(
        "export",
        help="a case dossier (md, json, pdf), or with --all the register of corrective actions",
    )
    export.add_argument("case", nargs="?", help="NC-<n>")
    export.add_argument("--all", action="store_true", dest="all_cases", help="every case")
    export.add_argument("--format", help="md (default), json or pdf; with --all: csv or json")
    export.add_argument("-o", "--output", help="the file to write (default: standard output)")
    export.add_argument(
        "--report",
        choices=["art73"],
        help="instead of the dossier, draft a report: art73 (serious incident, Art. 73)",
    )
    export.add_argument(
        "--type",
        dest="report_type",
        help="the Art. 73 report's type: initial, follow-up or final (default: what is next)",
    )
    export.add_argument(
        "--language",
        help="the dossier's language: en or nl (default: the workspace's when the case was made)",
    )
    export.set_defaults(handler=_export)
    catalogue = sub.add_parser("catalogue", help="the AI systems and partners")
    catalogue_sub = catalogue.add_subparsers(title="catalogue commands")
    catalogue_import = catalogue_sub.add_parser(
        "import", help="upsert systems and partners from a YAML file; absent ones are deactivated"
    )
    catalogue_import.add_argument("file", help="a workspace file, or one with only a catalogue")
    catalogue_import.set_defaults(handler=_catalogue_import)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(title="db commands")
    db_upgrade = db_sub.add_parser("upgrade", help="migrate the database to the newest schema")
    db_upgrade.set_defaults(handler=_db_upgrade)
    return parser


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    """Exit 0 after SIGTERM once everything in flight finished; 1 if SHUTDOWN_TIMEOUT cut it."""
    import threading

    from bot.app import build_app, drain_listeners, wsgi_app
    from bot.ops.doctor import check_at_start
    from bot.ops.lifecycle import Signals, at_once, in_thread, shut_down
    from bot.ops.runtime import start_runtime
    from bot.ops.server import HttpServer
    from bot.timers.scheduler import start_scheduler

    settings.require_slack_token()
    settings.require("SLACK_SIGNING_SECRET", "NCBOT_CONFIG")
    runtime = start_runtime(settings)
    services = runtime.services
    app = build_app(
        services, signing_secret=settings.secret("SLACK_SIGNING_SECRET"), workers=settings.WORKERS
    )
    alerts = _alerts_app(settings, services)
    receipts = _receipt_pages(services)
    server = HttpServer(
        wsgi_app(app, services, max_body=settings.MAX_BODY_BYTES, alerts=alerts, receipts=receipts),
        host=settings.HOST,
        port=settings.PORT,
        threads=settings.WORKERS,
        max_body=settings.MAX_BODY_BYTES,
    )
    metrics_server = _metrics_server(settings, services)
    signals = Signals().install()
    stopping = threading.Event()
    scheduler = start_scheduler(services, stopping=stopping)
    server.start_in_thread()
    check_at_start(services.client, services.workspace)
    log.info("serving", extra={"host": server.host, "port": server.port})
    try:
        signals.wait(alive=server.is_running)
    finally:
        stopping.set()
        finished = shut_down(
            [
                ("stop taking requests", at_once(server.stop_accepting)),
                ("requests in flight", server.drain),
                ("listeners", lambda left: drain_listeners(app, left)),
                ("current sweep", in_thread(lambda: scheduler.shutdown(wait=True))),
                ("alert deliveries", in_thread(lambda: alerts and alerts.close())),
                ("receipt deliveries", in_thread(lambda: receipts and receipts.close())),
                ("close", in_thread(lambda: _close(server, metrics_server, services))),
            ],
            settings.SHUTDOWN_TIMEOUT,
        )
        signals.restore()
    log.info("stopped", extra={"clean": finished})
    logging.shutdown()
    return 0 if finished else 1


def _close(server: Any, metrics_server: Any, services: Any) -> None:
    server.stop()
    if metrics_server is not None:
        metrics_server.stop()
    services.db.dispose()


def _metrics_server(settings: Settings, services: Any) -> Any:
    """``GET /metrics`` on METRICS_HOST:METRICS_PORT; none when METRICS_PORT=0 or taken."""
    if settings.METRICS_PORT == 0:
        return None
    from bot.ops.metrics import MetricsServer

    try:
        server = MetricsServer(
            services.db, services.clock, host=settings.METRICS_HOST, port=settings.METRICS_PORT
        )
    except OSError as exc:
        # Cases matter more than graphs: the bot runs on, and says so loudly.
        log.error(
            "metrics not served: the port cannot be used; set METRICS_PORT (0 turns it off)",
            extra={
                "host": settings.METRICS_HOST,
                "port": settings.METRICS_PORT,
                "error": exc.strerror,
            },
        )
        return None
    log.info("metrics", extra={"host": settings.METRICS_HOST, "port": server.port})
    return server


def _socket(settings: Settings, _args: argparse.Namespace) -> int:
    # Refuse before importing: alembic logs on import, and a refusal should be one line.
    settings.require("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "NCBOT_CONFIG")
    import threading

    from bot.ops.doctor import check_at_start
    from bot.ops.runtime import start_runtime
    from bot.ops.socket_mode import SocketModeRunner
    from bot.timers.scheduler import start_scheduler

    if settings.PUBLIC_URL:
        # Socket Mode serves no receipt pages: a link would lead nowhere. The e-mails ask for a
        # reply instead, and triage records receipts by hand (README: E-mail partners).
        log.warning("PUBLIC_URL is ignored in Socket Mode: e-mails carry no receipt link")
        settings = settings.model_copy(update={"PUBLIC_URL": None})
    runtime = start_runtime(settings)
    services = runtime.services
    try:
        runner = SocketModeRunner(
            services, app_token=settings.secret("SLACK_APP_TOKEN"), workers=settings.WORKERS
        ).start()
    except ConfigError:
        services.db.dispose()
        raise
    metrics_server = _metrics_server(settings, services)
    alerts = _alerts_app(settings, services)
    alerts_server = _alerts_server(settings, alerts)
    stopping = threading.Event()
    scheduler = start_scheduler(services, stopping=stopping)
    check_at_start(services.client, services.workspace)
    log.info("socket mode running")
    try:
        runner.run_until_signalled()
    finally:
        stopping.set()
        runner.stop()
        if alerts_server is not None:
            alerts_server.stop()
            alerts.close()  # what it queued is sent before the database closes
        scheduler.shutdown(wait=True)
        if metrics_server is not None:
            metrics_server.stop()
        services.db.dispose()
    log.info("stopped")
    return 0


def _receipt_pages(services: Any) -> Any:
    """The receipt pages of e-mailed notices (``/receipts/…``), or None when links cannot work
    (``PUBLIC_URL`` or ``RECEIPT_KEY`` unset): then triage records receipts by hand."""
    mail = services.mail
    if mail is None or not mail.links:
        return None
    from bot.notices.http import receipt_pages

    return receipt_pages(
        services.db, services.notices, services.clock, mail.receipt_key, services.outbox.deliver_due
    )


def _alerts_app(settings: Settings, services: Any) -> Any:
    """Monitoring's endpoints (``POST /alerts/…``), or None when ALERTS_TOKEN is not set."""
    token = settings.ALERTS_TOKEN.get_secret_value() if settings.ALERTS_TOKEN else ""
    if not token.strip():
        return None
    from bot.alerts.http import alerts_app

    return alerts_app(services.alerts, token, services.outbox.deliver_due)


def _alerts_server(settings: Settings, app: Any) -> Any:
    """Socket Mode needs no inbound port for Slack, but monitoring must reach the bot: with
    ALERTS_TOKEN set, ``/alerts/…`` is served on PORT."""
    if app is None:
        return None
    from bot.ops.server import HttpServer

    server = HttpServer(app, host=settings.HOST, port=settings.PORT, threads=settings.WORKERS)
    server.start_in_thread()
    log.info("alerts endpoint", extra={"host": server.host, "port": server.port})
    return server


def _doctor(_settings: Settings, _args: argparse.Namespace) -> int:
    """Reads the environment itself: an invalid setting is one ✗ line, not a refusal."""
    logging.getLogger().setLevel(logging.WARNING)  # the report is the output
    from bot.ops.doctor import run_doctor

    return run_doctor(sys.stdout)


def _demo(_settings: Settings, args: argparse.Namespace) -> int:
    # The transcript is the output: only warnings go to stderr (set before the imports, which
    # already log: alembic announces its plugins when it is imported).
    logging.getLogger().setLevel(logging.WARNING)
    from bot.devkit.demo import STEPS, TWO_MEASURES, run_demo

    steps = TWO_MEASURES if args.two_measures else STEPS
    return run_demo(sys.stdout, steps=steps, dossier_dir=args.dossier)


def _sandbox(settings: Settings, _args: argparse.Namespace) -> int:
    """No Slack credentials: PORT (default 3000), NCBOT_CONFIG (else the sample workspace) and
    SANDBOX_DATABASE_URL (else a temporary SQLite file; Reset wipes whichever it is) are read.
    Never DATABASE_URL: a shell set up for production must not have its database wiped."""
    from bot.devkit.sandbox import SandboxServer
    from bot.ops.runtime import workspace_from

    workspace = workspace_from(settings, allow_sample=True)
    database_url = settings.SANDBOX_DATABASE_URL
    server = SandboxServer(
        workspace, port=settings.PORT, database_url=database_url, workers=settings.WORKERS
    )
    server.start()
    print(f"Sandbox running: open {server.url}/ in your browser (Ctrl+C stops it)", flush=True)
    try:
        server.run_until_signalled()
    finally:
        server.stop()
    return 0


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import current_revision, upgrade

    db = Database(settings.DATABASE_URL)
    try:
        upgrade(db)
    except Exception as exc:
        raise ConfigError(
            f"DATABASE_URL: the database cannot be migrated ({type(exc).__name__})"
        ) from None
    print(f"database at revision {current_revision(db)}")
    return 0


def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when every checked chain is intact, 1 when one is broken, 2 for bad input."""
    from bot.audit import anchoring
    from bot.audit.trail import missing_numbers, verify_case
    from bot.cases.service import parse_ref
    from storage import cases as case_rows
    from storage.db import Database

    key = _public_key(settings, args.public_key, required=False)
    external = _external_checkpoints(settings, args.checkpoints)
    db = Database(settings.DATABASE_URL)
    bad: set[int] = set()
    checked = 0
    with db.transaction() as session:
        missing, beyond = missing_numbers(session)
        anchored = anchoring.check(session, key, external)
        if args.case:
            number = parse_ref(args.case)
            if number is None:
                raise ConfigError(f"'{args.case}' is not a case reference like NC-12")
            case = case_rows.by_number(session, number)
            if case is None and number not in missing:
                raise ConfigError(f"there is no case {args.case}")
            cases = [case] if case is not None else []
            missing = [number] if case is None else []
            beyond = [number] if number in beyond else []
            rewritten = {n: d for n, d in anchored.cases.items() if n == number}
        else:
            cases = list(case_rows.all_cases(session))
            rewritten = anchored.cases
        for case in cases:
            checked += 1
            result = verify_case(session, case)
            if case.number in rewritten:
                bad.add(case.number)
                print(f"{case.ref}: BROKEN: rewritten — {rewritten[case.number]}")
            elif result.ok:
                print(f"{case.ref}: ok ({result.checked} events, chain intact)")
            if not result.ok:
                bad.add(case.number)
                seq = result.first_bad_seq
                where = f" at event {seq}" if seq is not None else ""
                print(f"{case.ref}: BROKEN{where}: {result.problem} — {result.detail}")
        issued = case_rows.numbers_issued(session)
        for number in missing:
            checked += 1
            bad.add(number)
            print(
                f"NC-{number}: MISSING — the counter gave out NC-1..NC-{issued} and this case "
                "is gone with its events (deleted whole)"
            )
        for number in beyond:
            bad.add(number)
            print(
                f"NC-{number}: BROKEN — above the number counter (NC-{issued}): "
                "the counter was set back"
            )
    print(_checkpoint_summary(anchored))
    for problem in anchored.problems:
        print(f"checkpoints: BROKEN — {problem}")
    print(f"{checked} case(s) checked, {len(bad)} broken")
    return 1 if bad or anchored.problems else 0


def _checkpoint_summary(anchored: Any) -> str:
    if not anchored.checked and not anchored.stored:
        return "checkpoints: none — the chains are not anchored outside the database (AUDIT_KEY)"
    if not anchored.checked:
        return (
            "checkpoints: not checked — set AUDIT_PUBLIC_KEY (or pass --public-key) to check "
            "the chains against the signed checkpoints"
        )
    if anchored.newest is None:
        return "checkpoints: none sound yet — the chains are not anchored outside the database"
    return f"checkpoints: every chain checked against checkpoint {anchored.newest}"


def _public_key(settings: Settings, given: str | None, *, required: bool) -> Any:
    """The key checkpoints are checked with: given, AUDIT_PUBLIC_KEY, or AUDIT_KEY's own."""
    from bot.audit import checkpoint as cp

    try:
        if given or settings.AUDIT_PUBLIC_KEY:
            return cp.public_key(given or settings.AUDIT_PUBLIC_KEY or "")
        if settings.AUDIT_KEY is not None:
            return cp.private_key(settings.AUDIT_KEY.get_secret_value()).public_key()
    except cp.BadKey as exc:
        raise ConfigError(str(exc)) from None
    if required:
        raise ConfigError("no public key: pass --public-key or set AUDIT_PUBLIC_KEY")
    return None


def _external_checkpoints(settings: Settings, files: list[str]) -> list[Any]:
    from bot.audit import checkpoint as cp

    paths = [Path(f) for f in files]
    kept = settings.AUDIT_CHECKPOINT_FILE
    if kept is not None and str(kept).strip() and Path(kept).exists():
        paths.append(Path(kept))
    found: list[Any] = []
    for path in paths:
        try:
            found += cp.parse(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the checkpoints ({exc.strerror})") from None
    return found


def _audit_keygen(_settings: Settings, _args: argparse.Namespace) -> int:
    from bot.audit import checkpoint as cp

    seed = cp.new_seed()
    print(f"AUDIT_KEY={seed}")
    print(f"public key: {cp.public_b64(cp.private_key(seed))}")
    print(
        "Keep AUDIT_KEY in the bot's environment only (never in the database); give the public "
        "key to whoever checks checkpoints (AUDIT_PUBLIC_KEY, or --public-key)."
    )
    return 0


def _audit_check_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when every checkpoint is signed by the key and follows the one before."""
    from bot.audit import checkpoint as cp

    key = _public_key(settings, args.public_key, required=True)
    if args.file in (None, "-"):
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{args.file}: cannot read it ({exc.strerror})") from None
    found = cp.parse(text)
    if not found:
        raise ConfigError('no checkpoint found (a line starting with {"checkpoint")')
    for item in sorted(found, key=lambda i: i.seq):
        signed = "signature ok" if cp.signed_by(item, key) else "SIGNATURE DOES NOT MATCH"
        s = item.statement
        print(
            f"checkpoint {item.seq} ({s.get('at')}, {s.get('reason')}, {s.get('cases')} cases, "
            f"heads digest {str(s.get('heads_digest'))[:16]}…): {signed}"
        )
    problems = cp.check_sequence(found, key)
    for problem in problems:
        print(f"BROKEN — {problem}")
    print(f"{len(found)} checkpoint(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def _audit_checkpoint(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.audit.anchoring import Anchoring
    from bot.ops.runtime import workspace_from
    from storage.db import Database

    settings.require("AUDIT_KEY")
    workspace = workspace_from(settings, allow_sample=True)
    anchoring = Anchoring(
        Database(settings.DATABASE_URL),
        workspace,
        utc_now,
        settings.secret("AUDIT_KEY"),
        settings.AUDIT_CHECKPOINT_FILE,
    )
    seq = anchoring.make("manual")
    anchoring.sync_file()
    print(f"checkpoint {seq} made" if seq else "no checkpoint made")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.dossier.cli import run_export

    return run_export(
        settings.DATABASE_URL,
        args.case,
        args.all_cases,
        args.format,
        args.output,
        language=args.language,
        report=args.report,
        report_type=args.report_type,
    )


def _catalogue_import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.ops.catalogue import sync_catalogue
    from bot.ops.workspace import load_catalogue
    from storage.db import Database
    from storage.migrate import upgrade

    catalogue = load_catalogue(Path(args.file))
    db = Database(settings.DATABASE_URL)
    upgrade(db)
    summary = sync_catalogue(db, catalogue)
    active = f"{summary.systems} active systems, {summary.partners} active partners"
    gone = f"{summary.deactivated_systems} systems, {summary.deactivated_partners} partners"
    print(f"catalogue imported: {active}; deactivated {gone}")
    return 0
