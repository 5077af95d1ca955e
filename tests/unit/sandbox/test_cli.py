"""The ``gpuwarden sandbox`` options and their environment defaults."""

from __future__ import annotations

import argparse

import pytest

from sandbox import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(argv)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPUWARDEN_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("GPUWARDEN_SLACK_SIGNING_SECRET", raising=False)
    args = parse()
    assert (args.host, args.port) == ("127.0.0.1", 8700)
    assert (args.bot_token, args.signing_secret) == ("xoxb-sandbox-token", "sandbox-signing-secret")
    assert args.request_url == "http://127.0.0.1:8800/slack/events"


def test_environment_supplies_token_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUWARDEN_SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("GPUWARDEN_SLACK_SIGNING_SECRET", "secret-from-env")
    args = parse("--port", "9000")
    assert (args.bot_token, args.signing_secret, args.port) == (
        "xoxb-from-env",
        "secret-from-env",
        9000,
    )
