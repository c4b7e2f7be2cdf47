"""The audit log: append-only; there is no update or delete here on purpose."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
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
