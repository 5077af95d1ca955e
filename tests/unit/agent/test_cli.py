import argparse
from pathlib import Path

import pytest

from agent import cli
from agent.simulate import DEFAULT_FAULTS


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpuwarden agent")
    cli.configure(parser)
    return parser.parse_args(argv)


def test_defaults():
    args = _parse()

    assert args.bot_url == "http://127.0.0.1:8800"
    assert args.token == "dev-ingest-token"
    assert args.interval == 1.0
    assert args.simulate is False
    assert (args.nodes, args.gpus_per_node, args.seed) == (2, 8, None)
    assert args.faults == DEFAULT_FAULTS
    assert (args.metrics_port, args.quality_port) == (9840, 9841)
    assert (args.spool_dir, args.spool_max_bytes) == (None, 256 * 1024**2)
    assert (args.serving_url, args.serving_interval, args.log_file) == ([], 5.0, [])


def test_environment_supplies_defaults(monkeypatch):
    monkeypatch.setenv("GPUWARDEN_BOT_URL", "http://bot:9000")
    monkeypatch.setenv("GPUWARDEN_INGEST_TOKEN", "from-env")
    monkeypatch.setenv("GPUWARDEN_SIM_FAULTS", "")

    args = _parse()

    assert (args.bot_url, args.token, args.faults) == ("http://bot:9000", "from-env", "")


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("GPUWARDEN_BOT_URL", "http://bot:9000")

    args = _parse("--bot-url", "http://other:1", "--interval", "2", "--seed", "7", "--nodes", "3")

    assert (args.bot_url, args.interval, args.seed, args.nodes) == ("http://other:1", 2.0, 7, 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--faults", "gpu_saturation@20s+1m:node=gpu-node-1,gpu=0;gpu_saturaton@1s+1s:node=x"],
            "--faults (GPUWARDEN_SIM_FAULTS): fault 2: unknown kind 'gpu_saturaton'; "
            "expected one of: driver_mismatch, gpu_memory_leak, gpu_saturation, load_spike, "
            "node_silence, nvlink_errors, output_drift, power_cap, straggler, thermal_throttle, "
            "traffic_surge, ttft_regression, xid",
        ),
        (
            ["--faults", "gpu_saturation@20s+1m:node=gpu-node-3,gpu=0"],
            "--faults (GPUWARDEN_SIM_FAULTS): fault 1: node 'gpu-node-3' is not in the "
            "simulated fleet (gpu-node-1 ... gpu-node-2)",
        ),
        (
            ["--gpus-per-node", "3"],
            "--faults (GPUWARDEN_SIM_FAULTS): fault 1: gpu-node-2 has GPUs 0-2, not gpu 3",
        ),
        (["--bot-url", "bot:8800"], "--bot-url must be an http:// or https:// URL, got 'bot:8800'"),
        (["--bot-url", "http://"], "--bot-url must be an http:// or https:// URL, got 'http://'"),
        (["--token", ""], "--token (GPUWARDEN_INGEST_TOKEN) must not be empty"),
        (
            ["--serving-url", "localhost:8000"],
            "--serving-url must be an http:// or https:// URL, got 'localhost:8000'",
        ),
    ],
)
def test_bad_options_exit_2_with_a_message(capsys, argv, message):
    assert cli.run(_parse("--simulate", *argv)) == 2

    assert capsys.readouterr().err == f"gpuwarden agent: error: {message}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--interval", "0"], "argument --interval: expected more than 0 seconds, got '0'"),
        (["--interval", "soon"], "argument --interval: expected a number of seconds, got 'soon'"),
        (["--nodes", "0"], "argument --nodes: expected a whole number 1-256, got '0'"),
        (["--gpus-per-node", "99"], "argument --gpus-per-node: expected a whole number 1-16"),
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    ],
)
def test_unparseable_options_exit_2_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        _parse(*argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--simulate"], None),
        ([], Path("/var/lib/gpuwarden/spool")),
        (["--spool-dir", "/data/spool"], Path("/data/spool")),
        (["--simulate", "--spool-dir", "/data/spool"], Path("/data/spool")),
        (["--spool-dir", ""], None),
    ],
)
def test_the_spool_is_on_disk_for_real_gpus_and_in_memory_when_simulating(argv, expected):
    assert cli._parts(_parse(*argv)).spool_dir == expected


def test_local_sources_come_from_repeatable_flags():
    args = _parse(
        "--serving-url",
        "http://127.0.0.1:8000/metrics",
        "--serving-url",
        "http://127.0.0.1:30000/metrics",
        "--log-file",
        "/var/log/a.log",
        "--quality-port",
        "0",
        "--metrics-port",
        "19840",
    )

    parts = cli._parts(args)

    assert parts.metrics_port == 19840
    assert parts.local.serving_urls == (
        "http://127.0.0.1:8000/metrics",
        "http://127.0.0.1:30000/metrics",
    )
    assert parts.local.log_files == (Path("/var/log/a.log"),)
    assert parts.local.quality_port == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metrics-port", "70000"], "argument --metrics-port: expected a TCP port 0-65535"),
        (["--quality-port", "x"], "argument --quality-port: expected a TCP port 0-65535"),
        (["--spool-max-bytes", "0"], "argument --spool-max-bytes: expected a whole number of"),
        (["--serving-interval", "0"], "argument --serving-interval: expected more than 0"),
    ],
)
def test_bad_local_options_exit_2_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        _parse(*argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
