"""Announcements: what to send, where, and how often."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.announcements import Announcement, Status
from storage.schema import announcements


def _announcement(row: RowMapping) -> Announcement:
    return Announcement(**{name: row[name] for name in Announcement.model_fields})


async def create(conn: AsyncConnection, *, community_id: int, author_id: int | None,
                 text: str, photo_file_id: str | None, cron: str | None,
                 run_at: datetime | None, pin: bool, in_quiet_hours: bool,
                 now: datetime) -> Announcement:
    result = await conn.execute(announcements.insert().values(
        community_id=community_id, author_id=author_id, text=text,
        photo_file_id=photo_file_id, cron=cron, run_at=run_at, pin=pin,
        in_quiet_hours=in_quiet_hours, status=Status.ACTIVE.value, runs=0, created_at=now))
    created = await get(conn, int(result.inserted_primary_key[0]))
    assert created is not None
    return created


async def get(conn: AsyncConnection, announcement_id: int) -> Announcement | None:
    row = (await conn.execute(select(announcements).where(
        announcements.c.id == announcement_id))).mappings().first()
    return _announcement(row) if row else None


async def of_community(conn: AsyncConnection, community_id: int) -> list[Announcement]:
    """Those still to come (active or paused), oldest first."""
    rows = await conn.execute(select(announcements).where(
        announcements.c.community_id == community_id,
        announcements.c.status.in_([Status.ACTIVE.value, Status.PAUSED.value]))
        .order_by(announcements.c.id))
    return [_announcement(row) for row in rows.mappings()]


async def set_status(conn: AsyncConnection, announcement_id: int, *, from_status: Status,
                     to_status: Status, run_at: datetime | None = None) -> bool:
    values: dict[str, object] = {"status": to_status.value}
    if run_at is not None:
        values["run_at"] = run_at
    result = await conn.execute(update(announcements).where(
        announcements.c.id == announcement_id,
        announcements.c.status == from_status.value).values(**values))
    return result.rowcount > 0


async def ran(conn: AsyncConnection, announcement_id: int, *, now: datetime,
              next_run: datetime | None) -> None:
    """One run sent: counted; the next one noted, or (one-off) finished."""
    values: dict[str, object] = {"runs": announcements.c.runs + 1, "last_run_at": now,
                                 "run_at": next_run}
    if next_run is None:
        values["status"] = Status.FINISHED.value
    await conn.execute(update(announcements).where(announcements.c.id == announcement_id)
                       .values(**values))


async def skipped(conn: AsyncConnection, announcement_id: int, *,
                  next_run: datetime | None) -> None:
    """A run missed beyond the grace period: not sent; the next one noted."""
    values: dict[str, object] = {"run_at": next_run}
    if next_run is None:
        values["status"] = Status.FINISHED.value
    await conn.execute(update(announcements).where(announcements.c.id == announcement_id)
                       .values(**values))
