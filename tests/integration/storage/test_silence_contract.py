"""Contract of the silence repository, on memory, SQLite and PostgreSQL."""

from dataclasses import replace

import pytest

from bot.core.errors import NotFound
from bot.core.matchers import Matcher, MatchOp
from bot.core.ports import UnitOfWorkFactory
from bot.core.silences import Silence


def _silence(silence_id: str, starts_at: float, ends_at: float) -> Silence:
    return Silence(
        id=silence_id,
        matchers=(Matcher("node", "gpu-node-2"), Matcher("alertname", "gpu_.*", MatchOp.RE)),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by="alice",
        comment="driver upgrade",
    )


def test_a_silence_round_trips_with_its_matchers(new_uow: UnitOfWorkFactory) -> None:
    made = _silence("s-1", 1000.0, 2000.0)
    with new_uow() as uow:
        uow.silences.add(made)
        uow.commit()
    with new_uow() as uow:
        assert uow.silences.get("s-1") == made


def test_listing_is_newest_first_and_can_leave_out_ended_ones(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        for made in (_silence("old", 100.0, 200.0), _silence("new", 900.0, 5000.0)):
            uow.silences.add(made)
        uow.commit()
    with new_uow() as uow:
        assert [s.id for s in uow.silences.list()] == ["new", "old"]
        assert [s.id for s in uow.silences.list(ending_after=1000.0)] == ["new"]


def test_save_replaces_and_an_unknown_id_is_not_found(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        uow.silences.add(_silence("s-1", 1000.0, 2000.0))
        uow.commit()
    with new_uow() as uow:
        uow.silences.save(replace(uow.silences.get("s-1"), ends_at=1500.0))
        uow.commit()
    with new_uow() as uow:
        assert uow.silences.get("s-1").ends_at == 1500.0
        with pytest.raises(NotFound):
            uow.silences.get("nope")
        with pytest.raises(NotFound):
            uow.silences.save(_silence("nope", 1.0, 2.0))


def test_without_commit_nothing_is_stored(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        uow.silences.add(_silence("s-1", 1000.0, 2000.0))
    with new_uow() as uow:
        assert uow.silences.list() == []
