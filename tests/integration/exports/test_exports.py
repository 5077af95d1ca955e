"""Exports and reports over real HTTP: bot + Slack sandbox as processes, the CLI on their database.

An incident is opened by readings pushed to the bot's ingest API; `/incident export` is typed
into the sandbox, which delivers it signed; the file is read back through the Web API with the
real slack_sdk client and downloaded from its URL; the exported HTML is opened in Chromium.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from playwright.sync_api import Page
from slack_sdk import WebClient

from gpuwarden.cli import main
from tests.integration.slack_world import bot_with_sandbox, utilisation_batch
from tests.processes import GPUWARDEN, eventually
from tests.rules import rules_yaml, utilisation_rule

SCHEMA = Path(__file__).parents[3] / "docs" / "schemas" / "incident-export.schema.json"
RULES = rules_yaml(utilisation_rule(warn_for="0s", crit_for="0s"))


@dataclass
class World:
    bot_url: str
    sandbox_url: str
    slack: WebClient
    channel_id: str
    env: dict[str, str]
    tmp: Path

    def command(self, text: str, user: str = "U0ALICE") -> dict[str, Any]:
        answer = httpx.post(
            f"{self.sandbox_url}/_sandbox/command",
            json={"user": user, "channel": "gpu-alerts", "command": "/incident", "text": text},
            timeout=10,
        ).json()
        assert answer["status"] == 200, answer
        return dict(answer)

    def ephemerals(self, user: str = "U0ALICE") -> list[dict[str, Any]]:
        listing = httpx.get(
            f"{self.sandbox_url}/_sandbox/messages",
            params={"channel": "gpu-alerts", "user": user},
            timeout=5,
        ).json()
        return list(listing["ephemerals"])

    def cli_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m gpuwarden …`` as its own process, as a person runs it."""
        return subprocess.run(
            [*GPUWARDEN, *args],
            env={**self.env, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """The same command line in this process (faster): exit code, stdout, stderr."""

    def run(*args: str) -> tuple[int, str, str]:
        for name, value in world.env.items():
            monkeypatch.setenv(name, value)
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("exports")
    (tmp / "config").mkdir()
    (tmp / "config" / "rules.yaml").write_text(RULES)
    # what the CLI needs to find the bot's database and YAML files
    env = {"GPUWARDEN_DATA_DIR": str(tmp / "data"), "GPUWARDEN_CONFIG_DIR": str(tmp / "config")}
    with bot_with_sandbox(tmp) as pair:
        sandbox_url, bot_url = pair.sandbox_url, pair.bot_url
        secret = pair.secrets
        slack = WebClient(token=secret["GPUWARDEN_SLACK_BOT_TOKEN"], base_url=f"{sandbox_url}/api/")
        channel_id = next(
            c["id"] for c in slack.conversations_list()["channels"] if c["name"] == "gpu-alerts"
        )
        for value in (0.9, 0.99, 0.5):  # fires (warn), escalates (crit), recovers: three values
            pair.ingest(utilisation_batch("gpu-node-2", "3", value, at=time.time()), timeout_s=10)
            time.sleep(0.3)
        eventually(
            lambda: len(httpx.get(f"{bot_url}/api/v1/incidents/1/timeline").json()) >= 4,
            timeout_s=20,
            what="the incident's alert entries",
        )
        yield World(bot_url, sandbox_url, slack, channel_id, env, tmp)


def test_incident_export_uploads_the_file_into_the_incident_thread(world: World):
    world.command("export INC-1 html")
    thread_ts = eventually(
        lambda: next(
            (
                m["ts"]
                for m in world.slack.conversations_history(channel=world.channel_id)["messages"]
                if "INC-1" in m.get("text", "") and m.get("reply_count", 0)
            ),
            None,
        ),
        timeout_s=10,
        what="the incident's root message",
    )

    def uploaded() -> dict[str, Any] | None:
        replies = world.slack.conversations_replies(channel=world.channel_id, ts=thread_ts)
        files = [f for m in replies["messages"] for f in m.get("files", [])]
        return files[-1] if files else None

    file = eventually(uploaded, timeout_s=15, what="the export in the thread")
    assert (file["name"], file["filetype"]) == ("INC-1-timeline.html", "html")
    info = world.slack.files_info(file=file["id"])["file"]
    assert info["shares"]["public"][world.channel_id][0]["thread_ts"] == thread_ts
    page = httpx.get(file["url_private"], timeout=5).text
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<circle class="point"') == 3  # fired 0.9, escalated 0.99, resolved 0.5
    answers = eventually(
        lambda: [e for e in world.ephemerals() if "Uploaded `INC-1-timeline.html`" in str(e)],
        timeout_s=10,
        what="the answer to the command",
    )
    assert "to the thread of INC-1" in str(answers[0])


def test_export_of_an_unknown_incident_or_format_answers_what_to_do(world: World):
    world.command("export INC-99", user="U0BOB")
    world.command("export INC-1 pdf", user="U0BOB")

    def answers() -> list[str] | None:
        texts = [str(e) for e in world.ephemerals("U0BOB") if "99" in str(e) or "pdf`" in str(e)]
        return texts if len(texts) >= 2 else None

    shown = eventually(answers, timeout_s=10, what="two error answers")
    assert any("There is no INC-99" in text or "No incident with id 99" in text for text in shown)
    assert any("md, json, csv, html" in text for text in shown)


def test_cli_exports_the_same_database_and_the_json_validates(world: World, cli):
    out = world.tmp / "inc-1.json"
    code, _, err = cli("incident", "export", "INC-1", "--format", "json", "--output", str(out))
    assert code == 0, err
    record = json.loads(out.read_text())
    validator = jsonschema.Draft202012Validator(
        json.loads(SCHEMA.read_text()),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    assert list(validator.iter_errors(record)) == []
    assert record["incident"]["ref"] == "INC-1"
    code, markdown, _ = cli("incident", "export", "1", "--format", "md")
    assert code == 0
    assert markdown.startswith("# INC-1: GPU 3 on gpu-node-2 at 90%")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("incident", "export", "7", "--format", "md"), "No incident with id 7"),
        (("incident", "export", "seven", "--format", "md"), "`seven` is not an incident"),
        (
            ("incident", "export", "1", "--format", "md", "--output", "/nonexistent/x.md"),
            "cannot write /nonexistent/x.md",
        ),
    ],
)
def test_cli_errors_exit_2_naming_what_was_wrong(cli, args, complaint):
    code, _, err = cli(*args)
    assert code == 2
    assert complaint in err


def test_api_serves_each_format_with_its_content_type(world: World):
    url = f"{world.bot_url}/api/v1/incidents/1/timeline"
    assert isinstance(httpx.get(url, timeout=5).json(), list)  # the API's own list, unchanged
    csv_answer = httpx.get(url, params={"format": "csv"}, timeout=5)
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(csv_answer.text)))
    assert rows[0] == ["incident", "at", "kind", "actor", "text", "data"]
    assert all(row[0] == "INC-1" for row in rows[1:])
    json_answer = httpx.get(url, params={"format": "json"}, timeout=5)
    assert json_answer.headers["content-type"] == "application/json"
    assert json_answer.json()["format"] == "gpuwarden.incident-export/1"
    html = httpx.get(url, params={"format": "html"}, timeout=5)
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert 'filename="INC-1-timeline.html"' in html.headers["content-disposition"]
    assert httpx.get(url, params={"format": "pdf"}, timeout=5).status_code == 422
    missing = httpx.get(f"{world.bot_url}/api/v1/incidents/99/timeline", params={"format": "md"})
    assert missing.status_code == 404


def test_reports_over_the_api_the_cli_and_slack(world: World, cli):
    report = httpx.get(f"{world.bot_url}/api/v1/reports", params={"days": 7}, timeout=5).json()
    assert report["days"] == 7
    assert report["current"]["overall"]["count"] == 1
    assert report["current"]["by_severity"]["P3"]["count"] == 1
    assert httpx.get(f"{world.bot_url}/api/v1/reports", params={"days": 5}).status_code == 422
    code, out, _ = cli("report", "--days", "30", "--format", "json")
    assert code == 0
    assert json.loads(out)["current"]["overall"]["count"] == 1
    assert "Incidents: 1 (0)" in cli("report")[1]
    world.command("report 30d", user="U0CAROL")
    answers = eventually(
        lambda: [e for e in world.ephemerals("U0CAROL") if "Mean time to acknowledge" in str(e)],
        timeout_s=10,
        what="the report in Slack",
    )
    assert "the last 30 days" in str(answers[0])


@pytest.mark.browser
def test_the_exported_html_renders_in_chromium_with_its_chart(world: World, page: Page):
    out = world.tmp / "inc-1.html"
    done = world.cli_process("incident", "export", "1", "--format", "html", "--output", str(out))
    assert done.returncode == 0, done.stderr
    page.goto(out.as_uri())
    chart = page.locator("figure svg")
    chart.wait_for(state="visible")
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100
    assert page.locator("svg circle.point").count() == 3
    assert page.locator("svg polyline.series").is_visible()
    assert "observed at the alert's transitions" in page.locator("figcaption").inner_text()
    assert page.locator("h1").inner_text().startswith("INC-1: GPU 3 on gpu-node-2 at 90%")
    page.screenshot(path=str(world.tmp / "inc-1-export.png"), full_page=True)
