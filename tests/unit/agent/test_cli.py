import argparse

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
    assert args.interval == 5.0
    assert args.simulate is False
    assert (args.nodes, args.gpus_per_node, args.seed) == (2, 8, None)
    assert args.faults == DEFAULT_FAULTS


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


def test_without_simulate_exits_2_saying_real_collectors_are_missing(capsys):
    assert cli.run(_parse()) == 2

    assert capsys.readouterr().err == (
        "gpuwarden agent: error: real collectors are not available in this build; pass --simulate\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--faults", "gpu_saturation@20s+1m:node=gpu-node-1,gpu=0;gpu_saturaton@1s+1s:node=x"],
            "--faults (GPUWARDEN_SIM_FAULTS): fault 2: unknown kind 'gpu_saturaton'; "
            "expected one of: gpu_saturation",
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
