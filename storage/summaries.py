"""The weekly summary's queries over a period, and the record of summaries sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.polls import PollStatus
from bot.domain.reports import Note, NoteKind, ReportStatus
from storage.schema import polls, report_events, reports, summaries
from storage.upsert import upsert


async def reports_opened(conn: AsyncConnection, community_id: int, since: datetime,
                         until: datetime) -> int:
    return int((await conn.execute(select(func.count()).select_from(reports).where(
        reports.c.community_id == community_id, reports.c.created_at >= since,
        reports.c.created_at < until))).scalar_one())


async def report_times(conn: AsyncConnection, community_id: int, since: datetime,
                       until: datetime) -> list[datetime]:
    """When each report filed in the period was filed."""
    rows = await conn.execute(select(reports.c.created_at).where(
        reports.c.community_id == community_id, reports.c.created_at >= since,
        reports.c.created_at < until))
    return [created for (created,) in rows]


async def poll_results(conn: AsyncConnection, community_id: int, since: datetime,
                       until: datetime) -> list[tuple[datetime, dict | None]]:
    """(closed at, result) of each poll closed in the period."""
    rows = await conn.execute(select(polls.c.closed_at, polls.c.result).where(
        polls.c.community_id == community_id, polls.c.status == PollStatus.CLOSED.value,
        polls.c.closed_at >= since, polls.c.closed_at < until))
    return [(closed, result) for closed, result in rows]


async def resolutions(conn: AsyncConnection, community_id: int, since: datetime,
                      until: datetime) -> list[tuple[datetime, datetime]]:
    """(filed, first resolved) for each report first resolved in the period."""
    first = (select(report_events.c.report_id, func.min(report_events.c.at).label("at"))
             .where(report_events.c.status == ReportStatus.RESOLVED.value)
             .group_by(report_events.c.report_id).subquery())
    rows = await conn.execute(
        select(reports.c.created_at, first.c.at)
        .join(first, first.c.report_id == reports.c.id)
        .where(reports.c.community_id == community_id, first.c.at >= since,
               first.c.at < until))
    return [(filed, resolved) for filed, resolved in rows]


async def ratings(conn: AsyncConnection, community_id: int, since: datetime,
                  until: datetime) -> list[int]:
    """The reporters' 1–5 ratings given in the period."""
    rows = await conn.execute(
        select(report_events.c.note).join(reports, reports.c.id == report_events.c.report_id)
        .where(reports.c.community_id == community_id, report_events.c.at >= since,
               report_events.c.at < until,
               report_events.c.note.like(f"{NoteKind.RATING.value}:%")))
    notes = [Note.read(note) for (note,) in rows]
    return [n.number for n in notes if n is not None and n.kind is NoteKind.RATING
            and n.number is not None]


async def claim(conn: AsyncConnection, community_id: int, week_start: datetime, text: str,
                now: datetime) -> bool:
    """Note the week's summary as sent; False if it already was (a restart, a retry)."""
    written = await upsert(conn, summaries, {"community_id": community_id,
                                             "week_start": week_start, "text": text,
                                             "sent_at": now},
                           conflict=["community_id", "week_start"], update=[])
    return written > 0


async def release(conn: AsyncConnection, community_id: int, week_start: datetime) -> None:
    """Sending failed: the week may be tried again."""
    await conn.execute(delete(summaries).where(summaries.c.community_id == community_id,
                                               summaries.c.week_start == week_start))


async def set_chart(conn: AsyncConnection, community_id: int, week_start: datetime,
                    file_id: str) -> None:
    await conn.execute(summaries.update().where(
        summaries.c.community_id == community_id, summaries.c.week_start == week_start)
        .values(chart_file_id=file_id))


async def last(conn: AsyncConnection, community_id: int) -> tuple[str, str | None] | None:
    row = (await conn.execute(select(summaries.c.text, summaries.c.chart_file_id).where(
        summaries.c.community_id == community_id).order_by(summaries.c.week_start.desc())
        .limit(1))).first()
    return (row[0], row[1]) if row else None


async def sent_count(conn: AsyncConnection, community_id: int) -> int:
    return int((await conn.execute(select(func.count()).select_from(summaries).where(
        summaries.c.community_id == community_id))).scalar_one())
