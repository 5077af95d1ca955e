"""Alembic environment for gpuwarden: the URL comes from the Config, never from logging files.

``storage.migrate`` builds the Config in code. Logging is left to the host process (no
``fileConfig``). SQLite runs in batch mode so that later migrations can alter tables.
"""

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.engine import create_engine_for

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    """The database to migrate, as set by ``storage.migrate``."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        msg = "alembic: sqlalchemy.url is not set; use storage.migrate.upgrade(url)"
        raise RuntimeError(msg)
    return url


def run_migrations_offline() -> None:
    """Write the migration SQL to the output instead of running it."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a connection to the configured database."""
    engine = create_engine_for(database_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
