"""`yishi backup DEST`: a consistent copy of the live database — SQLite's online backup,
or PostgreSQL's own pg_dump (custom format, restored with pg_restore)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"backup copies SQLite and PostgreSQL databases, not {parsed.get_backend_name()}")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("storage.url points at an in-memory database; nothing to back up")
    return Path(parsed.database)


def backup(url: str, dest: Path) -> int:
    """Copy the database at ``url`` to ``dest``; returns the bytes written.

    SQLite's backup API and pg_dump both copy a consistent snapshot even while the bot
    keeps writing.
    """
    if make_url(url).get_backend_name() == "postgresql":
        return _pg_dump(url, dest)
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


def _pg_dump(url: str, dest: Path) -> int:
    parsed = make_url(url)
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError("pg_dump is not installed here (Debian: apt-get install "
                          "postgresql-client); it is what backs up a PostgreSQL database")
    dest = dest.expanduser()
    if dest.is_dir():
        dest = dest / f"{parsed.database or 'yishi'}.dump"
    partial = dest.with_name(dest.name + ".partial")
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run([program, "--format=custom", f"--file={partial}", f"--dbname={plain}"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        # pg_dump's own words, without the connection string (it may hold a password).
        raise BackupError("pg_dump failed: " + done.stderr.strip().replace(plain, "…"))
    partial.replace(dest)
    return dest.stat().st_size
