"""OAuth installs: where the bot's token comes from when Slack gave it through an install.

One provider runs one deployment, with one app (``SLACK_CLIENT_ID``). Its installations are kept
by slack-sdk's SQLAlchemy installation store in our own database (``storage.slack_tables``),
wrapped so that every token is encrypted at rest with ``TOKEN_ENCRYPTION_KEY`` (Fernet; the key
is never stored in the database): encrypted on save, decrypted on find.

``InstalledTokens`` is the token source the Web API client asks before every call
(``bot.delivery.slack_api``), so outbox sends and timers, which run outside any request, use the
token of the moment too. It also keeps the token fresh when Slack rotates it
(``token_rotation_enabled``): Slack revokes a refresh token once it is used, so the refresh is
claimed with a database lease (``storage.leases.claim_due``) and done by one process at a time;
the others keep using the token they have while it is valid, or wait for the new one.

Only the workspaces and organisations ``SLACK_INSTALL_TEAMS`` names may be ours
(``identity.InstallTeams``): the install flow refuses any other (``bot.app.PinnedOAuthFlow``:
nothing stored, its token revoked with ``revoke``), and the store neither saves nor finds nor
lists one, so a row put in the tables by other means is never used and its users never ours.

An uninstall (``app_uninstalled``) or revoked tokens (``tokens_revoked``) deactivate the
installation: its tokens are deleted, and the client refuses every call with that reason, which
the outbox records as the failure of what was owed.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import and_, delete, desc, func, select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.delivery.slack_api import TokenUnavailable
from bot.ops import identity, metrics
from bot.ops.checks.scopes import manifest_scopes
from bot.ops.identity import InstallTeams, user_homes
from storage import slack_tables
from storage.db import Database
from storage.leases import claim_due
from storage.models import SlackInstall, SlackRoute

log = logging.getLogger("ncbot.installs")

PREFIX = "fernet:"  # marks a value this module encrypted (never a Slack token's prefix)
ACTIVE = "pending"  # SlackInstall.status while its tokens may be used (a refresh is pending)
INACTIVE = "inactive"
NEVER = datetime(9999, 1, 1, tzinfo=UTC)
REFRESH_MARGIN = timedelta(hours=2)  # Slack's tokens live 12 hours: refresh with 2 to spare
REFRESH_LEASE = timedelta(seconds=30)
WAIT_FOR_REFRESH = 15.0  # seconds a caller whose token expired waits for another's refresh
RETRY_ROUTE = 600.0  # seconds before asking again about a channel no installation saw
STATE_SECONDS = 600  # how long an install link (its OAuth state) may be followed


class TokenCipher:
    """Fernet encryption of the tokens kept in the database. ``key`` may list several keys,
    comma-separated: the first encrypts, any of them decrypts (rotating the key: put the new
    one first; tokens saved from then on, every refresh and reinstall, use it)."""

    def __init__(self, key: str) -> None:
        self._fernet = MultiFernet(
            [Fernet(k.strip().encode()) for k in key.split(",") if k.strip()]
        )

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str | None) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            # Another key encrypted it: the installation cannot be used until reinstalled.
            raise TokenUnavailable("token_key_mismatch") from None


class ForeignInstallation(Exception):
    """An installation in a workspace or organisation ``SLACK_INSTALL_TEAMS`` does not name."""

    def __init__(self, enterprise_id: str | None, team_id: str | None) -> None:
        super().__init__(f"installation {install_key(enterprise_id, team_id)} is not allowed")
        self.enterprise_id = enterprise_id
        self.team_id = team_id


def revoke(api_url: str, token: str | None) -> bool:
    """Revoke a token Slack issued (``auth.revoke``) so that it does not linger: the token of
    an install we refused. Whether Slack confirmed it; a failure is logged, never raised."""
    if not token:
        return False
    client = WebClient(base_url=api_url, token=token, timeout=10)
    try:
        return bool(client.auth_revoke().get("revoked"))
    except (SlackApiError, OSError) as exc:
        log.error("could not revoke the token of a refused install: %s", type(exc).__name__)
        return False


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack-sdk's store on our tables, with tokens encrypted at rest."""

    def __init__(
        self,
        client_id: str,
        db: Database,
        cipher: TokenCipher,
        clock: Clock,
        *,
        allowed: InstallTeams,
    ) -> None:
        super().__init__(client_id=client_id, engine=db.engine)
        self.metadata = slack_tables.SLACK_METADATA
        self.bots = slack_tables.bots
        self.installations = slack_tables.installations
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.allowed = allowed  # SLACK_INSTALL_TEAMS: nothing outside it is saved or read
        self._ignored: set[str] = set()  # stored installations outside it, warned about once

    def allows(self, found: Installation | Bot) -> bool:
        return self.allowed.allows(
            found.enterprise_id, found.team_id, bool(found.is_enterprise_install)
        )

    def save(self, installation: Installation) -> None:
        if not self.allows(installation):  # the install flow refuses it before (app.py)
            raise ForeignInstallation(installation.enterprise_id, installation.team_id)
        sealed = copy.copy(installation)
        for name in slack_tables.TOKEN_COLUMNS:
            setattr(sealed, name, self.cipher.encrypt(getattr(installation, name)))
        super().save(sealed)  # saves the bot too, through save_bot
        self.activate(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        if not self.allows(bot):
            raise ForeignInstallation(bot.enterprise_id, bot.team_id)
        sealed = copy.copy(bot)
        sealed.bot_token = self.cipher.encrypt(bot.bot_token) or ""
        sealed.bot_refresh_token = self.cipher.encrypt(bot.bot_refresh_token)
        super().save_bot(sealed)

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened_bot(bot if bot is not None and self.allows(bot) else None)

    def latest_bot(self) -> Bot | None:
        """The newest bot token of this app in an allowed workspace or organisation."""
        c = self.bots.c
        query = (
            select(self.bots)
            .where(and_(c.client_id == self.client_id, c.bot_token.is_not(None)))
            .order_by(desc(c.installed_at), desc(c.id))
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                bot = self.build_bot_entity(row)
                if self.allows(bot):
                    return self._opened_bot(bot)
        return None

    def foreign(self) -> list[str]:
        """The installations kept in the database outside ``SLACK_INSTALL_TEAMS`` (put there by
        other means, or before the setting changed): never used; ``doctor`` names them."""
        c = self.bots.c
        query = (
            select(c.enterprise_id, c.team_id, c.is_enterprise_install)
            .where(and_(c.client_id == self.client_id, c.bot_token.is_not(None)))
            .distinct()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return sorted(
            {
                install_key(enterprise_id, team_id)
                for enterprise_id, team_id, org_wide in rows
                if not self.allowed.allows(enterprise_id, team_id, bool(org_wide))
            }
        )

    def active_bots(self) -> dict[str, Bot]:
        """Every installation's newest bot, by ``install_key``, newest installation first
        (an uninstall deletes its rows: what is left may be used)."""
        c = self.bots.c
        # Each refresh adds a row (slack-sdk keeps them): read only each installation's newest.
        newest = (
            select(func.max(c.id))
            .where(and_(c.client_id == self.client_id, c.bot_token.is_not(None)))
            .group_by(c.enterprise_id, c.team_id)
        )
        query = select(self.bots).where(c.id.in_(newest)).order_by(desc(c.installed_at), desc(c.id))
        found: dict[str, Bot] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                bot = self.build_bot_entity(row)
                key = install_key(bot.enterprise_id, bot.team_id)
                if not self.allows(bot):
                    if key not in self._ignored:  # asked at every call: say it once
                        self._ignored.add(key)
                        log.warning(
                            "stored installation outside SLACK_INSTALL_TEAMS ignored",
                            extra={"install": key},
                        )
                elif key not in found:
                    opened = self._opened_bot(bot)
                    assert opened is not None
                    found[key] = opened
        return found

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        if found is not None and not self.allows(found):
            return None
        if found is not None:
            for name in slack_tables.TOKEN_COLUMNS:
                setattr(found, name, self.cipher.decrypt(getattr(found, name)))
        return found

    def _opened_bot(self, bot: Bot | None) -> Bot | None:
        if bot is not None:
            bot.bot_token = self.cipher.decrypt(bot.bot_token) or ""
            bot.bot_refresh_token = self.cipher.decrypt(bot.bot_refresh_token)
        return bot

    # ------------------------------------------------------------ our standing of each install

    def activate(self, bot: Bot) -> None:
        """A new install (or reinstall): usable, with its refresh due as its token says."""
        now = self.clock()
        key = install_key(bot.enterprise_id, bot.team_id)
        with self.db.transaction() as session:
            row = session.scalar(select(SlackInstall).where(SlackInstall.key == key))
            if row is None:
                row = SlackInstall(key=key, due_at=NEVER, changed_at=now)
                session.add(row)
            row.status, row.reason, row.claimed_until = ACTIVE, None, None
            row.due_at, row.changed_at = refresh_due(bot), now

    def deactivate(self, enterprise_id: str | None, team_id: str | None, reason: str) -> None:
        """Uninstalled or revoked: the tokens are deleted (they are dead; a thief gains nothing
        from them) and the reason is kept, for whatever was still owed."""
        now = self.clock()
        key = install_key(enterprise_id, team_id)
        if not self.allowed.allows(enterprise_id, team_id, team_id is None):
            # Never one of ours (a refused install's token revoked, Slack saying so): nothing
            # of ours to stop, and no trace that would make routing think one of ours went.
            log.warning("uninstall outside SLACK_INSTALL_TEAMS ignored", extra={"install": key})
            return
        with self.db.transaction() as session:
            row = session.scalar(select(SlackInstall).where(SlackInstall.key == key))
            if row is None:
                row = SlackInstall(key=key, due_at=NEVER, changed_at=now)
                session.add(row)
            row.status, row.reason, row.changed_at, row.claimed_until = INACTIVE, reason, now, None
            for table in (self.bots, self.installations):
                c = table.c
                session.execute(
                    delete(table).where(
                        and_(
                            c.client_id == self.client_id,
                            c.enterprise_id == enterprise_id,
                            c.team_id == team_id,
                        )
                    )
                )
        log.warning("installation deactivated", extra={"team_id": team_id, "reason": reason})

    def standing(self, bot: Bot) -> SlackInstall | None:
        with self.db.read() as session:
            return session.scalar(
                select(SlackInstall).where(
                    SlackInstall.key == install_key(bot.enterprise_id, bot.team_id)
                )
            )

    def has_inactive(self) -> bool:
        """Whether some installation was uninstalled: with several, what went to it must
        not go to another one's token."""
        with self.db.read() as session:
            found = session.scalar(
                select(SlackInstall.id).where(SlackInstall.status == INACTIVE).limit(1)
            )
            return found is not None

    def inactive_reason(self) -> str | None:
        """Why the newest deactivated installation was deactivated (none installed since)."""
        with self.db.read() as session:
            row = session.scalar(
                select(SlackInstall)
                .where(SlackInstall.status == INACTIVE)
                .order_by(desc(SlackInstall.changed_at))
                .limit(1)
            )
            return row.reason if row is not None else None


class OAuthStates(SQLAlchemyOAuthStateStore):
    """slack-sdk's state store on our table, a state consumed once even by two replicas at once
    (its own select-then-delete could let both succeed)."""

    def __init__(self, db: Database) -> None:
        super().__init__(expiration_seconds=STATE_SECONDS, engine=db.engine)
        self.metadata = slack_tables.SLACK_METADATA
        self.oauth_states = slack_tables.oauth_states

    def consume(self, state: str) -> bool:
        c = self.oauth_states.c
        now = datetime.now(UTC).replace(tzinfo=None)  # slack-sdk stores naive UTC
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(self.oauth_states).where(and_(c.state == state, c.expire_at > now))
            )
            return bool(gone.rowcount == 1)


def install_key(enterprise_id: str | None, team_id: str | None) -> str:
    return f"{enterprise_id or ''}:{team_id or ''}"


# Where a Web API call's argument names whom it goes to: a channel (a user id as channel is a
# DM), else a user (views.publish, users.info, conversations.open).
TARGET_ARGS = ("channel", "channel_id", "user_id", "user", "users")


def call_target(args: Mapping[str, Any] | str | None) -> str | None:
    """The channel or user a call goes to, if its arguments name one."""
    if args is None or isinstance(args, str):
        return args or None
    for name in TARGET_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value:
            return value.split(",")[0].strip()
    return None


def refresh_due(bot: Bot) -> datetime:
    """When a rotating token must be refreshed: two hours before it expires, or a quarter of
    its life before (for tokens that live less long, as in tests); never for a lasting one."""
    if not bot.bot_token_expires_at or not bot.bot_refresh_token:
        return NEVER
    expires = float(bot.bot_token_expires_at)
    life = max(expires - float(bot.installed_at), 0.0)
    margin = min(REFRESH_MARGIN.total_seconds(), life / 4)
    return datetime.fromtimestamp(expires - margin, UTC)


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: str
    api_url: str


class InstalledTokens:
    """The token source of this app's installations: for each call, the current bot token of
    the installation that reaches the call's channel or user, refreshed when due.

    One installation (a workspace, or an organisation org-wide) is the common case: its token
    serves every call. Several workspaces of one provider, each installed through the same
    ``/slack/install``: a channel belongs to the installation whose token can see it, found once
    with ``conversations.info`` and remembered in the database (``slack_routes``: every replica
    asks once); a user belongs to the installation of their workspace, learnt from a request's
    team (``for_request``) or else found with ``users.info``. A call that names neither (user
    groups, uploads) uses the triage channel's installation (``default_channel``).
    ``team_id``/``enterprise_id`` pin one installation instead."""

    def __init__(
        self,
        store: EncryptedInstallationStore,
        app: OAuthApp,
        clock: Clock,
        *,
        enterprise_id: str | None = None,
        team_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.app = app
        self.clock = clock
        self.enterprise_id = enterprise_id
        self.team_id = team_id
        self.default_channel: str | None = None  # the triage channel (``build_services``)
        self._sleep = sleep
        self._refreshing = threading.Lock()  # one thread of this process; the lease for the rest
        self._routes: dict[str, str] = {}  # target (channel or user) -> install key
        self._missed: dict[str, float] = {}  # target no installation saw -> when (monotonic)
        # Told every installation (default first) when the set is first seen or changes (an
        # install made while running, possibly by another replica): see ``build_services``.
        self.on_change: list[Callable[[list[Bot]], None]] = []
        self._seen: frozenset[tuple[str, str | None]] | None = None

    def __call__(self, method: str = "", args: Mapping[str, Any] | None = None) -> str:
        return self.bot(args).bot_token

    def bot(self, args: Mapping[str, Any] | None = None) -> Bot:
        """The bot of the installation a call with ``args`` goes to (none: the default), with
        a token usable now; ``TokenUnavailable`` otherwise."""
        bots = self._active()
        return self._usable(self._choose(bots, call_target(args or {})))

    def bots(self) -> list[Bot]:
        """Every active installation's bot, the default one (the triage channel's) first."""
        return self._ordered(self._active())

    def for_request(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        channel_id: str | None = None,
    ) -> Bot:
        """A request's installation: that of the workspace (or organisation) it came from —
        remembered as the user's — else the channel's (a Slack Connect partner's click)."""
        bots = self._active()
        key = install_key(enterprise_id, team_id)
        if key not in bots and enterprise_id:
            key = install_key(enterprise_id, None)  # installed org-wide
        if key in bots:
            if user_id and len(bots) > 1:
                self.learn(user_id, key)
            return self._usable(bots[key])
        return self._usable(self._choose(bots, channel_id))

    def refresh_due(self) -> None:
        """Refresh every installation's token that is due (the sweep, for an idle bot)."""
        for bot in self._active().values():
            with contextlib.suppress(TokenUnavailable):
                self._usable(bot)

    # ------------------------------------------------------------ which installation

    def _active(self) -> dict[str, Bot]:
        if self.team_id is None and self.enterprise_id is None:
            bots = self.store.active_bots()
        else:
            pinned = self.store.find_bot(enterprise_id=self.enterprise_id, team_id=self.team_id)
            bots = {install_key(pinned.enterprise_id, pinned.team_id): pinned} if pinned else {}
        if not bots:
            raise TokenUnavailable(self.store.inactive_reason() or "not_installed")
        seen = frozenset((key, bot.bot_user_id) for key, bot in bots.items())
        if seen != self._seen:
            self._seen = seen
            for listener in self.on_change:
                listener(self._ordered(bots))
        return bots

    def _ordered(self, bots: dict[str, Bot]) -> list[Bot]:
        """The default installation (the triage channel's) first, then the others."""
        try:
            first = self._choose(bots, None)
        except TokenUnavailable:  # the triage channel's installation was uninstalled
            first = next(iter(bots.values()))
        return [first, *(b for b in bots.values() if b is not first)]

    def _choose(self, bots: dict[str, Bot], target: str | None) -> Bot:
        if len(bots) == 1 and not self.store.has_inactive():
            return next(iter(bots.values()))  # one installation, and never another: no routes
        key = self.route(target, bots) if target else None
        if key is None and self.default_channel:
            key = self.route(self.default_channel, bots)
        return bots[key] if key in bots else next(iter(bots.values()))

    def route(self, target: str, bots: dict[str, Bot]) -> str | None:
        """The installation that reaches ``target``: remembered, else found and remembered.
        One that was uninstalled since is refused with its reason (kept for a reinstall)."""
        key = self._routes.get(target)
        if key is None:
            with self.store.db.read() as session:
                row = session.get(SlackRoute, target)
                key = row.install_key if row is not None else None
        if key in bots:
            self._routes[target] = str(key)
            return key
        if key is not None:
            self._refuse_if_inactive(key)
        missed = self._missed.get(target)
        if missed is not None and time.monotonic() - missed < RETRY_ROUTE:
            return None
        key = self._discover(target, bots)
        if key is None:
            self._missed[target] = time.monotonic()
        else:
            self._missed.pop(target, None)
            self.learn(target, key)
        return key

    def _refuse_if_inactive(self, key: str) -> None:
        with self.store.db.read() as session:
            row = session.scalar(select(SlackInstall).where(SlackInstall.key == key))
            if row is not None and row.status == INACTIVE:
                raise TokenUnavailable(row.reason or "app_uninstalled")

    def learn(self, target: str, key: str) -> None:
        """Remember which installation reaches ``target`` (kept by the first who found it)."""
        if self._routes.get(target) == key:
            return
        self._routes[target] = key
        try:
            with self.store.db.transaction() as session:
                row = session.get(SlackRoute, target)
                if row is None:
                    session.add(SlackRoute(target=target, install_key=key, found_at=self.clock()))
                elif row.install_key != key:
                    row.install_key, row.found_at = key, self.clock()
        except IntegrityError:
            pass  # another replica remembered it at the same moment

    def _discover(self, target: str, bots: dict[str, Bot]) -> str | None:
        """Ask Slack once, with each installation's token, which one sees the channel (a
        token sees its own workspace's channels and those shared with it) or the user (the
        installation of the user's own workspace, else any that sees them)."""
        seen_by: list[str] = []
        for key, bot in bots.items():
            try:
                token = self._usable(bot).bot_token  # refreshed first if due
            except TokenUnavailable:
                continue
            client = WebClient(
                base_url=self.app.api_url, token=token, timeout=10, retry_handlers=[]
            )
            try:
                if target[:1] in ("U", "W"):
                    user = client.users_info(user=target)["user"]
                    homes = user_homes(user) if isinstance(user, Mapping) else frozenset()
                    if {bot.team_id, bot.enterprise_id} & homes:
                        return key
                    seen_by.append(key)
                else:
                    client.conversations_info(channel=target)
                    return key
            except SlackApiError as exc:
                status = exc.response.status_code
                if status == 429 or status >= 500:  # no answer yet: not a "no"; try later
                    wait = float(exc.response.headers.get("Retry-After", 5) or 5)
                    raise TokenUnavailable("route_unknown", retry_after=wait) from None
                continue  # channel_not_found, user_not_found: not this installation's
            except OSError:
                raise TokenUnavailable("route_unknown", retry_after=5.0) from None
        if not seen_by:
            log.warning("no installation reaches it", extra={"target": target})
        return seen_by[0] if seen_by else None

    # ------------------------------------------------------------ a usable token

    def _usable(self, bot: Bot) -> Bot:
        standing = self.store.standing(bot)
        if standing is not None and standing.status != ACTIVE:
            raise TokenUnavailable(standing.reason or "app_uninstalled")
        if self.clock() >= refresh_due(bot):
            bot = self._refreshed(bot)
        return bot

    def _find(self, bot: Bot) -> Bot:
        found = self.store.find_bot(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bot.is_enterprise_install,
        )
        if found is None:
            raise TokenUnavailable(self.store.inactive_reason() or "not_installed")
        return found

    def _refreshed(self, bot: Bot) -> Bot:
        """Refresh under the lease; without it, wait for whoever holds it (or use the token
        still valid meanwhile)."""
        deadline = time.monotonic() + WAIT_FOR_REFRESH
        while True:
            with self._refreshing:
                fresh = self._find(bot)
                if self.clock() < refresh_due(fresh):
                    return fresh  # someone else refreshed it meanwhile
                if self._claim(fresh):
                    return self._refresh(fresh)
            if not _expired(fresh, self.clock()):
                return fresh  # another process is refreshing; this token still works
            if time.monotonic() > deadline:
                raise TokenUnavailable("token_expired", retry_after=5.0)
            self._sleep(0.2)

    def _claim(self, bot: Bot) -> bool:
        key = install_key(bot.enterprise_id, bot.team_id)
        with self.store.db.transaction() as session:
            claimed = claim_due(
                session,
                SlackInstall,
                due=SlackInstall.due_at,
                now=self.clock(),
                lease=REFRESH_LEASE,
                limit=1,
                where=[SlackInstall.key == key],
            )
        return bool(claimed)

    def _refresh(self, bot: Bot) -> Bot:
        client = WebClient(base_url=self.app.api_url, timeout=10, retry_handlers=[])
        try:
            answer = client.oauth_v2_access(
                client_id=self.app.client_id,
                client_secret=self.app.client_secret,
                grant_type="refresh_token",
                refresh_token=bot.bot_refresh_token,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "refresh_failed")
            metrics.TOKEN_REFRESHES.labels(outcome=error).inc()
            log.error("token refresh refused", extra={"error": error})
            if error in ("invalid_refresh_token", "token_revoked"):
                # The refresh token is dead (used by someone else, or revoked): without it the
                # token dies within hours. Stop now, with the reason, until reinstalled.
                self.store.deactivate(bot.enterprise_id, bot.team_id, error)
                raise TokenUnavailable(error) from None
            self._release(bot)
            raise TokenUnavailable(error, retry_after=5.0) from None
        except OSError as exc:
            metrics.TOKEN_REFRESHES.labels(outcome=type(exc).__name__).inc()
            self._release(bot)
            raise TokenUnavailable(type(exc).__name__, retry_after=5.0) from None
        now = self.clock().timestamp()
        fresh = Bot(
            **{
                **_bot_fields(bot),
                "bot_token": str(answer["access_token"]),
                "bot_refresh_token": str(answer["refresh_token"]),
                "bot_token_expires_in": int(answer["expires_in"]),
                "installed_at": now,
            }
        )
        fresh.bot_token_expires_at = int(now + int(answer["expires_in"]))
        self.store.save_bot(fresh)
        self.store.activate(fresh)
        metrics.TOKEN_REFRESHES.labels(outcome="ok").inc()
        log.info("bot token refreshed", extra={"team_id": bot.team_id})
        return fresh

    def _release(self, bot: Bot) -> None:
        key = install_key(bot.enterprise_id, bot.team_id)
        with self.store.db.transaction() as session:
            row = session.scalar(select(SlackInstall).where(SlackInstall.key == key))
            if row is not None:
                row.claimed_until = None


def _expired(bot: Bot, now: datetime) -> bool:
    return bool(bot.bot_token_expires_at) and now.timestamp() >= float(
        bot.bot_token_expires_at or 0
    )


def _bot_fields(bot: Bot) -> dict[str, Any]:
    return {
        "app_id": bot.app_id,
        "enterprise_id": bot.enterprise_id,
        "enterprise_name": bot.enterprise_name,
        "team_id": bot.team_id,
        "team_name": bot.team_name,
        "bot_id": bot.bot_id,
        "bot_user_id": bot.bot_user_id,
        "bot_scopes": bot.bot_scopes,
        "is_enterprise_install": bot.is_enterprise_install,
    }


def installed_where(bots: list[Bot], allowed: InstallTeams) -> identity.Installation | None:
    """Where the bots are installed: the first (the triage channel's), the rest ``others``;
    only where ``SLACK_INSTALL_TEAMS`` allows (the users of any other are never ours)."""
    found = [
        identity.Installation(
            team_id=bot.team_id,
            enterprise_id=bot.enterprise_id,
            is_enterprise_install=bool(bot.is_enterprise_install),
        )
        for bot in bots
        if (bot.team_id or bot.enterprise_id)
        and allowed.allows(bot.enterprise_id, bot.team_id, bool(bot.is_enterprise_install))
    ]
    return replace(found[0], others=tuple(found[1:])) if found else None


@dataclass(frozen=True)
class OAuthInstalls:
    """What ``serve`` needs for OAuth: the app's credentials, the stores, the token source."""

    app: OAuthApp
    store: EncryptedInstallationStore
    states: OAuthStates
    tokens: InstalledTokens
    scopes: tuple[str, ...]
    redirect_uri: str | None  # PUBLIC_URL + /slack/oauth_redirect, else the app's configured one
    authorization_url: str  # Slack's page where a person approves the install


def oauth_installs(
    *,
    client_id: str,
    client_secret: str,
    encryption_key: str,
    api_url: str,
    public_url: str | None,
    db: Database,
    clock: Clock,
    allowed: InstallTeams,
) -> OAuthInstalls:
    app = OAuthApp(client_id, client_secret, api_url)
    store = EncryptedInstallationStore(
        client_id, db, TokenCipher(encryption_key), clock, allowed=allowed
    )
    # Slack's page is https://slack.com/oauth/v2/authorize beside https://slack.com/api/.
    base = api_url.rstrip("/")
    base = base[: -len("/api")] if base.endswith("/api") else base
    return OAuthInstalls(
        app=app,
        store=store,
        states=OAuthStates(db),
        tokens=InstalledTokens(store, app, clock),
        scopes=manifest_scopes(),
        redirect_uri=f"{public_url.rstrip('/')}/slack/oauth_redirect" if public_url else None,
        authorization_url=f"{base}/oauth/v2/authorize",
    )
