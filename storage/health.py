"""What the operator's view reads: whether the database answers, and the work waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import due_work, outbox, update_inbox


@dataclass(frozen=True)
class Backlog:
    due_waiting: int  # due work whose time has come, not yet done
    due_late: int  # of those, due before ``late_before``
    outbox_depth: int  # messages owed and not yet delivered
    inbox_depth: int  # updates received and not yet handled


async def ping(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(literal(1)))).scalar_one() == 1


async def backlog(conn: AsyncConnection, now: datetime, late_before: datetime) -> Backlog:
    pending = due_work.c.done_at.is_(None)
    waiting, late = (await conn.execute(select(
        func.count().filter(due_work.c.due_at <= now),
        func.count().filter(due_work.c.due_at <= late_before),
    ).where(pending))).one()
    depth = (await conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.sent_at.is_(None)))).scalar_one()
    inbox = (await conn.execute(select(func.count()).select_from(update_inbox))).scalar_one()
    return Backlog(int(waiting or 0), int(late or 0), int(depth), int(inbox))
