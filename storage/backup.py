"""`yishi backup DEST`: a consistent copy of a live SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"backup copies SQLite databases; for {parsed.get_backend_name()} use its own "
            "tools (pg_dump for PostgreSQL)"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("storage.url points at an in-memory database; nothing to back up")
    return Path(parsed.database)


def backup(url: str, dest: Path) -> int:
    """Copy the database at ``url`` to ``dest`` with SQLite's online backup; returns bytes.

    The backup API copies a consistent snapshot even while the bot keeps writing.
    """
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"{source_path}: no such database")
    dest = dest.expanduser()
    if dest.is_dir():
        dest = dest / source_path.name
    if dest.resolve() == source_path.resolve():
        raise BackupError("the destination is the database itself")
    partial = dest.with_name(dest.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            # The copy should stand alone: no -wal file beside it.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        source.close()
    partial.replace(dest)
    return dest.stat().st_size
