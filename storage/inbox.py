"""The inbox of fetched updates (see the update_inbox table)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import update_inbox, update_progress
from storage.upsert import upsert, upsert_many


async def receive(conn: AsyncConnection, updates: Sequence[tuple[int, dict[str, Any]]],
                  now: datetime, *, highest: int | None = None) -> None:
    """Write a fetched batch down (one statement) and move the received mark to the
    batch's highest id — down too: Telegram numbers updates afresh after a week without
    any (and a local Bot API after its restart). ``highest`` is the batch's highest id when
    some of it was handled on arrival and is not written down (bot/inbox.py)."""
    if updates:
        await upsert_many(conn, update_inbox, [
            {"update_id": update_id, "payload": payload, "received_at": now}
            for update_id, payload in updates], conflict=["update_id"], update=[])
    if highest is None:
        if not updates:
            return
        highest = max(update_id for update_id, _payload in updates)
    await upsert(conn, update_progress, {"id": 1, "last_received": highest},
                 conflict=["id"], update=["last_received"])


async def done(conn: AsyncConnection, update_ids: Collection[int]) -> None:
    """These updates are handled: they leave the inbox (others may still be in hand)."""
    if update_ids:
        await conn.execute(delete(update_inbox)
                           .where(update_inbox.c.update_id.in_(list(update_ids))))


async def pending(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(update_inbox.c.payload)
                              .order_by(update_inbox.c.update_id))
    return [payload for (payload,) in rows]


async def last_received(conn: AsyncConnection) -> int:
    row = (await conn.execute(select(update_progress.c.last_received)
                              .where(update_progress.c.id == 1))).first()
    return int(row[0]) if row else 0
