"""Runbook files: the shipped ones validate; errors name file, step and field; schema current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config.files import load_engine_config
from bot.config.runbooks import (
    RUNBOOKS_DIR,
    SCHEMA_FILE,
    lint_runbooks,
    load_runbook,
    load_runbooks,
    schema_text,
)
from bot.core.actions import ActionKind
from bot.core.errors import ConfigError
from gpuwarden.cli import main

SCENARIOS = {
    "gpu-utilization-saturation",
    "gpu-memory-leak",
    "ttft-regression",
    "model-unavailable",
    "bad-deploy",
    "xid-hardware-fault",
    "node-not-reporting",
    "traffic-surge",
    "driver-cuda-incompatibility",
    "output-drift",
}

GOOD = """\
name: {name}
title: T
match: {{rules: [gpu_utilization_high]}}
steps:
  - id: look
    kind: diagnostic
    title: Look
    probe: {{promql: 'up{{node="${{node}}"}}'}}
  - id: act
    kind: remediation
    title: Act
    action: {{kind: scale, target: "serving/x", scale_by: 1}}
"""


def test_every_shipped_runbook_validates_and_covers_each_scenario() -> None:
    report = lint_runbooks(engine=load_engine_config(None))

    assert report.errors == ()
    assert {r.name for r in report.runbooks} >= SCENARIOS


def test_every_remediation_step_names_an_existing_action() -> None:
    for runbook in load_runbooks():
        for action in runbook.actions():
            assert action.kind in set(ActionKind)


def test_the_published_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/schemas/runbook.schema.json is stale: regenerate it with "
        "`python -c 'from bot.config.runbooks import *; SCHEMA_FILE.write_text(schema_text())'`"
    )
    assert json.loads(SCHEMA_FILE.read_text())["properties"]["steps"]["minItems"] == 1


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    runbook = load_runbook(_write(tmp_path, "ok", GOOD.format(name="ok")))

    assert [s.id for s in runbook.steps] == ["look", "act"]


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        (("kind: scale", "kind: explode"), "step 'act' (steps[1]).action.kind", "scale"),
        (
            ("scale_by: 1", "scale_by: 1, replicas: 3"),
            "step 'act' (steps[1]).action",
            "exactly one",
        ),
        (
            ("title: Look", "title: Look\n    colour: red"),
            "step 'look' (steps[0]).colour",
            "unknown key",
        ),
        (("kind: diagnostic", "kind: ponder"), "step 'look' (steps[0])", "instruction"),
        (
            ("probe: {promql:", "probe: {pods: x, promql:"),
            "step 'look' (steps[0]).probe",
            "exactly one",
        ),
        (('node="${node}"', 'node="${}"'), "step 'look' (steps[0]).probe.promql", "placeholders"),
        (("rules: [gpu_utilization_high]", "rules: []"), "match", "at least one rule"),
    ],
)
def test_an_error_names_the_file_the_step_and_the_field(
    tmp_path: Path, change: tuple[str, str], key: str, expected: str
) -> None:
    path = _write(tmp_path, "bad", GOOD.format(name="bad").replace(*change))

    with pytest.raises(ConfigError) as caught:
        load_runbook(path)

    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert expected in caught.value.expected


def test_a_step_leading_nowhere_is_named(tmp_path: Path) -> None:
    text = GOOD.format(name="bad").replace("title: Act\n", "title: Act\n    next: nowhere\n")

    with pytest.raises(ConfigError, match="'act' leads to 'nowhere'"):
        load_runbook(_write(tmp_path, "bad", text))


def test_the_name_must_be_the_file_stem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file's name without \.yaml"):
        load_runbook(_write(tmp_path, "other", GOOD.format(name="bad")))


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        load_runbook(_write(tmp_path, "x", "name: x\n  - : [\n"))


def test_lint_collects_every_bad_file_and_warns_about_unknown_rules(tmp_path: Path) -> None:
    _write(tmp_path, "one", GOOD.format(name="one").replace("gpu_utilization_high", "no_such_rule"))
    _write(tmp_path, "two", GOOD.format(name="two").replace("kind: scale", "kind: nuke"))
    _write(tmp_path, "three", "name: three\n")

    report = lint_runbooks(tmp_path, engine=load_engine_config(None))

    assert [Path(e.source).name for e in report.errors] == ["three.yaml", "two.yaml"]
    assert [r.name for r in report.runbooks] == ["one"]
    assert len(report.warnings) == 1
    assert "no_such_rule" in report.warnings[0]


def test_cli_lint_passes_on_the_shipped_runbooks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbooks", "lint"]) == 0
    assert "runbooks OK" in capsys.readouterr().out


def test_cli_lint_fails_with_the_error_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "bad", GOOD.format(name="bad").replace("kind: scale", "kind: nuke"))

    assert main(["runbooks", "lint", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: step 'act' (steps[1]).action.kind" in err


def test_shipped_directory_is_the_repository_runbooks_folder() -> None:
    assert RUNBOOKS_DIR.name == "runbooks"
    assert (RUNBOOKS_DIR / "README.md").exists()
