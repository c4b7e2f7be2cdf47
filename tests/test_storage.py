"""Storage: migrations, SQLite settings, the due-work queue and online backups."""

import asyncio
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from bot.domain.quiet_hours import QuietHours
from storage import Database, audit, communities, due_work
from storage.backup import BackupError, backup
from storage.migrate import head_revision, upgrade
from storage.schema import metadata

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'y.db'}")
    await database.open()
    await upgrade(database)
    yield database
    await database.close()


async def test_migrations_are_idempotent_and_match_the_schema(db):
    assert await upgrade(db) == head_revision()
    assert await upgrade(db) == head_revision()

    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with db.transaction() as conn:
        assert await conn.run_sync(differences) == []


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(db):
    async with db.transaction() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def _community(conn, chat_id=-100):
    community, _ = await communities.activate(
        conn, chat_id=chat_id, title="Building 3", language="zh", timezone="Asia/Shanghai",
        quiet_hours=QuietHours.parse("22:00-07:30"), now=NOW)
    return community


async def test_a_returning_group_keeps_its_settings(db):
    async with db.transaction() as conn:
        first = await _community(conn)
        await communities.update_settings(conn, first.id, NOW, language="en")
        await communities.deactivate(conn, -100, NOW)
        again, created = await communities.activate(
            conn, chat_id=-100, title="Building 3 (new name)", language="zh",
            timezone="Asia/Shanghai", quiet_hours=QuietHours(), now=NOW)
    assert not created
    assert again.id == first.id and again.language == "en" and again.active
    assert again.title == "Building 3 (new name)"


async def test_audit_entries_are_listed_newest_first(db):
    async with db.transaction() as conn:
        community = await _community(conn)
        for i in range(3):
            await audit.record(conn, community_id=community.id, actor_id=7, action=f"a{i}",
                               at=NOW + timedelta(minutes=i), details={"n": i})
        entries = await audit.recent(conn, community.id)
    assert [e.action for e in entries] == ["a2", "a1", "a0"]
    assert entries[0].details == {"n": 2} and entries[0].at.tzinfo is not None


async def test_due_work_is_claimed_once_and_a_rearmed_item_is_not_lost(db):
    async with db.transaction() as conn:
        await due_work.schedule(conn, kind="k", key="a", due_at=NOW, now=NOW)
        await due_work.schedule(conn, kind="k", key="later", due_at=NOW + timedelta(hours=1),
                                now=NOW)
        [work] = await due_work.due(conn, NOW, 10)
        lease = NOW + timedelta(minutes=10)
        assert await due_work.claim(conn, work, lease)
        assert not await due_work.claim(conn, work, lease)  # a second tick gets nothing
        # Re-armed while it ran: finishing the old run must not swallow the new time.
        await due_work.schedule(conn, kind="k", key="a", due_at=NOW + timedelta(days=1),
                                now=NOW)
        await due_work.mark_done(conn, work.id, lease_until=lease, now=NOW)
        pending = await due_work.pending(conn, kind="k", key="a")
    assert pending is not None and pending.due_at == NOW + timedelta(days=1)


async def test_due_query_uses_the_pending_index(db):
    async with db.transaction() as conn:
        plan = (await conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT * FROM due_work WHERE done_at IS NULL AND due_at <= "
            "'2026-01-01' ORDER BY due_at, id LIMIT 10"))).all()
    assert any("ix_due_work_pending" in str(row) for row in plan), plan


async def test_backup_copies_a_live_database(db, tmp_path):
    async with db.transaction() as conn:
        await _community(conn)

    async def keep_writing():
        for i in range(50):
            async with db.transaction() as conn:
                await audit.record(conn, community_id=None, actor_id=i, action="w", at=NOW)
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    size = await asyncio.to_thread(backup, db.url, tmp_path / "copy.db")
    await writer
    assert size > 0
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT title FROM communities").fetchall() == [("Building 3",)]
    finally:
        copy.close()


def test_backup_refuses_what_it_cannot_copy(tmp_path):
    with pytest.raises(BackupError, match="pg_dump"):
        backup("postgresql+asyncpg://u:p@localhost/y", tmp_path / "x.db")
    with pytest.raises(BackupError, match="no such database"):
        backup(f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}", tmp_path / "x.db")


def test_migrate_and_backup_commands(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[telegram]\ntoken = "1:x"\n[storage]\n'
                      f'url = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n')
    root = Path(__file__).resolve().parent.parent
    run = [sys.executable, "-m", "bot"]
    migrated = subprocess.run([*run, "migrate", "--config", str(config)], cwd=root,
                              capture_output=True, text=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    assert head_revision() in migrated.stdout
    copied = subprocess.run([*run, "backup", str(tmp_path / "b.db"), "--config", str(config)],
                            cwd=root, capture_output=True, text=True, timeout=60)
    assert copied.returncode == 0, copied.stderr
    tables = sqlite3.connect(tmp_path / "b.db").execute(
        "SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert ("communities",) in tables and ("due_work",) in tables
