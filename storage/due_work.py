"""Due work: what the scheduler must do, found by an indexed query on what is pending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import DueWork
from storage.schema import due_work
from storage.upsert import upsert


def _work(row: RowMapping) -> DueWork:
    return DueWork(id=row["id"], kind=row["kind"], key=row["key"], due_at=row["due_at"],
                   payload=row["payload"], attempts=row["attempts"])


async def schedule(conn: AsyncConnection, *, kind: str, key: str, due_at: datetime,
                   now: datetime, payload: dict[str, Any] | None = None) -> None:
    """Arm (or re-arm) the work named ``kind``/``key`` for ``due_at``."""
    await upsert(
        conn,
        due_work,
        {"kind": kind, "key": key, "due_at": due_at, "payload": payload or {},
         "attempts": 0, "done_at": None, "created_at": now, "leased_by": None},
        conflict=["kind", "key"],
        update=["due_at", "payload", "attempts", "done_at", "leased_by"],
    )


async def known(conn: AsyncConnection, *, kind: str, key: str) -> bool:
    """Whether the work named ``kind``/``key`` was ever armed (pending or done)."""
    row = (await conn.execute(select(due_work.c.id).where(
        due_work.c.kind == kind, due_work.c.key == key))).first()
    return row is not None


async def cancel(conn: AsyncConnection, *, kind: str, key: str) -> None:
    await conn.execute(delete(due_work).where(due_work.c.kind == kind, due_work.c.key == key))


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[DueWork]:
    """Pending work whose time has come, oldest first."""
    rows = await conn.execute(
        select(due_work)
        .where(due_work.c.done_at.is_(None), due_work.c.due_at <= now)
        .order_by(due_work.c.due_at, due_work.c.id)
        .limit(limit)
    )
    return [_work(row) for row in rows.mappings()]


async def claim_due(conn: AsyncConnection, now: datetime, lease_until: datetime,
                    limit: int, *, run: str | None = None) -> list[DueWork]:
    """Take up to ``limit`` items whose time has come, oldest first, with one update:
    each is pushed to ``lease_until`` so no other tick runs it (see :func:`claim`), and
    noted as ``run``'s (several instances: a dead run's claims are taken over, see
    storage/instances.release_dead). Returns them as they were before the claim (their
    own due time and attempts)."""
    rows = await conn.execute(
        select(due_work)
        .where(due_work.c.done_at.is_(None), due_work.c.due_at <= now)
        .order_by(due_work.c.due_at, due_work.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found = [_work(row) for row in rows.mappings()]
    if not found:
        return []
    ids = [work.id for work in found]
    await conn.execute(
        update(due_work)
        .where(due_work.c.id.in_(ids), due_work.c.done_at.is_(None),
               due_work.c.due_at <= now)
        .values(due_at=lease_until, attempts=due_work.c.attempts + 1, leased_by=run)
    )
    claimed = await conn.execute(select(due_work.c.id).where(
        due_work.c.id.in_(ids), due_work.c.due_at == lease_until))
    taken = {work_id for (work_id,) in claimed}
    return [work for work in found if work.id in taken]


async def pending(conn: AsyncConnection, *, kind: str, key: str) -> DueWork | None:
    rows = await conn.execute(
        select(due_work).where(due_work.c.kind == kind, due_work.c.key == key,
                               due_work.c.done_at.is_(None))
    )
    row = rows.mappings().first()
    return _work(row) if row else None


async def pending_keys(conn: AsyncConnection, *, kind: str) -> set[str]:
    """The keys of every pending item of ``kind``."""
    rows = await conn.execute(select(due_work.c.key).where(
        due_work.c.kind == kind, due_work.c.done_at.is_(None)))
    return {key for (key,) in rows}


async def claim(conn: AsyncConnection, work: DueWork, lease_until: datetime) -> bool:
    """Take ``work`` for this worker: push its time to ``lease_until`` so nobody else runs it.

    If the worker dies before marking it done, the lease runs out and the work is tried
    again: a restart loses nothing. Conditional on the row being unchanged, so two ticks
    never both take it.
    """
    result = await conn.execute(
        update(due_work)
        .where(due_work.c.id == work.id, due_work.c.due_at == work.due_at,
               due_work.c.done_at.is_(None))
        .values(due_at=lease_until, attempts=due_work.c.attempts + 1)
    )
    return result.rowcount > 0


async def mark_done(conn: AsyncConnection, work_id: int, *, lease_until: datetime,
                    now: datetime) -> None:
    """Finish claimed work; if it was re-armed meanwhile (its time changed), leave it pending."""
    await conn.execute(
        update(due_work)
        .where(due_work.c.id == work_id, due_work.c.due_at == lease_until,
               due_work.c.done_at.is_(None))
        .values(done_at=now)
    )


async def postpone(conn: AsyncConnection, work_id: int, *, lease_until: datetime,
                   until: datetime, reset_attempts: bool = False) -> None:
    values: dict[str, Any] = {"due_at": until, "leased_by": None}
    if reset_attempts:
        values["attempts"] = 0
    await conn.execute(
        update(due_work)
        .where(due_work.c.id == work_id, due_work.c.due_at == lease_until,
               due_work.c.done_at.is_(None))
        .values(**values)
    )


async def reschedule_prefix(conn: AsyncConnection, *, kind: str, key_prefix: str,
                            due_at: datetime) -> None:
    """Push back every pending item of ``kind`` whose key starts with ``key_prefix``."""
    await conn.execute(
        update(due_work)
        .where(due_work.c.kind == kind, due_work.c.key.startswith(key_prefix, autoescape=True),
               due_work.c.done_at.is_(None))
        .values(due_at=due_at, leased_by=None)
    )
