import logging
from contextlib import closing
from pathlib import Path

import pytest

from agent.collectors.logs import LogTailer

from .conftest import NOW

SEED_LINE = (
    '[2024-03-15 14:30:22] [WARNING] [MODEL_INFER] [node_03]"Input tensor shape mismatch: '
    'expected [3,224,224] got [3,256,256]"'
)


def _line(level: str, component: str = "MODEL_INFER", message: str = "m") -> str:
    return f'[2024-03-15 14:30:22] [{level}] [{component}] [node_03] "{message}"'


def _append(path: Path, *lines: str, end: str = "\n") -> None:
    with path.open("a") as file:
        file.write("".join(line + end for line in lines))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "serving.log"
    _append(path, _line("ERROR", message="before the agent started"))
    return path


def _tailer(paths: list[Path], **kwargs) -> closing[LogTailer]:
    return closing(LogTailer(paths, node="gpu-node-1", **kwargs))


def _counters(readings) -> dict[tuple[str, ...], float]:
    return {(r.metric, *r.labels.values()): r.value for r in readings}


def test_warning_and_worse_lines_become_events_and_every_line_is_counted(log):
    with _tailer([log]) as tailer:
        _append(log, SEED_LINE, _line("INFO"), _line("DEBUG", "SCHEDULER"))
        _append(log, _line("ERROR", "KV_CACHE", "oom"), _line("CRITICAL", "KV_CACHE", "dead"))
        readings, events = tailer.collect(NOW)

    assert [(e.kind, e.ts, e.message, dict(e.attrs)) for e in events] == [
        (
            "log",
            NOW,
            "Input tensor shape mismatch: expected [3,224,224] got [3,256,256]",
            {
                "level": "WARNING",
                "component": "MODEL_INFER",
                "node": "node_03",
                "message": "Input tensor shape mismatch: expected [3,224,224] got [3,256,256]",
                "logged_at": "2024-03-15 14:30:22",
            },
        ),
        ("log", NOW, "oom", {**events[1].attrs, "level": "ERROR", "component": "KV_CACHE"}),
        ("log", NOW, "dead", {**events[2].attrs, "level": "CRITICAL"}),
    ]
    assert _counters(readings) == {
        ("gpuwarden_log_lines_total", "CRITICAL", "KV_CACHE"): 1,
        ("gpuwarden_log_lines_total", "DEBUG", "SCHEDULER"): 1,
        ("gpuwarden_log_lines_total", "ERROR", "KV_CACHE"): 1,
        ("gpuwarden_log_lines_total", "INFO", "MODEL_INFER"): 1,
        ("gpuwarden_log_lines_total", "WARNING", "MODEL_INFER"): 1,
        ("gpuwarden_log_unparsed_lines_total", str(log)): 0,
        ("gpuwarden_log_events_dropped_total",): 0,
    }


def test_counters_accumulate_and_nothing_new_means_no_events(log):
    with _tailer([log]) as tailer:
        _append(log, _line("INFO"))
        tailer.collect(NOW)
        readings, events = tailer.collect(NOW + 1)
        _append(log, _line("INFO"))
        later, _ = tailer.collect(NOW + 2)

    assert events == []
    assert _counters(readings)[("gpuwarden_log_lines_total", "INFO", "MODEL_INFER")] == 1
    assert _counters(later)[("gpuwarden_log_lines_total", "INFO", "MODEL_INFER")] == 2


def test_lines_that_do_not_parse_are_counted_per_file_not_fatal(log):
    with _tailer([log]) as tailer:
        _append(log, "Traceback (most recent call last):", "", _line("NOTICE"), _line("ERROR"))
        readings, events = tailer.collect(NOW)

    assert len(events) == 1
    assert _counters(readings)[("gpuwarden_log_unparsed_lines_total", str(log))] == 2


def test_a_line_is_read_only_once_its_newline_arrived(log):
    with _tailer([log]) as tailer:
        _append(log, _line("ERROR", message="written in two parts"), end="")
        assert tailer.collect(NOW)[1] == []
        _append(log, "")
        _, events = tailer.collect(NOW + 1)

    assert [e.message for e in events] == ["written in two parts"]


def test_a_rotated_file_is_read_to_its_end_then_the_new_one_from_its_start(log):
    with _tailer([log]) as tailer:
        _append(log, _line("ERROR", message="1"))
        tailer.collect(NOW)
        _append(log, _line("ERROR", message="2"))
        log.rename(log.with_suffix(".log.1"))
        _append(log.with_suffix(".log.1"), _line("ERROR", message="3"))
        _append(log, _line("ERROR", message="4"))
        events = [e for t in (1, 2) for e in tailer.collect(NOW + t)[1]]

    assert [e.message for e in events] == ["2", "3", "4"]


def test_a_truncated_file_is_read_from_its_start(log):
    with _tailer([log]) as tailer:
        _append(log, _line("ERROR", message="before truncation, a long line"))
        tailer.collect(NOW)
        log.write_text(_line("ERROR", message="after") + "\n")
        _, events = tailer.collect(NOW + 1)

    assert [e.message for e in events] == ["after"]


def test_a_file_created_after_the_start_is_read_from_its_beginning(tmp_path):
    path = tmp_path / "later.log"
    with _tailer([path]) as tailer:
        assert tailer.collect(NOW)[1] == []
        _append(path, _line("ERROR", message="hello"))
        _, events = tailer.collect(NOW + 1)

    assert [e.message for e in events] == ["hello"]


def test_reads_at_most_max_bytes_per_file_per_cycle(log):
    with _tailer([log], max_bytes=100) as tailer:
        _append(log, *(_line("ERROR", message=str(i)) for i in range(6)))
        per_cycle = [len(tailer.collect(NOW + i)[1]) for i in range(6)]

    assert all(n <= 2 for n in per_cycle)
    assert sum(per_cycle) == 6


def test_an_event_storm_is_cut_counted_and_logged_once_per_episode(log, caplog):
    with _tailer([log], max_events=2) as tailer, caplog.at_level(logging.INFO):
        for cycle in range(2):
            _append(log, *(_line("ERROR", message=str(i)) for i in range(5)))
            readings, events = tailer.collect(NOW + cycle)
            assert [e.message for e in events] == ["0", "1"]
        _append(log, _line("ERROR"))
        assert len(tailer.collect(NOW + 2)[1]) == 1

    assert _counters(readings)[("gpuwarden_log_events_dropped_total",)] == 6
    assert _counters(readings)[("gpuwarden_log_lines_total", "ERROR", "MODEL_INFER")] == 10
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("over 2 WARNING+ log lines")]) == 1
    assert "log event storm over: 6 events were not sent" in messages


def test_long_messages_are_cut_to_what_the_bot_accepts(log):
    with _tailer([log]) as tailer:
        _append(log, _line("ERROR", message="x" * 10_000))
        _, (event,) = tailer.collect(NOW)

    assert len(event.message) == 4000
    assert event.attrs["message"] == event.message
