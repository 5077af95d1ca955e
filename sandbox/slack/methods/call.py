"""One Web API call as a method sees it: the stand-in's state, the arguments, the server URL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack.arguments import Args
from sandbox.slack.state import SlackState
from sandbox.slack.workspace import Workspace

Result = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """A call of a Web API method; ``base_url`` is where this sandbox is reached."""

    state: SlackState
    args: Args
    base_url: str

    @property
    def ws(self) -> Workspace:
        """The workspace the call acts on."""
        return self.state.ws


Method = Callable[[Call], Result]
