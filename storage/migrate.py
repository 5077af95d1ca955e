"""Schema migrations, run in code: no alembic.ini, and the host's logging is left alone."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.engine import create_engine_for

_SCRIPTS = Path(__file__).parent / "migrations"


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    command.upgrade(_config(url), "head")


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` (``"base"``: empty)."""
    command.downgrade(_config(url), revision)


def current_revision(url: str) -> str | None:
    """The schema revision of the database at ``url``; None if it was never migrated."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest schema revision this code knows."""
    return ScriptDirectory.from_config(_config("")).get_current_head()


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
