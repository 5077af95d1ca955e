from __future__ import annotations

import os

import pytest

from agent.collectors.kmsg import KmsgReader, record_text
from agent.errors import ConfigError

XID_79 = "NVRM: Xid (PCI:0000:3b:00): 79, pid=0, name=, GPU has fallen off the bus."
XID_13 = "NVRM: Xid (PCI:0000:9b:00): 13, pid=77, name=python3, Graphics Exception"


def _append(path, *lines: str) -> None:
    with path.open("a") as log:
        log.writelines(line + "\n" for line in lines)


def test_starts_at_the_end__old_lines_are_not_reported_again(tmp_path):
    log = tmp_path / "kern.log"
    _append(log, XID_79)
    reader = KmsgReader(log)

    assert reader.read() == []
    _append(log, "usb 1-1: new device", XID_13)
    assert [(x.xid, x.pci_bus_id, x.pid) for x in reader.read()] == [(13, "0000:9b:00", 77)]
    reader.close()


def test_a_line_is_read_once_it_is_complete(tmp_path):
    log = tmp_path / "kern.log"
    log.touch()
    reader = KmsgReader(log)
    with log.open("a") as out:
        out.write(XID_79[:20])
        out.flush()
        assert reader.lines() == []
        out.write(XID_79[20:] + "\n")

    assert reader.lines() == [XID_79]


def test_rotation__rest_of_the_old_file_then_the_new_one_from_its_start(tmp_path):
    log = tmp_path / "kern.log"
    log.touch()
    reader = KmsgReader(log)
    _append(log, "old tail")
    log.rename(tmp_path / "kern.log.1")
    _append(log, "new 1", "new 2")

    assert reader.lines() == ["old tail", "new 1", "new 2"]
    _append(log, "new 3")
    assert reader.lines() == ["new 3"]


def test_truncation__reads_again_from_the_start(tmp_path):
    log = tmp_path / "kern.log"
    _append(log, *(f"boot line {i} with enough text to be longer than one XID" for i in range(9)))
    reader = KmsgReader(log)
    log.write_text("")
    _append(log, XID_13)

    assert [x.xid for x in reader.read()] == [13]


def test_a_file_that_appears_later_is_read_from_its_start(tmp_path):
    log = tmp_path / "kern.log"
    reader = KmsgReader(log)
    assert reader.lines() == []
    _append(log, XID_79)

    assert [x.xid for x in reader.read()] == [79]


def test_kmsg_record_text_drops_header_and_key_lines():
    record = f"3,1021,5678901234,-;{XID_79}\n SUBSYSTEM=pci\n DEVICE=+pci:0000:3b:00.0\n"
    assert record_text(record.encode()) == XID_79


def test_unreadable_log_is_a_config_error_naming_the_flag(tmp_path, monkeypatch):
    log = tmp_path / "kern.log"
    log.touch()

    def deny(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(ConfigError, match=r"--kmsg-path .*CAP_SYSLOG"):
        KmsgReader(log)
