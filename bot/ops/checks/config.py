"""Settings and the workspace file: what every other check needs first."""

from __future__ import annotations

from bot.errors import ConfigError
from bot.ops.checks import Result, failed, passed
from bot.ops.settings import Settings, load_settings
from bot.ops.workspace import Workspace, load_workspace


def check_settings() -> tuple[Result, Settings | None]:
    """The environment parses, and holds what ``serve`` (or ``socket``) needs."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        return failed("settings", str(exc), "correct that variable in the environment"), None
    token_names = (
        ("SLACK_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY", "SLACK_INSTALL_TEAMS")
        if settings.oauth
        else ("SLACK_BOT_TOKEN",)
    )
    missing = [n for n in (*token_names, "NCBOT_CONFIG") if not _present(settings, n)]
    socket = _present(settings, "SLACK_APP_TOKEN")
    if not socket and not _present(settings, "SLACK_SIGNING_SECRET"):
        missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
    if missing:
        return failed(
            "settings", f"{', '.join(missing)} not set", "set them in the environment"
        ), settings
    if settings.oauth:
        where = settings.install_teams.describe()
        return passed(
            "settings",
            f"present and valid (HTTP, installed with OAuth; SLACK_INSTALL_TEAMS: {where})",
        ), settings
    token = settings.secret("SLACK_BOT_TOKEN")
    if not token.startswith("xoxb-"):
        return failed(
            "settings",
            "SLACK_BOT_TOKEN is not a bot token (xoxb-…)",
            "use the Bot User OAuth Token from the app's OAuth & Permissions page",
        ), settings
    mode = "Socket Mode" if socket else "HTTP"
    return passed("settings", f"present and valid ({mode})"), settings


def check_workspace(settings: Settings) -> tuple[Result, Workspace | None]:
    subject = "workspace file"
    if not _present(settings, "NCBOT_CONFIG"):
        return failed(subject, "NCBOT_CONFIG is not set", "point it at your workspace YAML"), None
    try:
        workspace = load_workspace(settings.NCBOT_CONFIG)  # type: ignore[arg-type]
    except ConfigError as exc:
        return failed(subject, str(exc), "correct the file at that line"), None
    catalogue = workspace.catalogue
    return passed(
        subject,
        f"{settings.NCBOT_CONFIG} ({len(catalogue.systems)} systems, "
        f"{len(catalogue.partners)} partners)",
    ), workspace


def _present(settings: Settings, name: str) -> bool:
    try:
        settings.require(name)
    except ConfigError:
        return False
    return True


def check_provider(workspace: Workspace) -> Result:
    """Notices and authority messages name the provider: with anyone outside to tell, the
    workspace file must say who the provider is."""
    provider = workspace.provider
    outside = workspace.catalogue.partners or workspace.catalogue.market_surveillance_authority
    if provider.name:
        detail = provider.name + (f" ({provider.contact})" if provider.contact else "")
        return passed("provider", detail)
    if not outside:
        return passed("provider", "not named (no partners or authorities to inform)")
    return failed(
        "provider",
        "provider.name is missing, yet partners or authorities are configured",
        "add provider: {name: …, address: …, contact: …} to the workspace file",
    )
