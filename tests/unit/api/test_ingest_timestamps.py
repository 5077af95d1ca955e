"""Reading timestamps must lie near the bot's clock."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.api.schemas import IngestPayload

NOW = 1_800_000_000.0


def batch(sample_ts: float, event_ts: float = NOW) -> bytes:
    return json.dumps(
        {
            "batch_id": "batch-0001",
            "node": "gpu-node-1",
            "sent_at": NOW,
            "samples": [{"metric": "m", "ts": sample_ts, "value": 1.0}],
            "events": [{"kind": "xid", "ts": event_ts}],
        }
    ).encode()


@pytest.mark.parametrize("ts", [NOW, NOW + 3600, NOW - 7 * 86400, NOW - 60])
def test_timestamps_within_an_hour_ahead_and_a_week_behind_are_accepted(ts):
    assert IngestPayload.from_json(batch(ts), now=NOW).samples[0].ts == ts


@pytest.mark.parametrize("ts", [NOW + 3601, NOW - 7 * 86400 - 1, 1.0, 0.0, -5.0, 1e300])
def test_a_sample_far_from_the_bots_clock_is_refused_naming_it(ts):
    with pytest.raises(ValidationError) as caught:
        IngestPayload.from_json(batch(ts), now=NOW)
    (error,) = caught.value.errors()
    assert error["loc"] == ("samples", 0, "ts")
    assert "within 7 d before and 1 h after the bot's clock" in error["msg"]


def test_an_event_far_from_the_bots_clock_is_refused_naming_it():
    with pytest.raises(ValidationError) as caught:
        IngestPayload.from_json(batch(NOW, event_ts=NOW + 86400), now=NOW)
    assert caught.value.errors()[0]["loc"] == ("events", 0, "ts")
