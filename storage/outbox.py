"""The outbox: messages owed by business actions, queued in the action's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Outgoing, QueuedMessage
from storage.schema import outbox
from storage.upsert import upsert


def _queued(row: RowMapping) -> QueuedMessage:
    return QueuedMessage(id=row["id"], key=row["key"], chat_id=row["chat_id"],
                         method=row["method"], params=row["params"],
                         remember=row["remember"], not_before=row["not_before"],
                         attempts=row["attempts"])


async def queue(conn: AsyncConnection, messages: list[Outgoing], now: datetime) -> int:
    """Queue each message unless one with its key was queued before (sent or not).
    Returns how many were new."""
    written = 0
    for message in messages:
        written += await upsert(conn, outbox, {
            "key": message.key, "chat_id": message.chat_id, "method": message.method,
            "params": message.params, "remember": message.remember,
            "not_before": message.not_before or now, "created_at": now, "attempts": 0,
        }, conflict=["key"], update=[])
    return written


def _pending(now: datetime) -> ColumnElement[bool]:
    return and_(outbox.c.sent_at.is_(None), outbox.c.not_before <= now,
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now))


async def claim_next(conn: AsyncConnection, now: datetime, lease_until: datetime, *,
                     run: str | None = None) -> QueuedMessage | None:
    """The oldest message that may go now, leased to this runner until ``lease_until`` (a
    runner that dies holding it lets it go when the lease runs out)."""
    row = (await conn.execute(
        select(outbox).where(_pending(now)).order_by(outbox.c.not_before, outbox.c.id)
        .limit(1).with_for_update(skip_locked=True))).mappings().first()
    if row is None:
        return None
    await conn.execute(update(outbox).where(outbox.c.id == row["id"])
                       .values(lease_until=lease_until, leased_by=run,
                               attempts=outbox.c.attempts + 1))
    return _queued(row)


async def mark_sent(conn: AsyncConnection, message_id: int, now: datetime,
                    outcome: str) -> None:
    await conn.execute(update(outbox).where(outbox.c.id == message_id)
                       .values(sent_at=now, lease_until=None, leased_by=None,
                               outcome=outcome[:200]))


async def retry_at(conn: AsyncConnection, message_id: int, when: datetime,
                   outcome: str) -> None:
    """Try again at ``when`` (Telegram failed, or the chat's quiet hours began)."""
    await conn.execute(update(outbox).where(outbox.c.id == message_id)
                       .values(not_before=when, lease_until=None, leased_by=None,
                               outcome=outcome[:200]))


async def release_leases(conn: AsyncConnection) -> None:
    await conn.execute(update(outbox).where(outbox.c.sent_at.is_(None),
                                            outbox.c.lease_until.is_not(None))
                       .values(lease_until=None))


async def outcomes(conn: AsyncConnection) -> dict[str, str | None]:
    """Every queued message's key and how it ended (None while it waits)."""
    rows = await conn.execute(select(outbox.c.key, outbox.c.outcome, outbox.c.sent_at))
    return {key: outcome if sent_at is not None else None for key, outcome, sent_at in rows}
