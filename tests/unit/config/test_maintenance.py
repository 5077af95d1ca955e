"""maintenance.yaml: weekly windows become MaintenanceWindow values; mistakes name the key."""

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from bot.config.files import load_config
from bot.core.errors import ConfigError

WINDOWS = """
windows:
  - name: driver-updates
    matchers: ['node=~"gpu-node-[12]"', "alertname!=gpu_lost"]
    days: [sat]
    start: "02:00"
    end: "04:00"
    timezone: Europe/Berlin
    comment: monthly driver roll-out
"""


def _config(tmp_path: Path, text: str):
    (tmp_path / "maintenance.yaml").write_text(text, encoding="utf-8")
    return load_config(tmp_path)


def test_the_shipped_default_has_no_windows():
    assert load_config(None).maintenance == ()


def test_a_window_mutes_its_nodes_at_its_local_time(tmp_path: Path):
    (window,) = _config(tmp_path, WINDOWS).maintenance
    assert (window.name, window.weekdays, window.start, window.end) == (
        "driver-updates",
        frozenset({5}),
        time(2),
        time(4),
    )
    saturday_3am_berlin = datetime(2026, 11, 28, 2, 0, tzinfo=UTC).timestamp()
    assert window.mutes({"node": "gpu-node-1", "alertname": "x"}, saturday_3am_berlin)
    assert not window.mutes({"node": "gpu-node-3", "alertname": "x"}, saturday_3am_berlin)
    assert not window.mutes({"node": "gpu-node-1", "alertname": "gpu_lost"}, saturday_3am_berlin)
    assert not window.mutes({"node": "gpu-node-1"}, saturday_3am_berlin + 7200)


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        (WINDOWS.replace("[sat]", "[someday]"), "windows[0].days[0]", "mon"),
        (
            WINDOWS.replace('"alertname!=gpu_lost"', '"oops"'),
            "windows[0].matchers[1]",
            "name=value",
        ),
        (WINDOWS.replace("Europe/Berlin", "Mars/Olympus"), "windows[0].timezone", "IANA"),
        (WINDOWS + WINDOWS.replace("windows:\n", ""), "windows", "unique"),
    ],
)
def test_a_bad_window_names_the_key(tmp_path: Path, text: str, key: str, says: str):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, text)
    assert caught.value.key == key
    assert says in caught.value.expected
