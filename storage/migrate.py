"""Apply the shipped Alembic migrations; idempotent, run by `yishi migrate` and at start.

A database already at the newest revision is recognised from its ``alembic_version`` row
alone, so an ordinary start does not load Alembic and the migration scripts at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision shipped; a test checks it against the migration scripts.
HEAD = "0023"
# PostgreSQL: instances starting together migrate one after another (the lock's key).
MIGRATION_LOCK = 0x796973686D  # "yishm"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    try:
        async with db.transaction() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))
                    ).scalar_one_or_none()
    except (OperationalError, ProgrammingError):  # no alembic_version table yet
        return None


async def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the schema up to ``revision``; returns the revision it ends at."""
    if revision in ("head", HEAD) and await current_revision(db) == HEAD:
        return HEAD

    def _upgrade(connection: Connection) -> str | None:
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        command.upgrade(_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()

    async with db.transaction() as conn:
        if not db.is_sqlite:
            # Several instances starting at once: the first migrates, the others wait
            # for it and then find the schema up to date.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        return await conn.run_sync(_upgrade)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()
