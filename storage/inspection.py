"""The database seen whole, and changed behind the bot's back: what an operator (or an
intruder with write access) could read and do. The tests use it to prove that nothing
names a forgotten person, that refused actions change nothing, and that /audit catches a
log rewritten with recomputed hashes. The bot itself never calls it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.chain import GENESIS, Link, link
from storage.schema import (
    ballots,
    decision_milestones,
    decision_updates,
    decisions,
    metadata,
    poll_log,
    polls,
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


async def rewrite_time_entry(conn: AsyncConnection, entry_id: int, amount: int) -> None:
    """Change what a time bank entry says (the database refuses it)."""
    await conn.execute(update(time_ledger).where(time_ledger.c.id == entry_id)
                       .values(amount=amount))


async def set_time_balances(conn: AsyncConnection, balance: int) -> None:
    """Set every time bank balance (the database refuses one below zero)."""
    await conn.execute(update(time_balances).values(balance=balance))
