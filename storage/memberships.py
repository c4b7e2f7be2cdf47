"""Memberships: a person's role in a community."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
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
    return Membership(community_id=row["community_id"], user_id=row["user_id"],
                      role=Role(row["role"]))


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
                   granted_by: int | None, now: datetime) -> None:
    await upsert(
        conn,
        memberships,
        {"community_id": community_id, "user_id": user_id, "role": role.value,
         "granted_by": granted_by, "updated_at": now},
        conflict=["community_id", "user_id"],
        update=["role", "granted_by", "updated_at"],
    )


async def communities_of(conn: AsyncConnection, user_id: int) -> list[Membership]:
    rows = await conn.execute(select(memberships).where(memberships.c.user_id == user_id))
    return [
        Membership(community_id=row["community_id"], user_id=row["user_id"],
                   role=Role(row["role"]))
        for row in rows.mappings()
    ]


async def with_role(conn: AsyncConnection, community_id: int, role: Role) -> list[int]:
    rows = await conn.execute(select(memberships.c.user_id).where(
        memberships.c.community_id == community_id, memberships.c.role == role.value))
    return [int(user_id) for (user_id,) in rows]


async def members(conn: AsyncConnection, community_id: int) -> list[int]:
    rows = await conn.execute(select(memberships.c.user_id).where(
        memberships.c.community_id == community_id))
    return [int(user_id) for (user_id,) in rows]
