"""The scenario files shipped beside the simulator load, and every fault kind is documented."""

from pathlib import Path

import pytest

from agent.simulate import FAULT_KINDS, Fleet, load_scenario

SCENARIOS = Path(__file__).resolve().parents[4] / "agent" / "simulate" / "scenarios"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads_and_fits_a_four_node_fleet(path):
    Fleet(nodes=4, gpus_per_node=8, schedule=load_scenario(path))


def test_the_catalogue_schedules_every_fault_kind():
    schedule = load_scenario(SCENARIOS / "catalogue.yaml")

    assert {fault.kind for fault in schedule.faults} == set(FAULT_KINDS)


def test_the_readme_documents_every_fault_kind_and_its_parameters():
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")

    for name, kind in FAULT_KINDS.items():
        (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]
        for param in kind.params:
            assert f"`{param}`" in row, f"{name}: parameter {param} not in the README"
