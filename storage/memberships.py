"""Memberships: a person's role in a community."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Membership, Role
from storage.schema import memberships
from storage.upsert import upsert


async def get(conn: AsyncConnection, community_id: int, user_id: int) -> Membership | None:
    rows = await conn.execute(
        select(memberships).where(
            memberships.c.community_id == community_id, memberships.c.user_id == user_id
        )
    )
    row = rows.mappings().first()
    if row is None:
        return None
    return _membership(row)


def _membership(row: RowMapping) -> Membership:
    return Membership(community_id=row["community_id"], user_id=row["user_id"],
                      role=Role(row["role"]), categories=row["categories"] or None)


async def ensure(conn: AsyncConnection, community_id: int, user_id: int, now: datetime) -> None:
    """Note that someone belongs to the community, keeping any role they already have."""
    await upsert(
        conn,
        memberships,
        {"community_id": community_id, "user_id": user_id, "role": Role.RESIDENT.value,
         "updated_at": now},
        conflict=["community_id", "user_id"],
        update=[],
    )


async def set_role(conn: AsyncConnection, community_id: int, user_id: int, role: Role,
                   granted_by: int | None, now: datetime,
                   categories: list[str] | None = None) -> None:
    """Give a role; a handler may be limited to some report categories."""
    await upsert(
        conn,
        memberships,
        {"community_id": community_id, "user_id": user_id, "role": role.value,
         "categories": categories or None, "granted_by": granted_by, "updated_at": now},
        conflict=["community_id", "user_id"],
        update=["role", "categories", "granted_by", "updated_at"],
    )


async def handlers_of(conn: AsyncConnection, community_id: int, category: str) -> list[int]:
    """The handlers of one report category (those limited to it and those handling all)."""
    rows = await conn.execute(select(memberships).where(
        memberships.c.community_id == community_id, memberships.c.role == Role.HANDLER.value))
    return [int(row["user_id"]) for row in rows.mappings() if _membership(row).handles(category)]


async def communities_of(conn: AsyncConnection, user_id: int) -> list[Membership]:
    rows = await conn.execute(select(memberships).where(memberships.c.user_id == user_id))
    return [_membership(row) for row in rows.mappings()]


async def with_role(conn: AsyncConnection, community_id: int, role: Role) -> list[int]:
    rows = await conn.execute(select(memberships.c.user_id).where(
        memberships.c.community_id == community_id, memberships.c.role == role.value))
    return [int(user_id) for (user_id,) in rows]


async def members(conn: AsyncConnection, community_id: int) -> list[int]:
    rows = await conn.execute(select(memberships.c.user_id).where(
        memberships.c.community_id == community_id))
    return [int(user_id) for (user_id,) in rows]
