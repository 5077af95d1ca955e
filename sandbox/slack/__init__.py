"""Slack stand-in: the bot's Web API subset, signed interaction delivery and a browser UI."""

from sandbox.slack.app import create_app

__all__ = ["create_app"]
