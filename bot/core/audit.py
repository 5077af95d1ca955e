"""The audit log as a hash chain: each row's hash covers its fields and the previous row's hash.

Changing, inserting or deleting a row anywhere but at the end breaks every later link, which
:func:`verify_chain` finds (as CloudTrail's digest files do). Truncating the tail is only seen
against a hash kept elsewhere: pass it as ``anchor``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.core.incidents import AuditEntry

GENESIS = "0" * 64  # the "previous hash" of the first row


def entry_hash(entry: AuditEntry, *, prev_hash: str) -> str:
    """SHA-256 over the previous hash and the entry's fields, as canonical JSON."""
    fields = [prev_hash, repr(float(entry.at)), entry.actor, entry.action, entry.target]
    payload = json.dumps([*fields, entry.detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chained(entry: AuditEntry, *, prev_hash: str | None) -> AuditEntry:
    """``entry`` linked after the row whose hash is ``prev_hash`` (None: the first row)."""
    previous = GENESIS if prev_hash is None else prev_hash
    return replace(entry, prev_hash=previous, hash=entry_hash(entry, prev_hash=previous))


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """What :func:`verify_chain` found: intact, or the first row that breaks the chain."""

    intact: bool
    checked: int
    broken_at: int | None = None  # id of the first bad row
    reason: str = ""


def verify_chain(entries: Sequence[AuditEntry], *, anchor: str | None = None) -> ChainVerdict:
    """Check links and hashes of ``entries`` (oldest first); ``anchor``: the known last hash."""
    previous = GENESIS
    for checked, entry in enumerate(entries):
        if entry.prev_hash != previous:
            return ChainVerdict(False, checked, entry.id, "its link to the previous row is broken")
        if entry.hash != entry_hash(entry, prev_hash=previous):
            return ChainVerdict(False, checked, entry.id, "its content does not match its hash")
        previous = entry.hash
    if anchor is not None and anchor != previous:
        last = entries[-1].id if entries else None
        return ChainVerdict(False, len(entries), last, "rows after it are missing")
    return ChainVerdict(True, len(entries))
