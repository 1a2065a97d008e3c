"""What Slack must agree with before a case arrives: the token, its scopes, the bot's channel
memberships, and every person, group and channel the workspace file names.

The most common reason a notice fails is a bot that was never invited to a partner's channel,
so each channel gets a line of its own. Answers are cached per run: a user named in three roles
and two policies is looked up once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery.slack_api import TokenUnavailable, acting_workspace
from bot.errors import ConfigError
from bot.ops.checks import Result, failed, passed, warned
from bot.ops.checks.scopes import manifest_scopes
from bot.ops.identity import Installation
from bot.ops.installs import InstalledTokens, installed_where
from bot.ops.people import other_organisations
from bot.ops.workspace import Workspace

INVITE = "in Slack, open that channel and type /invite @nonconformity-bot"
ROLE_WORDS = {"triage": "triage", "approvers": "approvers", "admins": "admins"}


@dataclass
class SlackChecks:
    client: WebClient
    workspace: Workspace
    _users: dict[str, dict[str, Any] | str] = field(default_factory=dict)
    _channels: dict[str, dict[str, Any] | str] = field(default_factory=dict)
    _groups: set[str] | str | None = None
    _ours: Installation = field(default_factory=Installation)  # from auth.test

    def run(self) -> list[Result]:
        """Token first: without a valid one every other call fails for the same reason."""
        token = self.token()
        if not token[0].ok:
            return token
        return [
            *token,
            *self.channels(),
            *self.role_members(),
            *self.usergroups(),
            *self.escalation_targets(),
        ]

    # --- the token and its scopes ----------------------------------------------------------

    def token(self) -> list[Result]:
        try:
            response = self.client.auth_test()
        except TokenUnavailable as exc:
            return [
                failed(
                    "Slack token",
                    f"no installation to use ({exc.reason})",
                    "install the app: open /slack/install of this deployment in a browser",
                )
            ]
        except SlackApiError as exc:
            error = exc.response.get("error")
            return [
                failed(
                    "Slack token",
                    f"refused by Slack ({error})",
                    "reinstall the app to the workspace and copy the Bot User OAuth Token into "
                    "SLACK_BOT_TOKEN",
                )
            ]
        except OSError as exc:
            return [
                failed(
                    "Slack token",
                    f"Slack cannot be reached ({type(exc).__name__})",
                    "check SLACK_API_URL and the outbound network (proxy, firewall)",
                )
            ]
        identity = passed(
            "Slack token", f"valid for team {response['team_id']} as bot user {response['user_id']}"
        )
        return [
            identity,
            self._setup(response.data),
            self._scopes(response.headers.get("x-oauth-scopes")),
        ]

    def _setup(self, answer: object) -> Result:
        """Which setup the token is: one workspace, one workspace of a Grid organisation, or
        the whole organisation (org-wide: then the workspace named on calls that need one)."""
        self._ours = Installation.from_auth_test(answer)
        tokens = getattr(self.client, "tokens", None)
        if isinstance(tokens, InstalledTokens):  # OAuth: maybe several installations
            tokens.default_channel = self.workspace.triage_channel
            with contextlib.suppress(TokenUnavailable):
                several = installed_where(tokens.bots(), tokens.store.allowed)
                if several is not None and several.others:
                    self._ours = several
        try:
            self._ours = acting_workspace(self.client, self._ours, self.workspace.triage_channel)
        except ConfigError as exc:
            return failed(
                "Slack setup",
                f"{self._ours.setup}: {exc}",
                "add the app to the triage channel's workspace (Manage apps in the "
                "organisation's admin) and invite it to the channel",
            )
        return passed("Slack setup", self._ours.describe())

    def _scopes(self, header: str | None) -> Result:
        wanted = manifest_scopes()
        if not wanted:
            return failed("scopes", "manifest.yml not found", "reinstall nonconformity-bot")
        granted = {s.strip() for s in (header or "").split(",") if s.strip()}
        missing = [s for s in wanted if s not in granted]
        if missing:
            return failed(
                "scopes",
                f"the token lacks {', '.join(missing)}",
                "add them under OAuth & Permissions (or update the app from manifest.yml), "
                "reinstall the app, and copy the new token",
            )
        return passed("scopes", f"all {len(wanted)} scopes manifest.yml asks for are granted")

    # --- channels ----------------------------------------------------------------------------

    def channels(self) -> list[Result]:
        results = [self._membership("triage channel", self.workspace.triage_channel)]
        if self.workspace.audit_channel:
            results.append(self._membership("audit channel", self.workspace.audit_channel))
        for partner in self.workspace.catalogue.partners:
            if partner.channel:
                results.append(
                    self._membership(f"partner channel of {partner.id}", partner.channel)
                )
                if partner.team is None:
                    results.extend(self._shared_widely(partner.id, partner.channel))
        return results

    def _shared_widely(self, partner_id: str, channel_id: str) -> list[Result]:
        """Without ``team``, only the one other organisation in the channel speaks for the
        partner: shared with more, only its ``contacts`` can acknowledge a receipt."""
        info = self._channel(channel_id)
        if isinstance(info, str):
            return []
        others = sorted(other_organisations(info, self._ours))
        if len(others) <= 1:
            return []
        return [
            warned(
                f"partner channel of {partner_id} ({channel_id})",
                f"shared with {len(others)} other organisations ({', '.join(others)}) and the "
                "partner names no team: only its contacts can acknowledge receipt",
                f"add team: <the partner's workspace ID> to partner {partner_id} in the "
                "workspace file, or list its contacts",
            )
        ]

    def _membership(self, role: str, channel_id: str) -> Result:
        info = self._channel(channel_id)
        if isinstance(info, str):
            return failed(
                f"{role} {channel_id}",
                f"not found ({info}); a private channel the bot is not in looks the same",
                f"check the channel ID in the workspace file, or {INVITE}",
            )
        name = f"{role} #{info.get('name', '?')} ({channel_id})"
        if info.get("is_archived"):
            return failed(name, "archived", "unarchive it or name another channel")
        if not info.get("is_member"):
            return failed(name, "the bot is not a member", INVITE)
        return passed(name, "the bot is a member")

    # --- people and groups ---------------------------------------------------------------------

    def role_members(self) -> list[Result]:
        roles = self.workspace.roles
        members = dict.fromkeys([*roles.triage, *roles.approvers, *roles.admins])
        problems = [r for user in members if (r := self._user_problem(f"role member {user}", user))]
        return problems or [passed("role members", f"all {len(members)} exist in Slack")]

    def usergroups(self) -> list[Result]:
        named = dict.fromkeys(t for _, t in self._targets() if t.startswith("S"))
        if not named:
            return []
        known = self._known_groups()
        if isinstance(known, str):
            return [
                failed(
                    "user groups",
                    f"cannot be listed ({known})",
                    "grant usergroups:read and reinstall the app",
                )
            ]
        results = [
            failed(
                f"user group {group}",
                "does not exist (or is disabled)",
                "check the ID in the workspace file (Slack: the group's menu → Copy group ID)",
            )
            for group in named
            if group not in known
        ]
        return results or [passed("user groups", f"all {len(named)} exist ({', '.join(named)})")]

    def escalation_targets(self) -> list[Result]:
        """Every target of every policy and timer level resolves to someone who can be told."""
        problems: list[Result] = []
        checked = 0
        roles = self.workspace.roles
        for where, target in self._targets():
            checked += 1
            subject = f"escalation target {target} ({where})"
            if target in ROLE_WORDS and not getattr(roles, ROLE_WORDS[target]):
                problems.append(
                    failed(subject, f"roles.{target} is empty", f"add people to roles.{target}")
                )
            elif target[:1] in ("U", "W") and (problem := self._user_problem(subject, target)):
                problems.append(problem)
            elif target[:1] in ("C", "G"):
                result = self._membership(f"escalation channel ({where})", target)
                if not result.ok:
                    problems.append(result)
            # S…: usergroups() has a line for each; the other words resolve per case.
        return problems or [passed("escalation targets", f"all {checked} resolve")]

    def _targets(self) -> Iterator[tuple[str, str]]:
        escalation = self.workspace.escalation
        named = [(f"policy {n}", p) for n, p in escalation.policies.items()]
        named += [(f"timer {n}", p) for n, p in escalation.timers.items()]
        for name, policy in named:
            for index, level in enumerate(policy.levels, start=1):
                for target in level.notify:
                    yield f"{name}, level {index}", target

    def _user_problem(self, subject: str, user_id: str) -> Result | None:
        info = self._user(user_id)
        if isinstance(info, str):
            return failed(
                subject,
                f"unknown to Slack ({info})",
                "check the member ID in the workspace file (Slack: profile → ⋮ → Copy member ID)",
            )
        if info.get("deleted"):
            return failed(subject, "deactivated", "replace them in the workspace file")
        return None

    # --- cached look-ups -------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any] | str:
        if user_id not in self._users:
            self._users[user_id] = _answer(lambda: self.client.users_info(user=user_id), "user")
        return self._users[user_id]

    def _channel(self, channel_id: str) -> dict[str, Any] | str:
        if channel_id not in self._channels:
            self._channels[channel_id] = _answer(
                lambda: self.client.conversations_info(channel=channel_id), "channel"
            )
        return self._channels[channel_id]

    def _known_groups(self) -> set[str] | str:
        if self._groups is None:
            answer = _answer(lambda: self.client.usergroups_list(), "usergroups")
            if isinstance(answer, str):
                self._groups = answer
            else:
                self._groups = {str(g.get("id")) for g in answer if isinstance(g, dict)}
        return self._groups


def _answer(call: Any, key: str) -> Any:
    """The part of Slack's answer we need, or the error code as a string."""
    try:
        return call()[key]
    except SlackApiError as exc:
        return str(exc.response.get("error") or f"http_{exc.response.status_code}")
    except OSError as exc:
        return type(exc).__name__
