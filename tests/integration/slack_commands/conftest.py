"""The world of the incident command tests: the Slack sandbox and the bot, on PostgreSQL.

Both run as their own processes (``python -m gpuwarden …``) and talk real HTTP; the bot's
database is a fresh PostgreSQL schema, dropped afterwards. ``carol`` (a manager who watches) may
only add notes: rbac.yaml grants every other incident action to alice and bob alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.integration.slack_world import bot_with_sandbox
from tests.integration.storage.conftest import POSTGRES_URL, postgres_admin  # noqa: F401
from tests.processes import eventually

RESPONDERS = ["U0ALICE", "U0BOB"]
GRANTS = ["acknowledge", "resolve", "declare", "mitigate", "close", "severity", "assign", "merge"]
RBAC = "permissions:\n" + "".join(f"  {g}: {RESPONDERS}\n" for g in GRANTS) + '  note: ["*"]\n'
CHANNEL = "gpu-alerts"
WAIT_S = 30  # generous: a shared CI machine may be slow; a passing run waits far less


@dataclass
class World:
    """The running sandbox and bot, and how a person acts on them."""

    sandbox_url: str
    bot_url: str
    signing_secret: str

    def command(self, user: str, text: str) -> dict[str, Any]:
        """Type ``/incident text`` as ``user``; the sandbox's answer (status, ack shown)."""
        answer = httpx.post(
            f"{self.sandbox_url}/_sandbox/command",
            json={"user": user, "channel": CHANNEL, "command": "/incident", "text": text},
            timeout=10,
        )
        answer.raise_for_status()
        return dict(answer.json())

    def act(self, path: str, **body: Any) -> dict[str, Any]:
        """Click, select or submit as a person (``/_sandbox/<path>``)."""
        answer = httpx.post(f"{self.sandbox_url}/_sandbox/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def read(self, path: str, **params: str) -> Any:
        """GET an automation endpoint of the sandbox."""
        answer = httpx.get(f"{self.sandbox_url}/_sandbox/{path}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def ephemerals(self, user: str) -> list[str]:
        """Texts only ``user`` sees in the channel, oldest first."""
        return [e["text"] for e in self.read("messages", channel=CHANNEL, user=user)["ephemerals"]]

    def answer_to(self, user: str, needle: str) -> str:
        """Wait for an ephemeral answer containing ``needle`` (slow commands answer later)."""
        return eventually(
            lambda: next((t for t in reversed(self.ephemerals(user)) if needle in t), None),
            timeout_s=WAIT_S,
            what=f"an answer to {user} containing {needle!r}",
        )

    def root(self, ref: str) -> dict[str, Any]:
        """The incident's root message, with its thread replies."""
        return eventually(
            lambda: next(
                (
                    m
                    for m in self.read("messages", channel=CHANNEL)["messages"]
                    if f"{ref} [" in m.get("text", "")
                ),
                None,
            ),
            timeout_s=WAIT_S,
            what=f"the root message of {ref}",
        )

    def incident(self, incident_id: int) -> dict[str, Any]:
        return dict(httpx.get(f"{self.bot_url}/api/v1/incidents/{incident_id}", timeout=5).json())

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        url = f"{self.bot_url}/api/v1/incidents/{incident_id}/timeline"
        return list(httpx.get(url, timeout=5).json())

    def read_api(self) -> list[dict[str, Any]]:
        """Every incident, as the bot's HTTP API lists it."""
        return list(httpx.get(f"{self.bot_url}/api/v1/incidents", timeout=5).json())

    def declare(self, user: str, title: str, severity: str = "P2") -> int:
        """Declare by command; return the new incident's number."""
        self.command(user, f'declare {severity} "{title}"')

        def declared() -> int | None:
            return next((int(i["id"]) for i in self.read_api() if i["title"] == title), None)

        return eventually(declared, timeout_s=WAIT_S, what=f"the incident {title!r}")


@pytest.fixture(scope="module")
def postgres_schema_url(postgres_admin: Engine) -> Iterator[str]:  # noqa: F811
    """A fresh schema for this module's bot, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield f"{POSTGRES_URL}&options=-csearch_path%3D{schema}"
    with postgres_admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, postgres_schema_url: str) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("incident-commands")
    (tmp / "config").mkdir()
    (tmp / "config" / "rbac.yaml").write_text(RBAC)
    database = {"GPUWARDEN_DATABASE_URL": postgres_schema_url}
    with bot_with_sandbox(tmp, bot_env=database) as started:
        yield World(started.sandbox_url, started.bot_url, started.signing_secret)
