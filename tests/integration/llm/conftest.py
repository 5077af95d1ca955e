"""An incident in memory, the LLM stand-in over HTTP, and the real ``openai`` client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from bot.adapters.llm import OpenAISummarizer
from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Severity, TimelineEntry
from bot.core.signals import Event, Sample, SeriesKey
from bot.core.triage import Task
from bot.services.history import SampleHistory
from bot.services.triage import TriageDeps, TriageResult, run_triage
from sandbox.llm.app import DEFAULT_API_KEY, DEFAULT_MODELS, create_app
from sandbox.serving import ServerThread
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FrozenClock

T0 = 1_800_000_000.0
NODE = "gpu-node-1"
MODEL = DEFAULT_MODELS[0]
OWNER = "U0ALICE"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[ServerThread]:
    with ServerThread(create_app()) as server:
        yield server


@pytest.fixture
def llm(stand_in: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stand_in.url) as client:
        client.post("/_sandbox/reset").raise_for_status()
        yield client


@dataclass
class World:
    """One P2 incident with alerts, notes and log events; triage runs through ``deps``."""

    stand_in_url: str
    store: InMemoryStore = field(default_factory=InMemoryStore)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(T0 + 600))
    history: SampleHistory = field(default_factory=SampleHistory)
    incident_id: int = 0
    entry_ids: list[int] = field(default_factory=list)
    clients: list[OpenAISummarizer] = field(default_factory=list)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def summarizer(self, *, timeout_s: float = 5.0, key: str = DEFAULT_API_KEY):
        client = OpenAISummarizer(
            base_url=f"{self.stand_in_url}/v1",
            model=MODEL,
            api_key=key,
            timeout_s=timeout_s,
            clock=self.clock,
        )
        self.clients.append(client)
        return client

    def deps(self, summarizer: OpenAISummarizer | None) -> TriageDeps:
        return TriageDeps(
            summarizer=summarizer,
            history=self.history,
            watched_metric=lambda rule: "gpuwarden_gpu_process_memory_used_bytes",
        )

    def open_incident(
        self, *, notes: tuple[str, ...] = (), labels: tuple[tuple[str, str], ...] = ()
    ) -> None:
        alert = Alert(
            "fp1",
            "gpu_memory_leak",
            (("gpu", "2"), ("node", NODE), *labels),
            AlertState.FIRING,
            Level.CRIT,
            52e6,
            T0 + 300,
            summary="GPU memory of vllm-gpu-node-1 on gpu-node-1 GPU 2 grows 5.2e+07 B/min",
            fired_at=T0 + 360,
        )
        with self.uow() as tx:
            incident = tx.incidents.create(
                title=alert.summary,
                severity=Severity.P2,
                group_key=f"node:{NODE}",
                created_at=T0 + 360,
            )
            tx.alerts.upsert(alert, incident_id=incident.id)
            texts = [("incident.opened", f"INC-{incident.id} opened (P2)", "gpuwarden")]
            texts.append(("incident.acknowledged", f"Acknowledged by <@{OWNER}>", OWNER))
            texts += [("incident.note", note, OWNER) for note in notes]
            for n, (kind, text, actor) in enumerate(texts):
                entry = tx.timeline.append(
                    TimelineEntry(incident.id, T0 + 360 + n, kind, text, actor=actor)
                )
                assert entry.id is not None
                self.entry_ids.append(entry.id)
            tx.commit()
        self.incident_id = incident.id

    def push_leak(self, *, logs: tuple[str, ...] = ()) -> None:
        """Ten minutes of a leaking process and a flat neighbour, and log lines at the onset."""
        leak = SeriesKey.of("gpuwarden_gpu_process_memory_used_bytes", {"node": NODE, "gpu": "2"})
        flat = SeriesKey.of("gpuwarden_gpu_utilization_ratio", {"node": NODE, "gpu": "2"})
        for i in range(120):
            t = T0 + i * 5
            grown = max(0.0, t - (T0 + 300)) * 52e6 / 60
            self.history.record(
                [Sample(leak, t, 70e9 + grown), Sample(flat, t, 0.5 + 0.01 * (i % 3))]
            )
        self.history.record(
            [],
            [
                Event(
                    "log",
                    T0 + 305,
                    (("node", NODE),),
                    line,
                    (("component", "MODEL_INFER"), ("level", "ERROR"), ("message", line)),
                )
                for line in logs
            ],
        )

    async def run(self, task: Task, summarizer: OpenAISummarizer | None) -> TriageResult:
        return await run_triage(
            task=task,
            incident_id=self.incident_id,
            deps=self.deps(summarizer),
            uow=self.uow,
            notifier=self.notifier,
            clock=self.clock,
        )


@pytest.fixture
async def world(stand_in: ServerThread, llm: httpx.Client) -> AsyncIterator[World]:
    made = World(stand_in.url)
    yield made
    for client in made.clients:
        await client.aclose()
