"""Fault schedules: which fault hits which node and GPU, when, and for how long.

The compact text form (CLI flag ``--faults``, env ``GPUWARDEN_SIM_FAULTS``) is one or more faults
separated by ``;``::

    KIND@START+DURATION:node=NODE[,gpu=INDEX][,param=value...]
    gpu_saturation@20s+120s:node=gpu-node-2,gpu=3;gpu_saturation@5m+1m:node=gpu-node-1,gpu=0

Times are seconds from the start of the simulation (suffix ``s``, ``m`` or ``h``; bare numbers are
seconds). Every error names the fault by its position and the part that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agent.errors import ScheduleError
from agent.simulate.faults import FAULT_KINDS, FaultKind

DEFAULT_FAULTS = "gpu_saturation@20s+180s:node=gpu-node-2,gpu=3"
FORM = "KIND@START+DURATION:node=NODE[,gpu=INDEX][,key=value...]"
EXAMPLE = "gpu_saturation@20s+120s:node=gpu-node-2,gpu=3"

_FAULT_RE = re.compile(
    r"^(?P<kind>[A-Za-z_][\w-]*)@(?P<at>[^+:]+)\+(?P<dur>[^:]+)(?::(?P<opts>.*))?$"
)
_TIME_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>[smh]?)$")
_NODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def _kind(name: str) -> FaultKind:
    try:
        return FAULT_KINDS[name]
    except KeyError:
        expected = ", ".join(sorted(FAULT_KINDS))
        raise ScheduleError(f"unknown kind {name!r}; expected one of: {expected}") from None


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass(frozen=True, slots=True)
class ScheduledFault:
    """One fault: `kind` on `node` (and `gpu`), from `at_s` after start for `duration_s`.

    Parameters the kind takes but `params` leaves out get the kind's defaults.
    """

    at_s: float
    duration_s: float
    node: str
    gpu: int | None
    kind: str
    params: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        kind = _kind(self.kind)
        if self.at_s < 0:
            raise ScheduleError(f"start must not be negative, got {self.at_s}")
        if self.duration_s <= 0:
            raise ScheduleError(f"duration must be more than 0, got {self.duration_s}")
        if not _NODE_RE.match(self.node):
            raise ScheduleError(f"node must be a node name like gpu-node-1, got {self.node!r}")
        if kind.needs_gpu and self.gpu is None:
            raise ScheduleError(f"{self.kind} needs gpu=INDEX")
        if self.gpu is not None and (not kind.needs_gpu or self.gpu < 0):
            raise ScheduleError(f"{self.kind} cannot take gpu={self.gpu}")
        object.__setattr__(self, "params", _resolve_params(kind, self.params))

    def elapsed(self, offset_s: float) -> float | None:
        """Return seconds since the fault began if it is active at `offset_s`, else None."""
        if self.at_s <= offset_s < self.at_s + self.duration_s:
            return offset_s - self.at_s
        return None

    def to_text(self) -> str:
        """Return the compact text form, which `parse_schedule` reads back."""
        options = [f"node={self.node}"]
        if self.gpu is not None:
            options.append(f"gpu={self.gpu}")
        options.extend(f"{key}={_number(value)}" for key, value in sorted(self.params.items()))
        head = f"{self.kind}@{_number(self.at_s)}s+{_number(self.duration_s)}s"
        return f"{head}:{','.join(options)}"


def _resolve_params(kind: FaultKind, given: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(given) - set(kind.params))
    if unknown:
        expected = ", ".join(_option_names(kind))
        raise ScheduleError(f"unknown option {unknown[0]!r} for {kind.name}; expected: {expected}")
    resolved: dict[str, float] = {}
    for key, spec in kind.params.items():
        value = float(given.get(key, spec.default))
        if not spec.low <= value <= spec.high:
            low, high = _number(spec.low), _number(spec.high)
            raise ScheduleError(f"{key} must be between {low} and {high}, got {_number(value)}")
        resolved[key] = value
    return resolved


def _option_names(kind: FaultKind) -> list[str]:
    return ["node", *(["gpu"] if kind.needs_gpu else []), *kind.params]


@dataclass(frozen=True, slots=True)
class FaultSchedule:
    """Every fault planned for a simulation run."""

    faults: tuple[ScheduledFault, ...] = ()

    def for_gpu(self, node: str, gpu: int) -> tuple[ScheduledFault, ...]:
        """Return the faults aimed at one GPU of one node."""
        return tuple(f for f in self.faults if f.node == node and f.gpu == gpu)

    def for_node(self, node: str) -> tuple[ScheduledFault, ...]:
        """Return the faults aimed at a whole node (no GPU)."""
        return tuple(f for f in self.faults if f.node == node and f.gpu is None)

    def to_text(self) -> str:
        """Return the compact text form, which `parse_schedule` reads back."""
        return ";".join(fault.to_text() for fault in self.faults)

    def check_fleet(self, nodes: Sequence[str], gpus_per_node: int) -> None:
        """Raise ScheduleError if a fault names a node or GPU the fleet does not have."""
        for number, fault in enumerate(self.faults, start=1):
            if fault.node not in nodes:
                raise ScheduleError(
                    f"fault {number}: node {fault.node!r} is not in the simulated fleet "
                    f"({nodes[0]} ... {nodes[-1]})"
                )
            if fault.gpu is not None and fault.gpu >= gpus_per_node:
                raise ScheduleError(
                    f"fault {number}: {fault.node} has GPUs 0-{gpus_per_node - 1}, "
                    f"not gpu {fault.gpu}"
                )


def parse_schedule(text: str) -> FaultSchedule:
    """Return the schedule written in compact form; an empty string means no faults."""
    if not text.strip():
        return FaultSchedule()
    faults = []
    for number, item in enumerate(text.split(";"), start=1):
        try:
            faults.append(_parse_fault(item.strip()))
        except ScheduleError as exc:
            raise ScheduleError(f"fault {number}: {exc}") from None
    return FaultSchedule(tuple(faults))


def _parse_fault(item: str) -> ScheduledFault:
    match = _FAULT_RE.match(item)
    if match is None:
        raise ScheduleError(f"cannot read {item!r}; expected {FORM}, e.g. {EXAMPLE}")
    kind = _kind(match["kind"])
    options = _parse_options(match["opts"] or "")
    node = options.pop("node", None)
    if node is None:
        raise ScheduleError("missing node=NODE")
    gpu = options.pop("gpu", None)
    return ScheduledFault(
        at_s=parse_time(match["at"], "start"),
        duration_s=parse_time(match["dur"], "duration"),
        node=node,
        gpu=None if gpu is None else _parse_gpu(gpu),
        kind=kind.name,
        params={key: _parse_param(key, value) for key, value in options.items()},
    )


def _parse_options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    if not text.strip():
        return options
    for part in (p.strip() for p in text.split(",")):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ScheduleError(f"bad option {part!r}; expected key=value")
        if key in options:
            raise ScheduleError(f"option {key!r} given twice")
        options[key] = value
    return options


def parse_time(text: str, what: str) -> float:
    """Return the seconds in a time like ``20s``, ``5m`` or ``90``; `what` names it in errors."""
    match = _TIME_RE.match(text.strip())
    if match is None:
        raise ScheduleError(f"bad {what} {text!r}; expected a time like 20s, 5m or 1h")
    return float(match["num"]) * _UNIT_S[match["unit"]]


def _parse_gpu(text: str) -> int:
    if not text.isdigit():
        raise ScheduleError(f"gpu must be a GPU index (0, 1, ...), got {text!r}")
    return int(text)


def _parse_param(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ScheduleError(f"{key} must be a number, got {text!r}") from None


DEFAULT_SCHEDULE = parse_schedule(DEFAULT_FAULTS)
