"""Who is acting: their roles here, and whether they belong to another organisation.

Whether a user is ours is ``Installation.owns`` (``bot.ops.identity``): our workspace, or on
Enterprise Grid our organisation. A ``team_id`` passed here is the user's home as the request
names it (``handlers.payloads.home_of``): their organisation (``E…``) when Slack says it, else
their workspace (``T…``).

Users of other organisations (Slack Connect) may read partner channels and acknowledge receipts,
but never decide anything about a case, whatever role list their user id appears in — and
read only what anyone outside the roles reads (``reader``, ``is_reporter``).
"""

from __future__ import annotations

from bot.cases.workflow import Actor, Role
from bot.errors import UserError
from bot.ops.identity import Installation
from bot.ops.workspace import Workspace


class People:
    def __init__(self, workspace: Workspace, installation: Installation | str | None) -> None:
        self.workspace = workspace
        if not isinstance(installation, Installation):  # a bare workspace id, or unknown
            installation = Installation(team_id=installation)
        self.installation = installation  # where we are installed, from auth.test

    @property
    def team_id(self) -> str | None:
        """Our workspace as ``auth.test`` named it (the organisation's id, org-wide)."""
        return self.installation.team_id

    def is_external(self, team_id: str | None) -> bool:
        """A user whose home (``T…`` or ``E…``) is not ours: not our workspace, not our
        organisation."""
        return not self.installation.owns(team_id)

    def actor(self, user_id: str, team_id: str | None) -> Actor:
        roles = frozenset(Role(name) for name in self.workspace.roles_of(user_id))
        return Actor(user_id=user_id, roles=roles, external=self.is_external(team_id))

    def reader(self, user_id: str, team_id: str | None) -> Actor:
        """Who is reading (``status``, ``list``, ``export``, App Home): the rule of deciding —
        a user of another workspace holds no role here, whatever list their user id is in."""
        actor = self.actor(user_id, team_id)
        return Actor(user_id, frozenset(), True) if actor.external else actor

    def reads_all(self, user_id: str, team_id: str | None) -> bool:
        """Members of the roles, in our workspace, read every case."""
        return bool(self.reader(user_id, team_id).roles)

    def is_reporter(
        self, reporter_id: str, reporter_team: str, user_id: str, team_id: str | None
    ) -> bool:
        """The case's reporter, asking from the organisation they reported from (a request
        that names no home, or a case that recorded none, is matched by user id; on Grid one
        payload may name the workspace and another the organisation: both are ours)."""
        return reporter_id == user_id and (
            not team_id
            or not reporter_team
            or reporter_team == team_id
            or not (self.is_external(team_id) or self.is_external(reporter_team))
        )

    def require(
        self,
        user_id: str,
        team_id: str | None,
        *roles: Role,
        also: str | None = None,
        action: str = "",
    ) -> Actor:
        """Refuse unless the user has one of ``roles`` (or is ``also``, e.g. the case owner)."""
        actor = self.actor(user_id, team_id)
        if actor.external:
            raise UserError("refusal.external")
        if not (actor.roles & set(roles) or (also is not None and user_id == also)):
            who = ", ".join([*([f"<@{also}>"] if also else []), *(f"@{r.value}" for r in roles)])
            raise UserError("refusal.not_allowed", {"action": action, "who": who})
        return actor


def other_organisations(info: object, ours: Installation | str | None) -> frozenset[str]:
    """The organisations other than ours sharing a channel, from ``conversations.info``'s
    ``channel`` (``connected_team_ids``, else ``shared_team_ids``); none when not shared. On
    Grid our own organisation and workspaces are among them, and are left out."""
    if not isinstance(ours, Installation):
        ours = Installation(team_id=ours)
    if not isinstance(info, dict) or not info.get("is_ext_shared"):
        return frozenset()
    teams = info.get("connected_team_ids") or info.get("shared_team_ids") or []
    if not isinstance(teams, list):
        return frozenset()
    return frozenset(t for t in teams if isinstance(t, str) and t and t not in ours.ids)
