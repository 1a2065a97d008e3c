"""Who "we" are on Slack, and where a user belongs: the one rule that tells ours from external.

"Ours" is the organisation the bot is installed in (an Enterprise Grid ``enterprise_id``) or
the workspace it is installed in; "external" is a user of another organisation reaching us
through Slack Connect. Slack names a user's home differently per payload, and on Grid
``user.team_id`` carries the organisation (``E…``) rather than the workspace (``T…``): so a
request's home is read once (``handlers.payloads.home_of``) into one string, the user's
organisation when Slack says it and else their workspace, and compared here with what
``auth.test`` said about us. With OAuth one deployment may be installed in several workspaces
(or organisations) of one provider: ``Installation.others`` holds the rest, and a user of any of
them is ours, by the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Setup = Literal[
    "single workspace", "Grid workspace install", "org-wide install", "several workspaces"
]


@dataclass(frozen=True)
class Installation:
    """Where the bot is installed, as ``auth.test`` answers for its token.

    ``team_id``: the workspace (for an org-wide token Slack answers the organisation's id);
    ``enterprise_id``: the Grid organisation, None outside Grid; ``workspace_id``: for an
    org-wide install, the workspace named (``team_id``) on the Web API calls that need one.
    """

    team_id: str | None = None
    enterprise_id: str | None = None
    is_enterprise_install: bool = False
    workspace_id: str | None = None
    # The deployment's other installations (OAuth, several workspaces of one provider): this
    # one is the triage channel's, theirs count as ours too.
    others: tuple[Installation, ...] = ()

    @classmethod
    def from_auth_test(cls, response: object) -> Installation:
        """From ``auth.test``'s answer (its JSON body; anything else reads as unknown)."""
        if not isinstance(response, Mapping):
            return cls()
        enterprise = response.get("enterprise_id")
        return cls(
            team_id=str(response.get("team_id") or "") or None,
            enterprise_id=str(enterprise) if enterprise else None,
            is_enterprise_install=response.get("is_enterprise_install") is True,
        )

    @property
    def ids(self) -> frozenset[str]:
        """Every id Slack may give a user of ours: the workspace's and the organisation's."""
        own = (self.team_id, self.enterprise_id, self.workspace_id)
        return frozenset(i for i in own if i).union(*(other.ids for other in self.others))

    @property
    def known(self) -> bool:
        return bool(self.ids)

    def owns(self, home: str | None) -> bool:
        """Whether a user whose home is ``home`` (``T…`` or ``E…``) is ours. Unknown on either
        side (no ``auth.test``, a request naming no home) counts as ours, as it always has:
        only a home we can see is another organisation's makes a user external."""
        return not (self.known and home and home not in self.ids)

    def describe(self) -> str:
        """The setup in a sentence, for ``doctor`` and the start-up log."""
        if self.others:
            alone = Installation(
                self.team_id, self.enterprise_id, self.is_enterprise_install, self.workspace_id
            )
            rest = "; ".join(other.describe() for other in self.others)
            return (
                f"{1 + len(self.others)} installations: {alone.describe()} (the triage "
                f"channel's); {rest}"
            )
        if self.is_enterprise_install:
            return (
                f"org-wide install for organisation {self.enterprise_id}; calls that need a "
                f"workspace name {self.workspace_id or '(none found)'}, the triage channel's"
            )
        if self.enterprise_id:
            return (
                f"Grid workspace install in workspace {self.team_id} of organisation "
                f"{self.enterprise_id}"
            )
        return f"single workspace {self.team_id}"

    @property
    def setup(self) -> Setup:
        """What ``doctor`` reports: which of the ways the bot is installed."""
        if self.others:
            return "several workspaces"
        if self.is_enterprise_install:
            return "org-wide install"
        return "Grid workspace install" if self.enterprise_id else "single workspace"


# A Slack workspace id (``T…``) or Enterprise Grid organisation id (``E…``).
INSTALL_ID = re.compile(r"^[TE][A-Z0-9]{2,31}$")


@dataclass(frozen=True)
class InstallTeams:
    """Where this deployment may be installed (``SLACK_INSTALL_TEAMS``): workspace ids
    (``T…``) and organisation ids (``E…``). An installation anywhere else is never ours: the
    install flow refuses it, and one found in the database by other means is never used, nor
    are its users counted as ours. A workspace id allows that workspace's install; an
    organisation id allows the org-wide install and the install of any of its workspaces."""

    ids: frozenset[str]

    @classmethod
    def parse(cls, value: str) -> InstallTeams:
        """From the setting's comma-separated ids; ``ValueError`` says which one is bad."""
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids:
            raise ValueError("names no workspace (T…) or organisation (E…) id")
        for n, found in enumerate(ids, 1):
            if not INSTALL_ID.match(found):
                # Its position, not its value: a secret pasted here by mistake is not echoed.
                raise ValueError(
                    f"id number {n} is not a workspace (T…) or organisation (E…) id "
                    "(upper-case letters and digits, e.g. T0123ABCD)"
                )
        return cls(frozenset(ids))

    def allows(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False
    ) -> bool:
        """Whether the installation in ``team_id`` (or org-wide in ``enterprise_id``) may be
        one of ours."""
        if enterprise_id and enterprise_id in self.ids:
            return True
        return not is_enterprise_install and bool(team_id) and team_id in self.ids

    def describe(self) -> str:
        return ", ".join(sorted(self.ids))


def user_homes(user: Mapping[str, Any]) -> frozenset[str]:
    """Every id ``users.info`` gives for a user's home: their workspace, and on Grid their
    organisation and each of its workspaces they are in (``enterprise_user``). A partner's
    ``team`` in the catalogue may name any of them."""
    found: set[str] = set()
    if user.get("team_id"):
        found.add(str(user["team_id"]))
    grid = user.get("enterprise_user")
    if isinstance(grid, Mapping):
        if grid.get("enterprise_id"):
            found.add(str(grid["enterprise_id"]))
        teams = grid.get("teams")
        found |= {str(t) for t in teams if t} if isinstance(teams, list) else set()
    return frozenset(found)
