"""Scenario files: a fault schedule written as YAML, the alternative to the compact ``--faults``.

A scenario is a list of faults, each a mapping::

    - at: 5s               # from the start of the simulation: seconds, or 20s / 5m / 1h
      duration: 3m
      node: gpu-node-2
      gpu: 3               # only (and always) for kinds aimed at one GPU
      fault: gpu_saturation
      params: {ramp_s: 10} # optional; the kind's defaults fill the rest

Every error names the file, the entry (by position and fault kind) and the field that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import ScheduleError
from agent.simulate.faults import FAULT_KINDS, FaultKind
from agent.simulate.schedule import FaultSchedule, ScheduledFault, parse_time

FIELDS = ("at", "duration", "node", "gpu", "fault", "params")
REQUIRED = ("at", "duration", "node", "fault")
_NODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _EntryError(Exception):
    """One field of one entry is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")


def load_scenario(path: Path) -> FaultSchedule:
    """Return the schedule in the scenario file at `path`; ScheduleError if it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleError(f"scenario {path}: cannot read it: {exc.strerror or exc}") from None
    return parse_scenario(text, name=str(path))


def parse_scenario(text: str, *, name: str = "<scenario>") -> FaultSchedule:
    """Return the schedule written in scenario YAML `text`; `name` is the file in errors."""
    import yaml  # noqa: PLC0415 - only the simulator reads YAML; a real node's agent runs without

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScheduleError(f"scenario {name}: not valid YAML{where}: {problem}") from None
    if document is None:
        raise ScheduleError(f"scenario {name}: is empty; expected a list of faults")
    if not isinstance(document, list):
        raise ScheduleError(
            f"scenario {name}: expected a list of faults, got {_type_name(document)}"
        )
    faults = []
    for number, entry in enumerate(document, start=1):
        try:
            faults.append(_entry(entry))
        except _EntryError as exc:
            raise ScheduleError(f"scenario {name}: {_where(number, entry)}: {exc}") from None
        except ScheduleError as exc:
            raise ScheduleError(f"scenario {name}: {_where(number, entry)}: {exc}") from None
    return FaultSchedule(tuple(faults))


def _where(number: int, entry: object) -> str:
    kind = entry.get("fault") if isinstance(entry, Mapping) else None
    return f"entry {number} ({kind})" if isinstance(kind, str) and kind else f"entry {number}"


def _type_name(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _entry(entry: object) -> ScheduledFault:
    if not isinstance(entry, Mapping):
        expected = ", ".join(FIELDS)
        raise ScheduleError(f"expected a mapping with {expected}, got {_type_name(entry)}")
    unknown = [str(key) for key in entry if key not in FIELDS]
    if unknown:
        raise ScheduleError(f"unknown field {unknown[0]!r}; expected: {', '.join(FIELDS)}")
    for key in REQUIRED:
        if entry.get(key) is None:
            raise _EntryError(key, "missing")
    kind = _kind(entry["fault"])
    at = _seconds(entry["at"], "at")
    if at < 0:
        raise _EntryError("at", f"must not be negative, got {entry['at']!r}")
    duration = _seconds(entry["duration"], "duration")
    if duration <= 0:
        raise _EntryError("duration", f"must be more than 0, got {entry['duration']!r}")
    return ScheduledFault(
        at_s=at,
        duration_s=duration,
        node=_node(entry["node"]),
        gpu=_gpu(kind, entry.get("gpu")),
        kind=kind.name,
        params=_params(kind, entry.get("params")),
    )


def _kind(value: object) -> FaultKind:
    if not isinstance(value, str) or value not in FAULT_KINDS:
        expected = ", ".join(sorted(FAULT_KINDS))
        raise _EntryError("fault", f"unknown fault {value!r}; expected one of: {expected}")
    return FAULT_KINDS[value]


def _seconds(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _EntryError(field, f"expected seconds or a time like 20s, 5m or 1h, got {value!r}")
    if isinstance(value, str):
        try:
            return parse_time(value, field)
        except ScheduleError:
            raise _EntryError(
                field, f"expected seconds or a time like 20s, 5m or 1h, got {value!r}"
            ) from None
    return float(value)


def _node(value: object) -> str:
    if not isinstance(value, str) or not _NODE_RE.match(value):
        raise _EntryError("node", f"expected a node name like gpu-node-1, got {value!r}")
    return value


def _gpu(kind: FaultKind, value: object) -> int | None:
    if not kind.needs_gpu:
        if value is not None:
            raise _EntryError("gpu", f"{kind.name} is aimed at a whole node; leave gpu out")
        return None
    if value is None:
        raise _EntryError("gpu", f"missing; {kind.name} needs a GPU index")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _EntryError("gpu", f"expected a GPU index (0, 1, ...), got {value!r}")
    return value


def _params(kind: FaultKind, value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _EntryError("params", f"expected a mapping of parameters, got {_type_name(value)}")
    params: dict[str, float] = {}
    for key, given in value.items():
        if key not in kind.params:
            expected = ", ".join(kind.params) or "none"
            raise _EntryError(
                "params", f"unknown parameter {key!r} for {kind.name}; expected: {expected}"
            )
        params[key] = _param(kind, key, given)
    return params


def _param(kind: FaultKind, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _EntryError(f"params.{key}", f"must be a number, got {value!r}")
    spec = kind.params[key]
    if not spec.low <= value <= spec.high:
        raise _EntryError(
            f"params.{key}", f"must be between {spec.low:g} and {spec.high:g}, got {value!r}"
        )
    return float(value)
