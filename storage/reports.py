"""Reports, their photos, their timeline and their followers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.reports import Event, Note, Report, ReportStatus
from storage.schema import report_events, report_followers, report_photos, reports
from storage.upsert import upsert


def _report(row: RowMapping) -> Report:
    return Report(**{name: row[name] for name in Report.model_fields})


async def create(conn: AsyncConnection, *, community_id: int, now: datetime,
                 photos: list[str], **fields: Any) -> Report:
    """A new report with the community's next number, its photos and its first event."""
    number = (await conn.execute(select(func.coalesce(func.max(reports.c.number), 0))
                                 .where(reports.c.community_id == community_id))).scalar_one() + 1
    result = await conn.execute(reports.insert().values(
        community_id=community_id, number=number, status=ReportStatus.NEW.value,
        created_at=now, updated_at=now, notices=[], **fields))
    report_id = result.inserted_primary_key[0]
    for file_id in photos:
        await conn.execute(report_photos.insert().values(report_id=report_id, file_id=file_id))
    await conn.execute(report_events.insert().values(
        report_id=report_id, status=ReportStatus.NEW.value, actor_id=fields.get("reporter_id"),
        at=now))
    created = await get(conn, report_id)
    assert created is not None
    return created


async def get(conn: AsyncConnection, report_id: int) -> Report | None:
    row = (await conn.execute(select(reports).where(reports.c.id == report_id))
           ).mappings().first()
    return _report(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Report | None:
    row = (await conn.execute(select(reports).where(
        reports.c.community_id == community_id, reports.c.number == number))).mappings().first()
    return _report(row) if row else None


async def move(conn: AsyncConnection, report_id: int, *, from_status: ReportStatus,
               to_status: ReportStatus, actor_id: int | None, now: datetime,
               note: str | None = None) -> int | None:
    """Change the status if it is still ``from_status``, and put it on the timeline.
    Returns the timeline entry's id (which names the change for good), None if the status
    had already moved on."""
    result = await conn.execute(update(reports).where(
        reports.c.id == report_id, reports.c.status == from_status.value).values(
        status=to_status.value, updated_at=now))
    if result.rowcount == 0:
        return None
    event = await conn.execute(report_events.insert().values(
        report_id=report_id, status=to_status.value, actor_id=actor_id, note=note, at=now))
    return int(event.inserted_primary_key[0])


async def timeline(conn: AsyncConnection, report_id: int) -> list[Event]:
    rows = await conn.execute(select(report_events).where(
        report_events.c.report_id == report_id).order_by(report_events.c.id))
    return [Event(status=ReportStatus(r["status"]), actor_id=r["actor_id"], note=r["note"],
                  at=r["at"]) for r in rows.mappings()]


async def photos(conn: AsyncConnection, report_id: int, *, after: bool = False) -> list[str]:
    rows = await conn.execute(select(report_photos.c.file_id).where(
        report_photos.c.report_id == report_id, report_photos.c.after.is_(after))
        .order_by(report_photos.c.id))
    return [file_id for (file_id,) in rows]


async def add_photo(conn: AsyncConnection, report_id: int, file_id: str, *,
                    after: bool) -> None:
    await conn.execute(report_photos.insert().values(report_id=report_id, file_id=file_id,
                                                     after=after))


async def set_notices(conn: AsyncConnection, report_id: int, notices: list[list[int]]) -> None:
    await conn.execute(update(reports).where(reports.c.id == report_id).values(notices=notices))


async def set_post(conn: AsyncConnection, report_id: int, chat_id: int,
                   message_id: int) -> None:
    await conn.execute(update(reports).where(reports.c.id == report_id).values(
        post_chat_id=chat_id, post_message_id=message_id))


async def follow(conn: AsyncConnection, report_id: int, user_id: int, now: datetime) -> bool:
    written = await upsert(conn, report_followers, {"report_id": report_id, "user_id": user_id,
                                                    "at": now},
                           conflict=["report_id", "user_id"], update=[])
    return written > 0


async def followers(conn: AsyncConnection, report_id: int) -> list[int]:
    rows = await conn.execute(select(report_followers.c.user_id).where(
        report_followers.c.report_id == report_id))
    return [int(user_id) for (user_id,) in rows]


async def of_reporter(conn: AsyncConnection, user_id: int) -> list[Report]:
    rows = await conn.execute(select(reports).where(reports.c.reporter_id == user_id)
                              .order_by(reports.c.created_at.desc()).limit(20))
    return [_report(row) for row in rows.mappings()]


async def record_note(conn: AsyncConnection, report_id: int, *, actor_id: int | None,
                      note: str, now: datetime) -> None:
    """A note on the timeline without a change of status (a rating, for instance)."""
    current = await get(conn, report_id)
    if current is None:
        return
    await conn.execute(report_events.insert().values(
        report_id=report_id, status=current.status.value, actor_id=actor_id, note=note, at=now))


async def open_in(conn: AsyncConnection, community_id: int) -> list[Report]:
    rows = await conn.execute(select(reports).where(
        reports.c.community_id == community_id,
        reports.c.status.in_([s.value for s in (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED,
                                                ReportStatus.IN_PROGRESS,
                                                ReportStatus.REOPENED)]))
        .order_by(reports.c.created_at))
    return [_report(row) for row in rows.mappings()]


async def all_in(conn: AsyncConnection, community_id: int, *,
                 since: datetime | None = None) -> list[Report]:
    """Every report of the community (filed at or after ``since``, if given)."""
    query = select(reports).where(reports.c.community_id == community_id)
    if since is not None:
        query = query.where(reports.c.created_at >= since)
    rows = await conn.execute(query.order_by(reports.c.number))
    return [_report(row) for row in rows.mappings()]


async def assign(conn: AsyncConnection, report_id: int, *, assignee_id: int,
                 actor_id: int | None, now: datetime) -> None:
    """Hand the report to someone; the timeline says to whom (rendered by the reader)."""
    await conn.execute(update(reports).where(reports.c.id == report_id).values(
        assignee_id=assignee_id, updated_at=now))
    await record_note(conn, report_id, actor_id=actor_id, note=Note.assigned(assignee_id).stored(),
                      now=now)


async def mark_duplicate(conn: AsyncConnection, report_id: int, *, original_id: int,
                         from_status: ReportStatus, actor_id: int | None, now: datetime,
                         note: str) -> int | None:
    """A duplicate of ``original_id``: its reporter and followers follow the original.
    Returns the timeline entry's id, as :func:`move` does."""
    event = await move(conn, report_id, from_status=from_status,
                       to_status=ReportStatus.DUPLICATE, actor_id=actor_id, now=now, note=note)
    if event is None:
        return None
    await conn.execute(update(reports).where(reports.c.id == report_id).values(
        duplicate_of=original_id))
    duplicate = await get(conn, report_id)
    assert duplicate is not None
    for user_id in {duplicate.reporter_id, *await followers(conn, report_id)} - {None}:
        assert user_id is not None
        await follow(conn, original_id, user_id, now)
    return event
