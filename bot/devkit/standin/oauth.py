"""The stand-in's side of an OAuth install: the approval page, ``oauth.v2.access`` (code and
refresh grants), tokens that expire when rotation is on, and uninstalls that revoke them.

Like Slack: a code works once; with token rotation a token lives ``token_ttl`` seconds and a
refresh token works once (a second use is ``invalid_refresh_token``); the token it replaced
keeps working until its own expiry; an uninstall revokes every token of the app;
``auth.revoke`` revokes the token it is called with.

Several workspaces may install the app (``next_team``: the workspace the next approval is
for): each token belongs to its workspace (``team_of``), and the server lets it see only that
workspace's channels and users, and the channels shared with it, as Slack does. Another
organisation may install it too (``next_enterprise``), as a distributed app allows.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class Grant:
    token: str
    expires_at: float | None  # None: a lasting token (no rotation)
    revoked: bool = False
    team: str | None = None  # the workspace it was installed in; None: the organisation


@dataclass
class OAuthServer:
    client_id: str
    client_secret: str
    token_rotation: bool = False
    token_ttl: float = 12 * 3600.0
    redirect_uri: str | None = None  # the app's configured one, used when a request has none
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_team: str | None = None  # the workspace the next approval installs in (None: ours)
    # the Grid organisation the next approval is from (None: the stand-in's own, if any): an
    # install from another organisation, for the tests of SLACK_INSTALL_TEAMS
    next_enterprise: str | None = None
    # code -> (redirect_uri given, the workspace approved, the organisation approved from)
    codes: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)  # tokens revoked with auth.revoke
    refresh_teams: dict[str, str | None] = field(default_factory=dict)  # refresh -> workspace
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # token -> still usable
    refreshes: list[float] = field(default_factory=list)  # when each refresh grant was used
    refused_refreshes: int = 0
    static_revoked: bool = False
    _counter: int = 0

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """``GET /oauth/v2/authorize``: the person approves at once. Returns (status, where
        the browser goes next, or why not)."""
        if query.get("client_id") != self.client_id:
            return 400, "invalid_client_id"
        redirect = query.get("redirect_uri") or self.redirect_uri
        if not redirect:
            return 400, "no_redirect_uri"
        code = secrets.token_hex(12)
        with self.lock:
            self.codes[code] = (
                query.get("redirect_uri"),
                query.get("team") or self.next_team,
                self.next_enterprise,
            )
        params = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
        return 302, f"{redirect}{'&' if '?' in redirect else '?'}{params}"

    def access(
        self,
        args: JSON,
        headers: dict[str, str],
        team: JSON | None,
        bot: JSON,
        enterprise: JSON | None = None,
        org_wide: bool = False,
    ) -> JSON:
        """``oauth.v2.access``: a code or a refresh token for a bot token. ``enterprise``: the
        Grid organisation; ``org_wide``: installed for it (``team`` is then null)."""
        client_id, secret = _client_credentials(args, headers)
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        with self.lock:
            if args.get("grant_type") == "refresh_token":
                refresh = str(args.get("refresh_token") or "")
                if not self.refresh_tokens.get(refresh):
                    self.refused_refreshes += 1
                    return {"ok": False, "error": "invalid_refresh_token"}
                self.refresh_tokens[refresh] = False  # Slack revokes a used refresh token
                self.refreshes.append(time.time())
                installed = self.refresh_teams.get(refresh)
            else:
                code = str(args.get("code") or "")
                if code not in self.codes:
                    return {"ok": False, "error": "invalid_code"}
                expected, installed, organisation = self.codes.pop(code)
                if expected and args.get("redirect_uri") != expected:
                    return {"ok": False, "error": "bad_redirect_uri"}
                if organisation:
                    enterprise = {"id": organisation, "name": organisation}
            if team is not None and installed and installed != team["id"]:
                team = {"id": installed, "name": installed}
            return {"ok": True, **self._issue(team, bot, enterprise, org_wide)}

    def _issue(self, team: JSON | None, bot: JSON, enterprise: JSON | None, org_wide: bool) -> JSON:
        self._counter += 1
        answer: JSON = {
            "token_type": "bot",
            "scope": bot["scope"],
            "bot_user_id": bot["user_id"],
            "app_id": bot["app_id"],
            "team": team,
            "enterprise": enterprise,
            "is_enterprise_install": org_wide,
            "authed_user": {"id": bot["installer"]},
        }
        workspace = str(team["id"]) if team else None
        if self.token_rotation:
            token = f"xoxe.xoxb-1-{self._counter}-{secrets.token_hex(8)}"
            refresh = f"xoxe-1-{self._counter}-{secrets.token_hex(8)}"
            self.refresh_tokens[refresh] = True
            self.refresh_teams[refresh] = workspace
            self.grants[token] = Grant(token, time.time() + self.token_ttl, team=workspace)
            answer.update(access_token=token, refresh_token=refresh, expires_in=int(self.token_ttl))
        else:
            token = f"xoxb-oauth-{self._counter}-{secrets.token_hex(8)}"
            self.grants[token] = Grant(token, None, team=workspace)
            answer["access_token"] = token
        return answer

    def check(self, token: str) -> str | None:
        """None for a token that works now, else Slack's error; "unknown" if not ours."""
        with self.lock:
            grant = self.grants.get(token)
            if grant is None:
                return "unknown"
            if grant.revoked:
                return "token_revoked"
            if grant.expires_at is not None and time.time() >= grant.expires_at:
                return "token_expired"
            return None

    def team_of(self, token: str) -> str | None:
        """The workspace an installed token acts in; None for an org-wide one or not ours."""
        with self.lock:
            grant = self.grants.get(token)
            return grant.team if grant is not None else None

    def revoke(self, token: str) -> bool:
        """``auth.revoke``: this one token stops working (as Slack, revoking an install's last
        token uninstalls the app there). Whether it was one this server issued."""
        with self.lock:
            grant = self.grants.get(token)
            if grant is None:
                return False
            grant.revoked = True
            self.revoked.append(token)
            return True

    def revoke_all(self, team: str | None = None) -> None:
        """An uninstall: every token and refresh token of the app stops working (``team``:
        only those of that workspace's installation)."""
        with self.lock:
            for grant in self.grants.values():
                if team is None or grant.team == team:
                    grant.revoked = True
            for refresh in self.refresh_tokens:
                if team is None or self.refresh_teams.get(refresh) == team:
                    self.refresh_tokens[refresh] = False
            self.static_revoked = self.static_revoked or team is None

    def tokens(self) -> list[str]:
        with self.lock:
            return list(self.grants)


def _client_credentials(args: JSON, headers: dict[str, str]) -> tuple[str, str]:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")
