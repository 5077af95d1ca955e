"""Fakes that implement the bot's ports, for unit tests of services (no I/O, frozen time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.alerts import Alert
from bot.core.errors import AdapterError, NotFound
from bot.core.escalation import OutsidePage, PagerReceipt
from bot.core.incidents import Incident, TimelineEntry
from bot.core.oncall import UserGroup
from bot.core.signals import Sample


@dataclass
class FrozenClock:
    """A clock that moves only when told to."""

    t: float = 1_800_000_000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class FakeNotifier:
    """Records what would have been shown in Slack; ``down`` makes every call fail."""

    down: bool = False
    posted: list[Incident] = field(default_factory=list)
    updated: list[Incident] = field(default_factory=list)
    replies: list[tuple[int, str]] = field(default_factory=list)
    dms: list[tuple[str, str]] = field(default_factory=list)
    dm_down: bool = False  # direct messages fail, thread replies work

    def _check(self) -> None:
        if self.down:
            raise AdapterError("Slack is down")

    async def post_incident(self, incident: Incident, alerts: Sequence[Alert]) -> tuple[str, str]:
        self._check()
        self.posted.append(incident)
        return "C0GPUALERTS", f"{len(self.posted)}.000100"

    async def update_incident(self, incident: Incident, alerts: Sequence[Alert]) -> None:
        self._check()
        self.updated.append(incident)

    async def post_timeline(self, incident: Incident, entry: TimelineEntry) -> None:
        self._check()
        self.replies.append((incident.id, entry.text))

    async def notify_user(self, user: str, text: str) -> None:
        self._check()
        if self.dm_down:
            raise AdapterError("DMs are down")
        self.dms.append((user, text))


@dataclass
class FakeMetricsSource:
    """Answers PromQL from a dict of canned results; a query mapped to an exception raises it."""

    answers: dict[str, list[Sample] | Exception] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def query(self, promql: str) -> list[Sample]:
        self.asked.append(promql)
        answer = self.answers[promql]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class FakeUserGroups:
    """User groups in a dict (id → group); ``down`` makes every call fail."""

    groups: dict[str, UserGroup] = field(default_factory=dict)
    down: bool = False
    updates: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    async def find(self, ref: str) -> UserGroup:
        if self.down:
            raise AdapterError("usergroups.list failed: plan_upgrade_required")
        for group in self.groups.values():
            if ref in (group.id, group.handle, f"@{group.handle}"):
                return group
        raise NotFound(f"No Slack user group is called {ref!r}.")

    async def set_users(self, group: UserGroup, users: Sequence[str]) -> None:
        if self.down:
            raise AdapterError("usergroups.users.update failed")
        self.groups[group.id] = UserGroup(group.id, group.handle, tuple(users))
        self.updates.append((group.id, tuple(users)))


@dataclass
class FakePager:
    """Records outside pages; ``down`` raises AdapterError, ``refuse`` answers like a 400."""

    down: bool = False
    refuse: str | None = None
    sent: list[OutsidePage] = field(default_factory=list)

    async def send(self, page: OutsidePage) -> PagerReceipt:
        if self.down:
            raise AdapterError("PagerDuty: HTTP 503")
        if self.refuse is not None:
            return PagerReceipt(accepted=False, detail=self.refuse)
        self.sent.append(page)
        return PagerReceipt(accepted=True)
