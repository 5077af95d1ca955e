"""Everything the Slack stand-in holds, in one place for the Web API and the automation API."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.slack.faults import CallLog, Faults
from sandbox.slack.files import Files
from sandbox.slack.modals import Modals
from sandbox.slack.ratelimit import RateLimiter
from sandbox.slack.responses import ResponseUrls
from sandbox.slack.workspace import Workspace


@dataclass
class SlackState:
    """The workspace, modals, files, faults, the rate limiter, response_urls and a call log."""

    ws: Workspace
    modals: Modals
    files: Files
    faults: Faults
    limiter: RateLimiter
    urls: ResponseUrls
    calls: CallLog

    @classmethod
    def create(cls, ws: Workspace, *, rate_limit_per_minute: int | None = None) -> SlackState:
        """Fresh stores around ``ws``."""
        return cls(
            ws=ws,
            modals=Modals(ws.changes),
            files=Files(),
            faults=Faults(),
            limiter=RateLimiter(rate_limit_per_minute),
            urls=ResponseUrls(),
            calls=CallLog(),
        )
