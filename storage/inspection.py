"""The database seen whole, and changed behind the bot's back: what an operator (or an
intruder with write access) could read and do. The tests use it to prove that nothing
names a forgotten person, that refused actions change nothing, and that /audit catches a
log rewritten with recomputed hashes. The bot itself never calls it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.chain import GENESIS, Link, link
from storage.schema import (
    ballots,
    communities,
    decision_milestones,
    decision_updates,
    decisions,
    due_work,
    metadata,
    poll_log,
    polls,
    report_events,
    summaries,
    time_balances,
    time_ledger,
)


async def every_row(conn: AsyncConnection,
                    skip: frozenset[str] = frozenset()) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (but ``skip``), by table name."""
    return {table.name: [dict(row) for row in (await conn.execute(select(table))).mappings()]
            for table in metadata.sorted_tables if table.name not in skip}


async def change_ballot(conn: AsyncConnection, poll_id: int, user_id: int,
                        choice: list[int]) -> str:
    """Someone edits a person's ballot in place; its voter key."""
    key = (await conn.execute(select(ballots.c.voter_key).where(
        ballots.c.poll_id == poll_id, ballots.c.user_id == user_id))).scalar_one()
    await conn.execute(update(ballots).where(ballots.c.poll_id == poll_id,
                                             ballots.c.voter_key == key).values(choice=choice))
    return key


async def rewrite_log(conn: AsyncConnection, poll_id: int, links: list[Link],
                      voter_key: str, choice: list[int]) -> str:
    """... and rewrites the vote log to match, every hash recomputed, the stored head too;
    the new head."""
    previous = GENESIS
    for old in links:
        entry = dict(old.entry)
        if entry["voter"] == voter_key:
            entry["choice"] = choice
        digest = link(previous, entry)
        await conn.execute(update(poll_log).where(
            poll_log.c.poll_id == poll_id, poll_log.c.seq == old.seq).values(
            entry=entry, prev_hash=previous, hash=digest))
        previous = digest
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(head_hash=previous))
    return previous


async def old_community(conn: AsyncConnection, chat_id: int, now: datetime) -> int:
    """A group's row as early revisions wrote it (only the columns they all have). Its id."""
    made = await conn.execute(communities.insert().values(
        chat_id=chat_id, title="Building 3", language="zh", timezone="Asia/Shanghai",
        quiet_hours="22:00-07:30", created_at=now, updated_at=now))
    return int(made.inserted_primary_key[0])


async def timeline_before_kinds(conn: AsyncConnection, community_id: int,
                                now: datetime) -> int:
    """A decision as revisions before 0013 wrote it, with no kind on its timeline: made,
    a milestone ticked ("✅ " and its title), then a progress update. Its id."""
    made = await conn.execute(decisions.insert().values(
        community_id=community_id, number=1, title="Fix the gate", status="in_progress",
        progress=40, created_at=now, updated_at=now))
    decision_id = int(made.inserted_primary_key[0])
    await conn.execute(decision_milestones.insert().values(
        decision_id=decision_id, title="Quote", done_at=now))
    for status, percent, words in (("planned", 0, None), ("planned", 0, "✅ Quote"),
                                   ("in_progress", 40, "The smith came.")):
        await conn.execute(decision_updates.insert().values(
            decision_id=decision_id, actor_id=None, status=status, percent=percent,
            text=words, photos=[], at=now))
    return decision_id


async def table_files(conn: AsyncConnection, tables: tuple[str, ...]) -> bytes:
    """PostgreSQL: the bytes of the files that hold ``tables`` (and their TOAST tables),
    as someone with the server's disk could read them. Needs a superuser."""
    found = b""
    for table in tables:
        relations = [table]
        toast = (await conn.execute(text(
            "SELECT reltoastrelid::regclass::text FROM pg_class "
            "WHERE relname = :name AND reltoastrelid <> 0"), {"name": table})).scalar()
        if toast:
            relations.append(toast)
        for relation in relations:
            found += (await conn.execute(text(
                "SELECT pg_read_binary_file(pg_relation_filepath(CAST(:name AS regclass)))"),
                {"name": relation})).scalar_one()
    return found


class _Deadlock(Exception):
    """The driver's error for a transaction PostgreSQL ended to break a deadlock."""

    sqlstate = "40P01"


def deadlock(where: str) -> DBAPIError:
    """What a statement raises when PostgreSQL ends its transaction to break a deadlock,
    as SQLAlchemy hands it on (``where`` names the statement in the message)."""
    return DBAPIError(f"-- {where}", None, _Deadlock("deadlock detected"))


async def rewrite_time_entry(conn: AsyncConnection, entry_id: int, amount: int) -> None:
    """Change what a time bank entry says (the database refuses it)."""
    await conn.execute(update(time_ledger).where(time_ledger.c.id == entry_id)
                       .values(amount=amount))


async def set_time_balances(conn: AsyncConnection, balance: int) -> None:
    """Set every time bank balance (the database refuses one below zero)."""
    await conn.execute(update(time_balances).values(balance=balance))


async def schema_drift(conn: AsyncConnection) -> list[Any]:
    """Where the migrated database differs from storage/schema.py (Alembic's comparison)."""
    def differences(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    return await conn.run_sync(differences)


# --- reading what the bot keeps ---------------------------------------------------------


async def resolved_report_ids(conn: AsyncConnection) -> set[int]:
    """Every report that was resolved at least once."""
    rows = await conn.execute(select(report_events.c.report_id).where(
        report_events.c.status == "resolved"))
    return {report_id for (report_id,) in rows}


async def stored_summaries(conn: AsyncConnection,
                           community_id: int) -> list[tuple[datetime, str]]:
    """Each weekly summary kept for a community: its week and its text."""
    rows = await conn.execute(select(summaries.c.week_start, summaries.c.text).where(
        summaries.c.community_id == community_id))
    return [(week_start, words) for week_start, words in rows]


async def done_work_kinds(conn: AsyncConnection) -> list[str]:
    """The kind of every piece of due work that was done."""
    rows = await conn.execute(select(due_work.c.kind).where(due_work.c.done_at.is_not(None)))
    return [kind for (kind,) in rows]


async def add_due_work(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Many rows of due work at once, as a benchmark's backlog."""
    for start in range(0, len(rows), 5000):
        await conn.execute(due_work.insert(), rows[start:start + 5000])


async def due_again(conn: AsyncConnection, work_ids: Collection[int], due_at: datetime) -> None:
    """Give claimed work back, due at ``due_at`` and never tried."""
    await conn.execute(due_work.update().where(due_work.c.id.in_(list(work_ids)))
                       .values(due_at=due_at, attempts=0))


async def sqlite_settings(conn: AsyncConnection) -> tuple[str, int]:
    """SQLite's journal mode and whether foreign keys are enforced."""
    journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
    keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
    return str(journal), int(keys or 0)


async def due_query_plan(conn: AsyncConnection) -> str:
    """SQLite's plan for the scheduler's question "what is due?"."""
    plan = (await conn.execute(text(
        "EXPLAIN QUERY PLAN SELECT * FROM due_work WHERE done_at IS NULL AND due_at <= "
        "'2026-01-01' ORDER BY due_at, id LIMIT 10"))).all()
    return "\n".join(str(row) for row in plan)


@dataclass(frozen=True)
class SqliteCopy:
    """What a backup file of the SQLite database holds, read with sqlite3 itself."""

    integrity: str
    tables: frozenset[str]
    community_titles: list[str]
    voter_keys: frozenset[str]
    log: list[Link]


def read_sqlite_copy(path: Path) -> SqliteCopy:
    copy = sqlite3.connect(path)
    try:
        (integrity,) = copy.execute("PRAGMA integrity_check").fetchone()
        tables = frozenset(name for (name,) in copy.execute(
            "SELECT name FROM sqlite_master WHERE type='table'"))
        titles = [title for (title,) in copy.execute("SELECT title FROM communities")]
        voters = frozenset(key for (key,) in copy.execute("SELECT voter_key FROM ballots"))
        log = [Link(seq=seq, entry=json.loads(entry), prev_hash=prev, hash=digest)
               for seq, entry, prev, digest in copy.execute(
                   "SELECT seq, entry, prev_hash, hash FROM poll_log ORDER BY seq")]
    finally:
        copy.close()
    return SqliteCopy(integrity, tables, titles, voters, log)
