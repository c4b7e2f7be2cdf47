"""Apply the shipped Alembic migrations; idempotent, run by `yishi migrate` and at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.database import Database

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the schema up to ``revision``; returns the revision it ends at."""

    def _upgrade(connection: Connection) -> str | None:
        command.upgrade(_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()

    async with db.transaction() as conn:
        return await conn.run_sync(_upgrade)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()
