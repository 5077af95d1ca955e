"""The UserGroups port over Slack's ``usergroups.*`` methods (slack_sdk's async client).

Calls go through the notifier's outbox (their own queue), which honours 429s and retries
transient failures. User groups need a paid Slack plan; without one Slack answers
``plan_upgrade_required``, which comes back as an AdapterError naming the call.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.outbox import SlackOutbox
from bot.core.errors import NotFound
from bot.core.oncall import UserGroup


class SlackUserGroups:
    """Finds user groups by handle or id, and replaces their members."""

    QUEUE = "usergroups"  # the outbox queue of these calls

    def __init__(self, *, client: AsyncWebClient, outbox: SlackOutbox) -> None:
        self._client = client
        self._outbox = outbox

    async def find(self, ref: str) -> UserGroup:
        """The group whose id or handle (``@`` optional) is ``ref``, with its members."""
        handle = ref.removeprefix("@")
        response = await self._outbox.send(
            self.QUEUE,
            "usergroups.list",
            lambda: self._client.usergroups_list(include_users=True),
        )
        for group in response.get("usergroups") or []:
            if ref == group.get("id") or handle == group.get("handle"):
                return UserGroup(
                    str(group["id"]),
                    str(group.get("handle", handle)),
                    tuple(str(u) for u in group.get("users") or ()),
                )
        msg = f"No Slack user group is called {ref!r}; check the handle or id."
        raise NotFound(msg)

    async def set_users(self, group: UserGroup, users: Sequence[str]) -> None:
        """Replace the group's members with ``users`` (``usergroups.users.update``)."""
        await self._outbox.send(
            self.QUEUE,
            f"usergroups.users.update for @{group.handle}",
            lambda: self._client.usergroups_users_update(usergroup=group.id, users=list(users)),
        )
