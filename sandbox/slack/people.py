"""The workspace's people and user groups, with the fields Slack's user objects carry.

The three default people cover gpuwarden's roles: alice is a responder, bob a responder who may
approve remediations, carol a manager who watches. Roles are the sandbox's own annotation (Slack
has none); they show in the UI's user switcher and in ``/_sandbox/users``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T0SANDBOX"
BOT_USER_ID = "U0GPUWARDEN"
BOT_ID = "B0GPUWARDEN"
BOT_NAME = "gpuwarden"
APP_ID = "A0GPUWARDEN"
EMAIL_DOMAIN = "gpu-sandbox.example"


@dataclass(frozen=True)
class User:
    """A workspace member: a person, or the gpuwarden bot user."""

    id: str
    name: str
    real_name: str
    email: str | None = None
    tz: str = "UTC"
    title: str = ""
    roles: tuple[str, ...] = ()
    is_bot: bool = False

    def to_api(self, now: float) -> dict[str, Any]:
        """Render as Slack's user object; ``tz_offset`` is the zone's offset at ``now``."""
        local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(self.tz))
        offset = local.utcoffset()
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "title": self.title,
            "team": TEAM_ID,
        }
        if self.email:
            profile["email"] = self.email
        if self.is_bot:
            profile |= {"bot_id": BOT_ID, "api_app_id": APP_ID}
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": local.tzname() or self.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
        }


@dataclass
class UserGroup:
    """A user group such as ``@gpu-oncall``; its member list is replaced, never merged."""

    id: str
    handle: str
    name: str
    description: str
    users: list[str]
    created: int
    updated: int = 0
    updated_by: str = BOT_USER_ID
    channels: list[str] = field(default_factory=list)

    def to_api(self, *, include_users: bool) -> dict[str, Any]:
        """Render as Slack's usergroup object."""
        body: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "is_subteam": True,
            "name": self.name,
            "description": self.description,
            "handle": self.handle,
            "is_external": False,
            "date_create": self.created,
            "date_update": self.updated or self.created,
            "date_delete": 0,
            "auto_type": None,
            "created_by": BOT_USER_ID,
            "updated_by": self.updated_by,
            "deleted_by": None,
            "prefs": {"channels": list(self.channels), "groups": []},
            "user_count": len(self.users),
        }
        if include_users:
            body["users"] = list(self.users)
        return body


def person(name: str, real_name: str, *, tz: str, title: str, roles: tuple[str, ...]) -> User:
    """A person whose id and email derive from ``name`` (``alice`` → ``U0ALICE``)."""
    return User(
        id="U0" + name.upper(),
        name=name,
        real_name=real_name,
        email=f"{name}@{EMAIL_DOMAIN}",
        tz=tz,
        title=title,
        roles=roles,
    )


BOT = User(BOT_USER_ID, BOT_NAME, BOT_NAME, is_bot=True)
DEFAULT_USERS = (
    person(
        "alice",
        "Alice Chen",
        tz="America/Los_Angeles",
        title="SRE, GPU serving",
        roles=("responder",),
    ),
    person(
        "bob",
        "Bob Okafor",
        tz="Europe/London",
        title="Senior SRE, ML platform",
        roles=("responder", "approver"),
    ),
    person(
        "carol",
        "Carol Diaz",
        tz="Asia/Singapore",
        title="Engineering manager, ML platform",
        roles=("manager", "viewer"),
    ),
)


def default_usergroups(created: int) -> list[UserGroup]:
    """The groups gpuwarden pages and asks: ``@gpu-oncall`` and ``@gpu-approvers``."""
    return [
        UserGroup(
            "S0GPUONCALL",
            "gpu-oncall",
            "GPU on-call",
            "Responders paged for GPU incidents",
            ["U0ALICE", "U0BOB"],
            created,
        ),
        UserGroup(
            "S0GPUAPPROVERS",
            "gpu-approvers",
            "GPU approvers",
            "May approve remediations",
            ["U0BOB"],
            created,
        ),
    ]
