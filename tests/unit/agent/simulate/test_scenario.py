"""Scenario files (YAML): what they read as, every error, and `gpuwarden agent --scenario`."""

import argparse
from pathlib import Path

import pytest

from agent import cli
from agent.errors import ScheduleError
from agent.simulate import ScheduledFault, parse_schedule
from agent.simulate.scenario import load_scenario, parse_scenario

DEMO = Path(__file__).resolve().parents[4] / "agent" / "simulate" / "scenarios" / "demo.yaml"
ENTRY = "- {at: 5s, duration: 1m, node: gpu-node-1, gpu: 0, fault: gpu_saturation}"


def test_reads_entries_with_times_units_and_params_filled_from_defaults():
    schedule = parse_scenario(
        """
        - at: 5
          duration: 2m
          node: gpu-node-2
          gpu: 3
          fault: gpu_memory_leak
          params: {rate_mib_per_min: 50}
        - {at: 1.5m, duration: 30s, node: gpu-node-1, fault: node_silence}
        """
    )

    assert schedule.faults == (
        ScheduledFault(5, 120, "gpu-node-2", 3, "gpu_memory_leak", {"rate_mib_per_min": 50}),
        ScheduledFault(90, 30, "gpu-node-1", None, "node_silence"),
    )
    assert schedule.faults[0].params == {"rate_mib_per_min": 50.0, "warmup_s": 0.0}


def test_a_scenario_and_its_compact_form_are_the_same_schedule():
    schedule = parse_scenario(
        "- {at: 60, duration: 300, node: gpu-node-1, gpu: 5, fault: xid, params: {xid: 94}}"
    )

    assert parse_schedule(schedule.to_text()) == schedule


def test_an_empty_list_means_no_faults():
    assert parse_scenario("[]").faults == ()


def test_the_demo_scenario_starts_with_saturation_at_5s_and_has_a_xid_94():
    schedule = load_scenario(DEMO)

    first = schedule.faults[0]
    assert (first.kind, first.at_s, first.node, first.gpu) == ("gpu_saturation", 5, "gpu-node-2", 3)
    kinds = [f.kind for f in schedule.faults]
    assert {"gpu_memory_leak", "xid", "straggler"} <= set(kinds)
    assert [f.params["xid"] for f in schedule.faults if f.kind == "xid"] == [94]
    assert max(f.at_s for f in schedule.faults) <= 180


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "scenario s.yaml: is empty; expected a list of faults"),
        ("- [unclosed", "scenario s.yaml: not valid YAML (line 1): expected ',' or ']'"),
        ("{at: 5s}", "scenario s.yaml: expected a list of faults, got a mapping"),
        ("- 5", "scenario s.yaml: entry 1: expected a mapping with at, duration, node, gpu,"),
        (
            f"{ENTRY}\n- {{at: 1, duration: 1, node: n, gpu: 0, fault: gpu_saturation, x: 1}}",
            "scenario s.yaml: entry 2 (gpu_saturation): unknown field 'x'; expected: at, "
            "duration, node, gpu, fault, params",
        ),
        (
            "- {duration: 1m, node: gpu-node-1, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'at': missing",
        ),
        (
            "- {at: 1s, node: gpu-node-1, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'duration': missing",
        ),
        (
            "- {at: 1s, duration: 1m, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'node': missing",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0}",
            "scenario s.yaml: entry 1: field 'fault': missing",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: gpu_saturaton}",
            "scenario s.yaml: entry 1 (gpu_saturaton): field 'fault': unknown fault "
            "'gpu_saturaton'; expected one of: driver_mismatch, gpu_memory_leak, gpu_saturation,",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: [xid]}",
            "scenario s.yaml: entry 1: field 'fault': unknown fault ['xid']",
        ),
        (
            "- {at: soon, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'at': expected seconds or a time like 20s, "
            "5m or 1h, got 'soon'",
        ),
        (
            "- {at: true, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'at': expected seconds or a time",
        ),
        (
            "- {at: -5, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'at': must not be negative, got -5",
        ),
        (
            "- {at: 1s, duration: 0, node: gpu-node-1, gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'duration': must be more than 0, got 0",
        ),
        (
            "- {at: 1s, duration: 1m, node: 'bad node', gpu: 0, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'node': expected a node name like "
            "gpu-node-1, got 'bad node'",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'gpu': missing; xid needs a GPU index",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: -1, fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'gpu': expected a GPU index (0, 1, ...), got -1",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: '3', fault: xid}",
            "scenario s.yaml: entry 1 (xid): field 'gpu': expected a GPU index (0, 1, ...), "
            "got '3'",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: node_silence}",
            "scenario s.yaml: entry 1 (node_silence): field 'gpu': node_silence is aimed at a "
            "whole node; leave gpu out",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid, params: [79]}",
            "scenario s.yaml: entry 1 (xid): field 'params': expected a mapping of parameters, "
            "got a list",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid, params: {code: 79}}",
            "scenario s.yaml: entry 1 (xid): field 'params': unknown parameter 'code' for xid; "
            "expected: xid, then_xid, then_after_s",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid, params: {xid: high}}",
            "scenario s.yaml: entry 1 (xid): field 'params.xid': must be a number, got 'high'",
        ),
        (
            "- {at: 1s, duration: 1m, node: gpu-node-1, gpu: 0, fault: xid, params: {xid: 300}}",
            "scenario s.yaml: entry 1 (xid): field 'params.xid': must be between 1 and 255, "
            "got 300",
        ),
    ],
)
def test_errors_name_the_file_the_entry_and_the_field(text, message):
    with pytest.raises(ScheduleError) as caught:
        parse_scenario(text, name="s.yaml")

    assert str(caught.value).startswith(message), str(caught.value)


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(ScheduleError, match=r"scenario .*nope.yaml: cannot read it"):
        load_scenario(tmp_path / "nope.yaml")


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


def test_the_cli_reads_a_scenario_and_checks_it_against_the_fleet(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("- {at: 1s, duration: 1m, node: gpu-node-3, gpu: 0, fault: xid}\n")

    assert cli.run(_parse("--simulate", "--scenario", str(path))) == 2

    err = capsys.readouterr().err
    assert err == (
        "gpuwarden agent: error: --scenario: fault 1: node 'gpu-node-3' is not in the "
        "simulated fleet (gpu-node-1 ... gpu-node-2)\n"
    )


def test_the_cli_reports_a_bad_scenario_with_its_entry_and_field(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"{ENTRY}\n- {{at: 1s, duration: 1m, node: gpu-node-1, fault: xid}}\n")

    assert cli.run(_parse("--simulate", "--scenario", str(path))) == 2

    assert capsys.readouterr().err == (
        f"gpuwarden agent: error: --scenario: scenario {path}: entry 2 (xid): "
        "field 'gpu': missing; xid needs a GPU index\n"
    )


def test_scenario_and_faults_are_alternatives(capsys):
    with pytest.raises(SystemExit):
        _parse("--scenario", "s.yaml", "--faults", "")

    assert "not allowed with argument" in capsys.readouterr().err


def test_the_scenario_may_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GPUWARDEN_SIM_SCENARIO", str(DEMO))

    assert _parse().scenario == DEMO or str(_parse().scenario) == str(DEMO)
