"""Simulated GPU fleet with scheduled faults, standing in for NVML where there is no GPU."""

from agent.simulate.faults import FAULT_KINDS, FaultKind, Load
from agent.simulate.fleet import Fleet, SimulatedNode, gpu_uuid, node_name
from agent.simulate.scenario import load_scenario, parse_scenario
from agent.simulate.schedule import (
    DEFAULT_FAULTS,
    DEFAULT_SCHEDULE,
    FaultSchedule,
    ScheduledFault,
    parse_schedule,
)

__all__ = [
    "DEFAULT_FAULTS",
    "DEFAULT_SCHEDULE",
    "FAULT_KINDS",
    "FaultKind",
    "FaultSchedule",
    "Fleet",
    "Load",
    "ScheduledFault",
    "SimulatedNode",
    "gpu_uuid",
    "load_scenario",
    "node_name",
    "parse_scenario",
    "parse_schedule",
]
