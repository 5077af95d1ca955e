"""Reading the words of ``/silence add``: matchers, then a duration, then why."""

from __future__ import annotations

import pytest

from bot.adapters.slack.silence_listeners import SilenceRequest, read_add
from bot.core.errors import UserError


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            ["node=gpu-node-2", "2h", "driver upgrade"],
            SilenceRequest(("node=gpu-node-2",), "2h", 7200.0, "driver upgrade"),
        ),
        (
            ["node=gpu-node-2", "alertname=~gpu_.*", "30m", "swap", "the", "PSU"],
            SilenceRequest(("node=gpu-node-2", "alertname=~gpu_.*"), "30m", 1800.0, "swap the PSU"),
        ),
        (  # curly quotes, as Slack clients may type them, are not part of the comment
            ["node!=a", "1d", "\u201cweekly", "drain\u201d"],
            SilenceRequest(("node!=a",), "1d", 86400.0, "weekly drain"),
        ),
        (["deployment=ds", "90"], SilenceRequest(("deployment=ds",), "90", 90.0, "")),
    ],
)
def test_reads_matchers_duration_and_comment(words, expected):
    assert read_add(words) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "Usage: `/silence add node=gpu-node-2"),
        (["2h", "why"], "Usage: `/silence add"),
        (["node=a"], "Usage: `/silence add"),
        (["node=a", "soon", "why"], "`soon` is not a duration"),
        (["node=a", "driver upgrade"], "`driver upgrade` is not a duration"),
    ],
)
def test_says_what_is_wrong(words, message):
    with pytest.raises(UserError) as raised:
        read_add(words)
    assert message in str(raised.value)
