"""The audit log: append-only. The one exception is ``anonymise``, for a person who asks
to be forgotten."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import AuditEntry
from storage.schema import audit_log


async def record(
    conn: AsyncConnection,
    *,
    community_id: int | None,
    actor_id: int | None,
    action: str,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        audit_log.insert().values(
            community_id=community_id, actor_id=actor_id, action=action,
            details=details or {}, at=at,
        )
    )


async def recent(conn: AsyncConnection, community_id: int, limit: int = 20) -> list[AuditEntry]:
    rows = await conn.execute(
        select(audit_log)
        .where(audit_log.c.community_id == community_id)
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
    )
    return [AuditEntry(**row) for row in rows.mappings()]


async def by_actor(conn: AsyncConnection, actor_id: int) -> list[AuditEntry]:
    rows = await conn.execute(select(audit_log).where(audit_log.c.actor_id == actor_id)
                              .order_by(audit_log.c.at))
    return [AuditEntry(**row) for row in rows.mappings()]


async def anonymise(conn: AsyncConnection, user_id: int, community_ids: list[int]) -> None:
    """A forgotten person: their entries stay (what happened) without who they were.

    The one change this log allows, because the person asked for it.
    """
    await conn.execute(update(audit_log).where(audit_log.c.actor_id == user_id)
                       .values(actor_id=None))
    people_keys = ("target", "user", "by")
    rows = await conn.execute(select(audit_log.c.id, audit_log.c.details)
                              .where(audit_log.c.community_id.in_(community_ids)))
    for entry_id, details in rows.all():
        if any(details.get(key) == user_id for key in people_keys):
            cleaned = {k: (None if k in people_keys and v == user_id else v)
                       for k, v in details.items()}
            await conn.execute(update(audit_log).where(audit_log.c.id == entry_id)
                               .values(details=cleaned))
