"""The inbox of fetched updates (see the update_inbox table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import update_inbox, update_progress
from storage.upsert import upsert


async def receive(conn: AsyncConnection, updates: Sequence[tuple[int, dict[str, Any]]],
                  now: datetime) -> None:
    for update_id, payload in updates:
        await upsert(conn, update_inbox, {"update_id": update_id, "payload": payload,
                                          "received_at": now},
                     conflict=["update_id"], update=[])


async def done(conn: AsyncConnection, update_id: int) -> None:
    await conn.execute(delete(update_inbox).where(update_inbox.c.update_id <= update_id))
    await upsert(conn, update_progress, {"id": 1, "last_done": update_id},
                 conflict=["id"], update=["last_done"])


async def pending(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(update_inbox.c.payload)
                              .order_by(update_inbox.c.update_id))
    return [payload for (payload,) in rows]


async def last_done(conn: AsyncConnection) -> int:
    row = (await conn.execute(select(update_progress.c.last_done)
                              .where(update_progress.c.id == 1))).first()
    return int(row[0]) if row else 0
