"""The audit hash chain: linking, verification, and tampering found."""

from __future__ import annotations

from dataclasses import replace

from bot.core.audit import GENESIS, chained, entry_hash, verify_chain
from bot.core.incidents import AuditEntry


def _chain(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i in range(count):
        entry = AuditEntry(float(i), f"U{i}", "action.request", f"ACT-{i}", "{}", id=i + 1)
        entries.append(chained(entry, prev_hash=entries[-1].hash if entries else None))
    return entries


def test_the_first_row_links_to_the_genesis_hash_and_each_next_to_its_predecessor() -> None:
    entries = _chain(3)

    assert entries[0].prev_hash == GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[1].hash == entry_hash(entries[1], prev_hash=entries[0].hash)


def test_an_untouched_chain_verifies() -> None:
    verdict = verify_chain(_chain(5))

    assert verdict.intact
    assert verdict.checked == 5


def test_a_changed_row_is_found() -> None:
    entries = _chain(5)
    entries[2] = replace(entries[2], actor="mallory")

    verdict = verify_chain(entries)

    assert not verdict.intact
    assert (verdict.broken_at, verdict.reason) == (3, "its content does not match its hash")


def test_a_deleted_row_is_found() -> None:
    entries = _chain(5)
    del entries[1]

    verdict = verify_chain(entries)

    assert (verdict.intact, verdict.broken_at) == (False, 3)
    assert "link" in verdict.reason


def test_a_rehashed_row_still_breaks_the_next_link() -> None:
    entries = _chain(4)
    forged = replace(entries[1], detail="approved by nobody")
    entries[1] = replace(forged, hash=entry_hash(forged, prev_hash=forged.prev_hash))

    assert verify_chain(entries).broken_at == 3


def test_a_truncated_tail_is_found_only_against_an_anchor() -> None:
    entries = _chain(4)

    assert verify_chain(entries[:2]).intact
    verdict = verify_chain(entries[:2], anchor=entries[-1].hash)
    assert (verdict.intact, verdict.reason) == (False, "rows after it are missing")


def test_an_empty_log_verifies() -> None:
    assert verify_chain([]).intact
