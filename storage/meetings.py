"""Round-table meetings and their sign-ups (bot/domain/meetings.py has the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.meetings import Meeting, MeetingStatus
from storage.database import first_row
from storage.schema import meeting_signups, meetings
from storage.upsert import upsert


def _meeting(row: RowMapping) -> Meeting:
    return Meeting(
        id=row["id"], community_id=row["community_id"], number=row["number"],
        title=row["title"], agenda=list(row["agenda"]), starts_at=row["starts_at"],
        place=row["place"], seats=row["seats"], organiser_id=row["organiser_id"],
        status=MeetingStatus(row["status"]), minutes=row["minutes"],
        background=row["background"],
        post_chat_id=row["post_chat_id"], post_message_id=row["post_message_id"])


async def create(conn: AsyncConnection, *, community_id: int, title: str, agenda: list[str],
                 starts_at: datetime, place: str, seats: int, organiser_id: int,
                 now: datetime, background: dict[str, Any] | None = None) -> Meeting:
    number = (await conn.execute(select(func.coalesce(func.max(meetings.c.number), 0) + 1)
                                 .where(meetings.c.community_id == community_id))).scalar_one()
    made = await conn.execute(insert(meetings).values(
        community_id=community_id, number=number, title=title, agenda=agenda,
        starts_at=starts_at, place=place, seats=seats, organiser_id=organiser_id,
        status=MeetingStatus.OPEN.value, background=background, created_at=now)
        .returning(meetings.c.id))
    found = await get(conn, made.scalar_one())
    assert found is not None
    return found


async def get(conn: AsyncConnection, meeting_id: int, *,
              lock: bool = False) -> Meeting | None:
    """The meeting; with ``lock``, its row held (storage.database.first_row)."""
    row = await first_row(conn, select(meetings).where(meetings.c.id == meeting_id), lock=lock)
    return _meeting(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Meeting | None:
    row = (await conn.execute(select(meetings).where(
        meetings.c.community_id == community_id, meetings.c.number == number))
           ).mappings().first()
    return _meeting(row) if row else None


async def posted(conn: AsyncConnection, meeting_id: int, chat_id: int, message_id: int,
                 shows: str) -> None:
    await conn.execute(update(meetings).where(meetings.c.id == meeting_id).values(
        post_chat_id=chat_id, post_message_id=message_id, post_shows=shows))


async def showing(conn: AsyncConnection, meeting_id: int, shows: str) -> bool:
    done = await conn.execute(update(meetings).where(
        meetings.c.id == meeting_id, meetings.c.post_shows.is_distinct_from(shows))
        .values(post_shows=shows))
    return done.rowcount > 0


async def sign_up(conn: AsyncConnection, meeting_id: int, user_id: int, now: datetime) -> bool:
    return await upsert(conn, meeting_signups, {"meeting_id": meeting_id, "user_id": user_id,
                                                "at": now},
                        conflict=["meeting_id", "user_id"], update=[]) > 0


async def give_back(conn: AsyncConnection, meeting_id: int, user_id: int) -> bool:
    done = await conn.execute(delete(meeting_signups).where(
        meeting_signups.c.meeting_id == meeting_id, meeting_signups.c.user_id == user_id))
    return done.rowcount > 0


async def signed_up(conn: AsyncConnection, meeting_id: int) -> list[tuple[int, bool]]:
    """(user, attended) in the order they signed up."""
    rows = await conn.execute(select(meeting_signups.c.user_id, meeting_signups.c.attended)
                              .where(meeting_signups.c.meeting_id == meeting_id)
                              .order_by(meeting_signups.c.at, meeting_signups.c.user_id))
    return [(int(u), bool(a)) for u, a in rows.all()]


async def toggle_attended(conn: AsyncConnection, meeting_id: int, user_id: int) -> bool:
    done = await conn.execute(update(meeting_signups).where(
        meeting_signups.c.meeting_id == meeting_id, meeting_signups.c.user_id == user_id)
        .values(attended=~meeting_signups.c.attended))
    return done.rowcount > 0


async def write_minutes(conn: AsyncConnection, meeting_id: int, minutes: dict[str, Any]
                        ) -> bool:
    """Keep the minutes and close the meeting, once (False: written before)."""
    done = await conn.execute(update(meetings).where(
        meetings.c.id == meeting_id, meetings.c.status == MeetingStatus.OPEN.value)
        .values(minutes=minutes, status=MeetingStatus.HELD.value))
    return done.rowcount > 0


async def mark_decided(conn: AsyncConnection, meeting_id: int, index: int,
                       decision_id: int) -> None:
    """Note in the minutes that agreed action ``index`` became decision ``decision_id``."""
    meeting = await get(conn, meeting_id)
    if meeting is None or meeting.minutes is None:
        return
    minutes = dict(meeting.minutes)
    minutes["decided"] = {**minutes.get("decided", {}), str(index): decision_id}
    await conn.execute(update(meetings).where(meetings.c.id == meeting_id).values(
        minutes=minutes))


async def forget_person(conn: AsyncConnection, user_id: int) -> None:
    """The minutes keep how many came, not that this person did."""
    rows = await conn.execute(select(meetings.c.id, meetings.c.minutes).where(
        meetings.c.minutes.is_not(None)))
    for meeting_id, minutes in rows.all():
        if user_id in (minutes or {}).get("attended", []):
            kept = dict(minutes)
            kept["attended"] = [u for u in kept["attended"] if u != user_id]
            kept["forgotten"] = int(kept.get("forgotten", 0)) + 1
            await conn.execute(update(meetings).where(meetings.c.id == meeting_id).values(
                minutes=kept))


async def held_between(conn: AsyncConnection, community_id: int, start: datetime,
                       end: datetime) -> list[Meeting]:
    """Meetings that began in [start, end) and have their minutes, in order."""
    rows = await conn.execute(select(meetings).where(
        meetings.c.community_id == community_id, meetings.c.status == MeetingStatus.HELD.value,
        meetings.c.starts_at >= start, meetings.c.starts_at < end).order_by(meetings.c.number))
    return [_meeting(row) for row in rows.mappings()]
