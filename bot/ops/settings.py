"""Settings from the environment (pydantic-settings), checked per command.

Every field is optional at load time because each command needs only what it uses:
``demo`` needs no Slack token, ``db upgrade`` needs only the database. A command calls
``require`` with the names it needs, and a missing, empty or invalid one becomes a
``ConfigError`` naming the variable — never echoing a value, since some are secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.ops.identity import InstallTeams

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///nonconformity.db"


RECEIPT_KEY_BYTES = 32
MAKE_KEY = "make one with python -c 'import secrets; print(secrets.token_urlsafe(48))'"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = SLACK_DEFAULT_API_URL
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    SANDBOX_DATABASE_URL: str | None = None  # the sandbox's own; it never touches DATABASE_URL
    NCBOT_CONFIG: Path | None = None
    PORT: int = Field(default=3000, ge=1, le=65535)
    HOST: str = "0.0.0.0"
    # Chosen by measurement (docs/benchmarks.md, "The default number of workers"): the fewest
    # threads whose `help` ack p99 stays within 1.2x a bare Bolt app with a thread per client.
    WORKERS: int = Field(default=12, ge=1, le=256)
    # The largest request body `serve` reads; a larger one gets 413 before anything parses it.
    MAX_BODY_BYTES: int = Field(default=1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    LOG_FORMAT: Literal["text", "json"] = "text"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics on its own port, on localhost by default: not public beside /slack/events.
    # METRICS_PORT=0 turns it off.
    METRICS_PORT: int = Field(default=9464, ge=0, le=65535)
    METRICS_HOST: str = "127.0.0.1"
    # SIGTERM: how long in-flight requests, listeners and the current sweep may take to finish.
    SHUTDOWN_TIMEOUT: float = Field(default=10.0, gt=0, le=600)
    # Monitoring's bearer token for POST /alerts/…; the endpoints exist only when it is set.
    ALERTS_TOKEN: SecretStr | None = None
    # The audit chains' signing key (base64 of an Ed25519 seed, `audit keygen`): signed
    # checkpoints are made only when it is set. Never stored in the database.
    AUDIT_KEY: SecretStr | None = None
    # The public key `audit verify` checks checkpoints with (else the one AUDIT_KEY gives).
    AUDIT_PUBLIC_KEY: str | None = None
    # An append-only file every checkpoint is also written to, one JSON line each.
    AUDIT_CHECKPOINT_FILE: Path | None = None
    # OAuth install (README "Installing with OAuth"): with both set, SLACK_BOT_TOKEN is not used
    # and tokens come from the installations kept in the database, encrypted with
    # TOKEN_ENCRYPTION_KEY (a Fernet key, kept outside the database).
    SLACK_CLIENT_ID: str | None = None
    SLACK_CLIENT_SECRET: SecretStr | None = None
    TOKEN_ENCRYPTION_KEY: SecretStr | None = None
    # Where this deployment may be installed, required with OAuth: comma-separated workspace
    # (T…) and Grid organisation (E…) ids. An install from anywhere else is refused (its token
    # revoked) and a stored installation outside the list is never used.
    SLACK_INSTALL_TEAMS: str | None = None
    # The public base URL of this deployment (https://bot.example.com): OAuth's redirect URI is
    # PUBLIC_URL + /slack/oauth_redirect (without it Slack uses the app's configured one), and
    # e-mailed receipt links are PUBLIC_URL/receipts/<token>.
    PUBLIC_URL: str | None = None

    # E-mail for partners outside Slack (issue 17). ``smtp://user:pass@host:587`` (user and
    # password percent-decoded; STARTTLS is required whenever the URL carries credentials) or
    # ``smtps://`` for implicit TLS.
    SMTP_URL: SecretStr | None = None
    SMTP_CA_FILE: Path | None = None  # a private CA the relay's certificate is signed by
    MAIL_FROM: str | None = None  # an address the relay may send for
    RECEIPT_KEY: SecretStr | None = None  # signs receipt links (HMAC-SHA256)
    RECEIPT_DAYS: int = Field(default=30, ge=1, le=365)  # how long a receipt link works

    @field_validator("SMTP_URL")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            from bot.delivery.mail import parse_smtp_url

            parse_smtp_url(value.get_secret_value())  # ValueError names what is wrong
        return value

    @field_validator("SLACK_INSTALL_TEAMS")
    @classmethod
    def _install_teams(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return InstallTeams.parse(value).describe()  # ValueError names the bad id

    @property
    def install_teams(self) -> InstallTeams:
        """SLACK_INSTALL_TEAMS read; a ConfigError when it is not set."""
        self.require("SLACK_INSTALL_TEAMS")
        try:
            return InstallTeams.parse(str(self.SLACK_INSTALL_TEAMS))
        except ValueError as exc:
            raise ConfigError(f"SLACK_INSTALL_TEAMS is invalid: {exc}") from None

    @field_validator("RECEIPT_KEY")
    @classmethod
    def _receipt_key(cls, value: SecretStr | None) -> SecretStr | None:
        # A short key can be guessed offline from one link, and then forged for any notice.
        key = value.get_secret_value().encode() if value is not None else b""
        if key and len(key) < RECEIPT_KEY_BYTES:
            raise ValueError(f"must be at least {RECEIPT_KEY_BYTES} bytes long; {MAKE_KEY}")
        return value

    @field_validator("PUBLIC_URL")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack-sdk joins method names onto the base URL: without the slash "/api" is lost.
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("DATABASE_URL", "SANDBOX_DATABASE_URL")
    @classmethod
    def _psycopg3(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # `postgresql://` would select psycopg2, which we do not ship.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith(("sqlite:", "postgresql+psycopg:")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if (
            value is not None
            and value.get_secret_value()
            and not (value.get_secret_value().startswith("xapp-"))
        ):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("TOKEN_ENCRYPTION_KEY")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            try:  # one key, or several comma-separated (the first encrypts): see installs.py
                for key in value.get_secret_value().split(","):
                    Fernet(key.strip().encode())
            except (ValueError, TypeError):
                raise ValueError(
                    "must be a Fernet key (32 url-safe base64-encoded bytes)"
                ) from None
        return value

    @property
    def oauth(self) -> bool:
        """Tokens come from OAuth installs: SLACK_CLIENT_ID (and its secret) are set."""
        return bool(self.SLACK_CLIENT_ID and self.SLACK_CLIENT_ID.strip())

    def require_slack_token(self) -> None:
        """What `serve` and `socket` need for their token: SLACK_BOT_TOKEN, or with OAuth its
        client secret, the key tokens are encrypted with at rest, and where it may be installed."""
        if self.oauth:
            self.require("SLACK_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY", "SLACK_INSTALL_TEAMS")
        else:
            self.require("SLACK_BOT_TOKEN")

    def require(self, *names: str) -> None:
        """Refuse to go on without these settings; empty counts as missing."""
        for name in names:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value is None or (isinstance(value, (str, Path)) and not str(value).strip()):
                raise ConfigError(f"{name} is not set (or empty); set it in the environment")

    def secret(self, name: str) -> str:
        self.require(name)
        value = getattr(self, name)
        assert isinstance(value, SecretStr)
        return value.get_secret_value()


def load_settings() -> Settings:
    """Read the environment; an invalid value names its variable, never its content."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise ConfigError(f"{name} is invalid: {first['msg']}") from None
