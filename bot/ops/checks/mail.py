"""E-mail to partners outside Slack: the settings it needs, and the relay (connect, STARTTLS,
log in — nothing is sent)."""

from __future__ import annotations

import smtplib
import ssl

from bot.delivery.mail import Mailer, MailSettings, NoStartTLS, classify_mail, parse_smtp_url
from bot.ops.checks import Result, failed, passed, warned
from bot.ops.settings import Settings
from bot.ops.workspace import Workspace


def check_mail(settings: Settings, workspace: Workspace | None) -> list[Result]:
    """Nothing to say when no partner has e-mail and no relay is set."""
    emails = workspace is not None and workspace.catalogue.emails_partners()
    smtp = settings.SMTP_URL.get_secret_value() if settings.SMTP_URL else ""
    if not emails and not smtp:
        return []
    results: list[Result] = []
    if emails:
        results.append(_settings(settings))
    if smtp:
        results.append(_relay(settings, smtp))
    return results


def _settings(settings: Settings) -> Result:
    subject = "e-mail settings"
    missing = [
        name
        for name in ("SMTP_URL", "MAIL_FROM", "RECEIPT_KEY")
        if not _text(getattr(settings, name))
    ]
    if missing:
        return failed(
            subject,
            f"a partner has e-mail, but {', '.join(missing)} not set",
            "set them in the environment (README: E-mail partners)",
        )
    if not settings.PUBLIC_URL:
        socket = bool(_text(settings.SLACK_APP_TOKEN))
        detail = "a partner has e-mail, but PUBLIC_URL is not set: receipt links cannot work"
        fix = "set PUBLIC_URL to the bot's public base URL (e.g. https://bot.example.com)"
        if socket:  # no public URL is normal in Socket Mode: receipts are recorded by hand
            return warned(subject, detail, "triage records receipts by hand (Record receipt)")
        return failed(subject, detail, fix)
    return passed(subject, f"receipt links at {settings.PUBLIC_URL}/receipts/…")


def _relay(settings: Settings, smtp: str) -> Result:
    subject = "SMTP relay"
    try:
        server = parse_smtp_url(smtp)
    except ValueError as exc:
        return failed(subject, f"SMTP_URL {exc}", "correct SMTP_URL")
    mail = MailSettings(
        smtp=server,
        mail_from=settings.MAIL_FROM,
        public_url=settings.PUBLIC_URL,
        receipt_key=None,
        ca_file=settings.SMTP_CA_FILE,
    )
    where = f"{server.host}:{server.port}"
    try:
        Mailer(mail).check()
    except smtplib.SMTPAuthenticationError as exc:
        return failed(
            subject,
            f"{where} refused the login ({exc.smtp_code})",
            "check the user and password in SMTP_URL",
        )
    except NoStartTLS:
        return failed(
            subject,
            f"{where} offers no STARTTLS, and SMTP_URL carries credentials",
            "use a relay that offers STARTTLS, or smtps:// for implicit TLS",
        )
    except smtplib.SMTPNotSupportedError:
        return failed(
            subject,
            f"{where} offers no login (AUTH), and SMTP_URL carries credentials",
            "leave user and password out of SMTP_URL, or use the relay's submission port",
        )
    except ssl.SSLError as exc:
        return failed(
            subject,
            f"{where}: TLS failed ({exc.reason or type(exc).__name__})",
            "set SMTP_CA_FILE to the CA that signed the relay's certificate",
        )
    except (smtplib.SMTPException, OSError) as exc:
        return failed(
            subject,
            f"{where} cannot be reached ({classify_mail(exc).error})",
            "check the host and port in SMTP_URL and that the relay accepts us",
        )
    how = "TLS" if server.implicit_tls else "STARTTLS" if server.credentials else "plain"
    login = f", logged in as {server.user}" if server.credentials else ""
    return passed(subject, f"{where} ({how}{login}); nothing was sent")


def _text(value: object) -> str:
    secret = getattr(value, "get_secret_value", None)
    text = secret() if callable(secret) else value
    return str(text).strip() if text else ""
