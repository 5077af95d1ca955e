"""gc.freeze after start-up and after fills: when the ingest path freezes the heap, and when not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.services.ingest import HeapKeeper


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def frozen() -> bool:
    return gc.get_freeze_count() > 0


def test_settling_collects_and_freezes_what_survives():
    survivor = [object() for _ in range(100)]
    HeapKeeper().settle(0)
    assert frozen()
    assert survivor  # frozen objects stay alive and usable


def test_the_first_batch_settles__later_ones_only_after_every_new_series():
    keeper = HeapKeeper(every=100)
    keeper.grown(5)  # nothing was frozen yet (no start-up settle): settle now
    assert frozen()
    gc.unfreeze()
    keeper.grown(104)  # 99 new series since: not a fill
    assert not frozen()
    keeper.grown(105)
    assert frozen()


def test_after_a_start_up_settle_small_growth_freezes_nothing():
    keeper = HeapKeeper(every=100)
    keeper.settle(1_000)
    gc.unfreeze()
    keeper.grown(1_050)
    assert not frozen()
