"""Migrations reach head on empty databases, and the migrated schema is exactly the models."""

import logging

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.engine import create_engine_for
from storage.migrate import current_revision, downgrade, head_revision, upgrade


def test_an_empty_database_has_no_revision(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None


def test_upgrade_reaches_head__on_an_empty_database(empty_database_url: str) -> None:
    upgrade(empty_database_url)

    assert head_revision() is not None
    assert current_revision(empty_database_url) == head_revision()


def test_upgrade_twice_changes_nothing(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)

    assert current_revision(empty_database_url) == head_revision()


def test_migrated_schema_matches_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()

    assert differences == []


def test_upgrade_leaves_the_host_logging_alone(sqlite_url: str) -> None:
    host_logger = logging.getLogger("gpuwarden.host")
    root_handlers = list(logging.getLogger().handlers)

    upgrade(sqlite_url)

    assert host_logger.disabled is False
    assert logging.getLogger().handlers == root_handlers


def test_downgrade_of_0002_drops_the_notification_table_and_upgrade_restores_it(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url)
    downgrade(empty_database_url, "0001")
    assert current_revision(empty_database_url) == "0001"
    assert "notification" not in _tables(empty_database_url)

    upgrade(empty_database_url)
    assert "notification" in _tables(empty_database_url)
    downgrade(empty_database_url, "base")
    assert current_revision(empty_database_url) is None


def _tables(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
