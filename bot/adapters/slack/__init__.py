"""Slack: the Web API notifier, Block Kit renderers and the Bolt listeners."""
