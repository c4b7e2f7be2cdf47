"""The points ledger: entries are added and revoked, never edited or deleted (except when
a person asks to be forgotten)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import points_ledger
from storage.upsert import upsert, upsert_many


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    community_id: int
    user_id: int
    action: str
    points: int
    ref: str
    at: datetime
    revoked_at: datetime | None


async def add(conn: AsyncConnection, *, community_id: int, user_id: int, action: str,
              points: int, ref: str, now: datetime) -> bool:
    """Record an act; False if the same act (action and ref) was recorded before."""
    written = await upsert(conn, points_ledger,
                           {"community_id": community_id, "user_id": user_id, "action": action,
                            "points": points, "ref": ref, "at": now},
                           conflict=["community_id", "user_id", "action", "ref"], update=[])
    return written > 0


async def add_many(conn: AsyncConnection, community_id: int, action: str,
                   acts: Sequence[tuple[int, int, str]], now: datetime) -> None:
    """Record several acts of one kind: (user, points, ref) each; repeats are ignored."""
    await upsert_many(conn, points_ledger, [
        {"community_id": community_id, "user_id": user, "action": action, "points": points,
         "ref": ref, "at": now} for user, points, ref in acts],
        conflict=["community_id", "user_id", "action", "ref"], update=[])


async def earned_by(conn: AsyncConnection, community_id: int, user_ids: Collection[int], *,
                    since: datetime, action: str) -> dict[int, int]:
    """:func:`earned` for several people at once (those with nothing are left out)."""
    rows = await conn.execute(
        select(points_ledger.c.user_id, func.sum(points_ledger.c.points))
        .where(*_live(community_id), points_ledger.c.user_id.in_(list(user_ids)),
               points_ledger.c.at >= since, points_ledger.c.action == action)
        .group_by(points_ledger.c.user_id))
    return {int(user): int(total) for user, total in rows}


def _live(community_id: int) -> list:
    return [points_ledger.c.community_id == community_id, points_ledger.c.revoked_at.is_(None)]


async def earned(conn: AsyncConnection, community_id: int, user_id: int, *,
                 since: datetime | None = None, action: str | None = None) -> int:
    query = select(func.coalesce(func.sum(points_ledger.c.points), 0)).where(
        *_live(community_id), points_ledger.c.user_id == user_id)
    if since is not None:
        query = query.where(points_ledger.c.at >= since)
    if action is not None:
        query = query.where(points_ledger.c.action == action)
    return int((await conn.execute(query)).scalar_one())


async def leaderboard(conn: AsyncConnection, community_id: int, since: datetime,
                      limit: int) -> list[tuple[int, int]]:
    """(user id, points) for the top earners since ``since``; ties by who got there first."""
    total = func.sum(points_ledger.c.points).label("total")
    rows = await conn.execute(
        select(points_ledger.c.user_id, total)
        .where(*_live(community_id), points_ledger.c.at >= since)
        .group_by(points_ledger.c.user_id)
        .having(total > 0)
        .order_by(total.desc(), func.max(points_ledger.c.at))
        .limit(limit)
    )
    return [(int(user_id), int(points)) for user_id, points in rows]


async def revoke(conn: AsyncConnection, *, community_id: int, user_id: int, action: str,
                 ref: str, by: int | None, now: datetime) -> int:
    """Revoke an act's points; returns how many points were taken back (0 if none)."""
    rows = await conn.execute(select(points_ledger.c.id, points_ledger.c.points).where(
        *_live(community_id), points_ledger.c.user_id == user_id,
        points_ledger.c.action == action, points_ledger.c.ref == ref))
    found = rows.first()
    if found is None:
        return 0
    await conn.execute(update(points_ledger).where(points_ledger.c.id == found[0])
                       .values(revoked_at=now, revoked_by=by))
    return int(found[1])


async def history(conn: AsyncConnection, user_id: int) -> list[Entry]:
    rows = await conn.execute(select(points_ledger).where(points_ledger.c.user_id == user_id)
                              .order_by(points_ledger.c.at))
    return [Entry(**{k: row[k] for k in Entry.model_fields}) for row in rows.mappings()]


async def forget_person(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(points_ledger).where(points_ledger.c.user_id == user_id))
