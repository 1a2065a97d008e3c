"""Builds the Bolt ``App`` and its WSGI callable: the one module in ``bot/`` that imports Bolt."""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Installation

from bot.alerts.http import PREFIX as ALERTS_PREFIX
from bot.delivery.slack_api import TokenUnavailable
from bot.messages import shown_in, t
from bot.notices.http import PREFIX as RECEIPTS_PREFIX
from bot.ops import metrics, signed_requests
from bot.ops.installs import InstalledTokens, OAuthInstalls, revoke
from bot.ops.request_context import ContextExecutor, current_request, request_scope
from bot.services import Services
from handlers import pipeline, register_all

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
EVENTS_PATH = "/slack/events"
SLACK_PATHS = frozenset({EVENTS_PATH})  # every path Bolt serves (commands, actions, events)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
OAUTH_PATHS = frozenset({INSTALL_PATH, REDIRECT_PATH})  # GET, with OAuth: Bolt's install flow
log = logging.getLogger("ncbot.app")


def build_app(
    services: Services,
    *,
    signing_secret: str = "",
    workers: int = 8,
    socket_mode: bool = False,
    executor: ThreadPoolExecutor | None = None,
) -> ObservedApp:
    """The one Bolt App, for HTTP (signed requests) or Socket Mode (our own WebSocket).

    Socket Mode envelopes are not signed — the connection was opened with our app token — so
    only there is request verification off; over HTTP an empty secret is refused, because Bolt
    would accept it and every forged request would then be valid. Over HTTP the signature is
    checked twice: in the WSGI layer (``wsgi_app``) and, in place of Bolt's own check (which
    logs the whole body of a badly signed request), by ``_verify_signature`` at the same point
    of Bolt's pipeline, before authorization and URL verification.
    """
    if not socket_mode and not signing_secret:
        raise ValueError("an empty signing secret is refused")
    installs = services.installs
    app = ObservedApp(
        client=services.client,
        **(
            _oauth(installs, socket_mode, services.workspace.language)
            if installs is not None
            else {}
        ),
        signing_secret=signing_secret,
        token_verification_enabled=False,  # auth.test is ours to call, with a clear message
        request_verification_enabled=False,
        before_authorize=None if socket_mode else _verify_signature(signing_secret),
        # Pass ``executor`` to wait for listeners still at work when shutting down. Listeners run
        # in a copy of the request's context (its ids reach their log lines), and the request
        # is timed until its listener has finished.
        listener_executor=ContextExecutor(
            executor or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listener"),
            on_done=lambda scope: metrics.observe_request(scope.kind, scope.elapsed()),
        ),
        ssl_check_enabled=not socket_mode,
        url_verification_enabled=not socket_mode,
    )
    app.middleware(_name_request)
    app.edge = pipeline.install(app, services)
    register_all(app, services)
    return app


def _oauth(installs: OAuthInstalls, socket_mode: bool, language: str) -> dict[str, Any]:
    """With OAuth, each request is authorized by the token source (the token every other call
    uses too, refreshed under a lease), never by Bolt's own per-request refresh; and over HTTP
    Bolt's install flow serves ``/slack/install`` and ``/slack/oauth_redirect``, refusing an
    install from a workspace ``SLACK_INSTALL_TEAMS`` does not name."""
    options: dict[str, Any] = {"authorize": TokenAuthorize(installs.tokens)}
    if not socket_mode:
        settings = OAuthSettings(
            client_id=installs.app.client_id,
            client_secret=installs.app.client_secret,
            scopes=list(installs.scopes),
            redirect_uri=installs.redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            install_page_rendering_enabled=False,  # straight on to Slack's approval page
            authorization_url=installs.authorization_url,
            installation_store=installs.store,
            state_store=installs.states,
            logger=log,
            callback_options=CallbackOptions(
                success=lambda args: args.default.success(args),
                failure=lambda args: (
                    _refused_page(language)
                    if isinstance(args.error, RefusedInstall)
                    else args.default.failure(args)
                ),
            ),
        )
        options["oauth_flow"] = PinnedOAuthFlow(installs, settings=settings, logger=log)
    return options


class RefusedInstall(BoltError):
    """An install completed from a workspace (or organisation) ``SLACK_INSTALL_TEAMS`` does
    not name."""


class PinnedOAuthFlow(OAuthFlow):
    """Bolt's install flow, storing only installations where ``SLACK_INSTALL_TEAMS`` allows.
    Any other is refused before anything is stored: one warning line, the token Slack has just
    issued revoked (``auth.revoke``) so that it does not linger, and a page saying why."""

    def __init__(self, installs: OAuthInstalls, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.installs = installs

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        if not self.installs.store.allows(installation):
            log.warning(
                "install refused: not in SLACK_INSTALL_TEAMS",
                extra={
                    "team_id": installation.team_id,
                    "enterprise_id": installation.enterprise_id,
                },
            )
            for token in {installation.bot_token, installation.user_token} - {None}:
                revoke(self.installs.app.api_url, token)
            raise RefusedInstall("install from a workspace not in SLACK_INSTALL_TEAMS")
        super().store_installation(request, installation)


def _refused_page(language: str) -> BoltResponse:
    title = html.escape(t("install.refused.title", language))
    said = html.escape(t("install.refused.page", language))
    page = (
        f'<!doctype html>\n<html lang="{shown_in(language)}"><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>{said}</p>\n"
        "</body></html>\n"
    )
    return BoltResponse(
        status=403,
        body=page,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


class TokenAuthorize(Authorize):
    """Bolt's authorization from our token source: the bot of the installation the request
    came from (several workspaces: its workspace's, else its channel's), or none (an
    uninstalled app answers nothing but Bolt's "no longer available")."""

    def __init__(self, tokens: InstalledTokens) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.tokens = tokens

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        try:
            bot = self.tokens.for_request(enterprise_id, team_id, user_id, context.channel_id)
        except TokenUnavailable as exc:
            log.warning("request without a usable installation", extra={"reason": exc.reason})
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id or enterprise_id,
            team_id=bot.team_id or team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def _verify_signature(secret: str) -> Callable[..., BoltResponse]:
    """Bolt's request verification, without logging the body: 401 and one short line."""

    def verify(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> Any:
        if req.mode == "socket_mode":
            return next()
        reason = signed_requests.problem(
            secret,
            req.headers.get("x-slack-request-timestamp", [None])[0],
            req.headers.get("x-slack-signature", [None])[0],
            req.raw_body.encode(),
            time.time(),
        )
        if reason is None:
            return next()
        log.warning("request refused by Bolt's check", extra={"status": 401, "reason": reason})
        return BoltResponse(status=401, body={"error": "invalid request"})

    return verify


class ObservedApp(App):
    """Bolt's App, with each request timed and named for logs and metrics.

    ``dispatch`` is where both adapters (WSGI and Socket Mode) hand a request to Bolt and get
    the ack back, so the request scope opens here: listeners submitted during dispatch copy it.
    It keeps its signing secret for the WSGI layer's check (``wsgi_app``).
    """

    def __init__(self, **kwargs: Any) -> None:
        self.edge: pipeline.Edge | None = None  # set by build_app before any listener
        super().__init__(**kwargs)
        self.slack_signing_secret: str = kwargs.get("signing_secret") or ""

    def _register_listener(self, functions: Any, *args: Any, **kwargs: Any) -> Any:
        """Every listener runs inside the pipeline's ``Edge`` (refusals, delivery), however
        it was registered; see ``handlers.pipeline``."""
        if self.edge is not None:
            functions = [self.edge.wrap(function) for function in functions]
        return super()._register_listener(functions, *args, **kwargs)

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        with request_scope() as scope:
            response: BoltResponse = super().dispatch(req)
            elapsed = scope.elapsed()
            metrics.observe_ack(scope.kind, elapsed)
            log.debug(
                "slack request acked",
                extra={"kind": scope.kind, "status": response.status, "ms": round(elapsed * 1e3)},
            )
            return response


def _name_request(
    req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
) -> BoltResponse:
    """Runs once the request is verified and parsed: its kind and Slack's event id."""
    scope = current_request()
    if scope is not None:
        scope.kind = request_kind(req.body)
        if req.body.get("event_id"):
            scope.request_id = str(req.body["event_id"])
    return next()


def request_kind(body: dict[str, Any]) -> str:
    """command, action, view or event: the four ways Slack reaches a listener."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    if kind in ("block_actions", "interactive_message", "shortcut", "message_action"):
        return "action"
    if kind in ("view_submission", "view_closed"):
        return "view"
    if kind == "event_callback":
        return "event"
    return "other"


def drain_listeners(app: App, timeout: float) -> bool:
    """Let running listeners finish (what they do after the ack included) and take no more;
    False when they were still busy after ``timeout`` seconds."""
    executor = app.listener_runner.listener_executor
    waiter = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()


def wsgi_app(
    app: ObservedApp,
    services: Services,
    *,
    max_body: int = signed_requests.DEFAULT_MAX_BODY,
    alerts: WSGIApp | None = None,
    receipts: WSGIApp | None = None,
) -> WSGIApp:
    """``POST /slack/events`` for Slack, ``GET /healthz`` for the load balancer,
    ``/alerts/…`` for monitoring when ``alerts`` is given (``ALERTS_TOKEN`` is set),
    ``/receipts/…`` for partners who read notices by e-mail when ``receipts`` is given, and with
    OAuth ``GET /slack/install`` and ``GET /slack/oauth_redirect`` for a person's browser.

    Only what Bolt serves from Slack (``SLACK_PATHS``) is checked for Slack's signature and
    size, here, before Bolt parses anything; a path added beside it brings its own
    authentication (the install flow: its one-time ``state`` and the cookie Bolt sets with it).
    """
    slack = signed_requests.guard(
        SlackRequestHandler(app, path=EVENTS_PATH),  # type: ignore[arg-type]
        app.slack_signing_secret,
        max_body=max_body,
    )

    install: WSGIApp = SlackRequestHandler(app, path=EVENTS_PATH)  # type: ignore[assignment]

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if alerts is not None and path.startswith(ALERTS_PREFIX):
            return alerts(environ, start_response)  # bearer token, not Slack's signature
        if receipts is not None and path.startswith(RECEIPTS_PREFIX):
            return receipts(environ, start_response)  # the signed token is the authentication
        if path == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(services, start_response)
        if path in SLACK_PATHS:
            return slack(environ, start_response)
        if path in OAUTH_PATHS and app.oauth_flow is not None:
            # A person's browser, not Slack: no signature; the OAuth state protects the redirect.
            return install(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application


def _health(services: Services, start_response: StartResponse) -> list[bytes]:
    try:
        services.db.ping()
    except Exception as exc:
        body = json.dumps({"ok": False, "database": type(exc).__name__}).encode()
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [body]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"ok": True, "database": "ok"}).encode()]
