"""Everything the Slack stand-in holds, in one place for the Web API and the automation API."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.slack.faults import Faults
from sandbox.slack.files import Files
from sandbox.slack.modals import Modals
from sandbox.slack.ratelimit import RateLimiter
from sandbox.slack.responses import ResponseUrls
from sandbox.slack.workspace import Workspace


@dataclass
class SlackState:
    """The workspace, open modals, files, injected faults, the rate limiter and response_urls."""

    ws: Workspace
    modals: Modals
    files: Files
    faults: Faults
    limiter: RateLimiter
    urls: ResponseUrls

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
        )
