"""How an alert should reach people: its P-level and whether it pages, posts or is only recorded.

The event, absence and peer evaluators answer ``delivery(alert)`` with one of these values, so the
services can treat every alert source alike:

* ``Notify.PAGE``: open (or join) an incident at ``severity`` and page on-call; SLA timers start.
* ``Notify.POST``: post the alert to the channel / incident thread, but page nobody. An XID 94
  (contained ECC) or an application XID (13, 31, 68 …) is a warning that must never wake anyone.
* ``Notify.RECORD``: keep it on the timeline and in the alert store only; no Slack message
  (informational XIDs such as 43 or 45).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.incidents import Severity


class Notify(StrEnum):
    """How loudly an alert is delivered."""

    PAGE = "page"
    POST = "post"
    RECORD = "record"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The P-level of an alert and how loudly it is delivered."""

    severity: Severity
    notify: Notify = Notify.PAGE

    @property
    def pages(self) -> bool:
        """Whether on-call is paged for this alert."""
        return self.notify is Notify.PAGE


PAGE_P1 = Delivery(Severity.P1, Notify.PAGE)
PAGE_P2 = Delivery(Severity.P2, Notify.PAGE)
POST_P3 = Delivery(Severity.P3, Notify.POST)
RECORD_P3 = Delivery(Severity.P3, Notify.RECORD)
