"""The live SLA countdown on incident root messages: refreshed with chat.update, sparingly.

chat.update is tier 3 (about 50 calls a minute for the whole workspace), so a root message is
re-rendered for its countdown at most once per ``every_s`` (a minute by default), counted from
whenever it was last rendered for any reason, never for a resolved or closed incident, and not
while its channel's outbox is backed up (the refresh is skipped, not queued: the next one shows
the right time anyway).
"""

from __future__ import annotations

from typing import Protocol

from bot.core.alerts import Alert
from bot.core.incidents import OPEN_STATUSES, Incident
from bot.core.ports import UnitOfWorkFactory

COUNTDOWN_EVERY_S = 60.0
MAX_BACKLOG = 1  # calls waiting in the channel beyond which a countdown refresh is skipped


class CountdownPacer:
    """Decides when an incident's root message may be re-rendered for its countdown."""

    def __init__(self, *, every_s: float = COUNTDOWN_EVERY_S, max_backlog: int = MAX_BACKLOG):
        self.every_s = every_s
        self._max_backlog = max_backlog
        self._rendered: dict[int, float] = {}

    def due(self, incident: Incident, *, now: float, backlog: int, throttled: bool) -> bool:
        """Whether a countdown refresh of ``incident`` should go out at ``now``."""
        if not incident.is_open or incident.slack_ts is None:
            self._rendered.pop(incident.id, None)
            return False
        if throttled or backlog > self._max_backlog:
            return False
        last = self._rendered.get(incident.id)
        return last is None or now - last >= self.every_s

    def rendered(self, incident_id: int, *, at: float) -> None:
        """Note that the root message was (re-)rendered at ``at``, whatever the reason."""
        self._rendered[incident_id] = at


class Countdowns(Protocol):
    """What the refresh job needs of the Slack notifier."""

    def countdown_due(self, incident: Incident) -> bool:
        """Whether ``incident``'s countdown should be refreshed now."""
        ...

    async def refresh_countdown(self, incident: Incident, alerts: list[Alert]) -> None:
        """Re-render ``incident``'s root message for its countdown."""
        ...


async def refresh_countdowns(*, uow: UnitOfWorkFactory, notifier: Countdowns) -> int:
    """Refresh the countdown of every open incident that is due; return how many were sent."""
    with uow() as tx:
        due = [i for i in tx.incidents.list(statuses=OPEN_STATUSES) if notifier.countdown_due(i)]
        alerts = {incident.id: tx.alerts.for_incident(incident.id) for incident in due}
    for incident in due:
        await notifier.refresh_countdown(incident, alerts[incident.id])
    return len(due)
