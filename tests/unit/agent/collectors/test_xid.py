from __future__ import annotations

import pytest

from agent.collectors.xid import Xid, XidFeed, normalise_pci, parse_xid_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "NVRM: Xid (PCI:0000:10:1c): 63, pid=1896, Row Remapper: New row marked for "
            "remapping, reset gpu to activate.",
            Xid(
                63,
                "0000:10:1c",
                "kmsg",
                "Row Remapper: New row marked for remapping, reset gpu to activate.",
                1896,
            ),
        ),
        (
            "NVRM: Xid (PCI:0002:00:00): 119, pid=1582259, name=nvc:[driver], Timeout after 6s "
            "of waiting for RPC response from GPU1 GSP!",
            Xid(
                119,
                "0002:00:00",
                "kmsg",
                "Timeout after 6s of waiting for RPC response from GPU1 GSP!",
                1582259,
                "nvc:[driver]",
            ),
        ),
        (
            "[1234567.891] NVRM: Xid (PCI:0000:9b:00): 79, pid=0, name=, GPU has fallen off "
            "the bus.",
            Xid(79, "0000:9b:00", "kmsg", "GPU has fallen off the bus."),
        ),
        (
            "May 12 10:00:01 gpu-node-3 kernel: NVRM: Xid (PCI:0000:3b:00): 13, "
            "pid='<unknown>', name=<unknown>, Graphics Exception: ESR 0x50",
            Xid(13, "0000:3b:00", "kmsg", "Graphics Exception: ESR 0x50", 0, "<unknown>"),
        ),
        (
            "NVRM: Xid (0000:03:00): 48, An uncorrectable double bit error (DBE) has been "
            "detected on GPU",
            Xid(
                48,
                "0000:03:00",
                "kmsg",
                "An uncorrectable double bit error (DBE) has been detected on GPU",
            ),
        ),
    ],
)
def test_parses_nvrm_xid_lines(line, expected):
    assert parse_xid_line(line) == expected


@pytest.mark.parametrize(
    "line",
    ["NVRM: loading NVIDIA UNIX x86_64 Kernel Module  580.159.04", "Xid 79", "", "NVRM: Xid"],
)
def test_other_lines_hold_no_xid(line):
    assert parse_xid_line(line) is None


@pytest.mark.parametrize(
    ("bus_id", "normal"),
    [
        ("00000000:3B:00.0", "0000:3b:00"),
        ("0000:3b:00", "0000:3b:00"),
        ("0002:00:00.0", "0002:00:00"),
        ("3b:00.0", "0000:3b:00"),
    ],
)
def test_nvml_and_kernel_bus_ids_normalise_alike(bus_id, normal):
    assert normalise_pci(bus_id) == normal


def test_feed_keeps_one_report_per_gpu_and_xid_within_the_window():
    now = [1000.0]
    feed = XidFeed(window_s=5.0, clock=lambda: now[0])
    nvml = Xid(79, "0000:3b:00", "nvml")
    kmsg = Xid(79, "0000:3b:00", "kmsg", "GPU has fallen off the bus.")
    other_gpu = Xid(79, "0000:9b:00", "kmsg")

    assert feed.add([nvml, other_gpu]) == 2
    now[0] += 2
    assert feed.add([kmsg]) == 0
    assert [(a.ts, a.xid) for a in feed.drain()] == [(1000.0, nvml), (1000.0, other_gpu)]
    assert feed.drain() == []
    now[0] += 3
    assert feed.add([kmsg]) == 1
