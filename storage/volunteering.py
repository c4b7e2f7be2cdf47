"""Volunteer activities and their sign-ups (bot/domain/volunteering.py has the rules)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.helping import Kind
from bot.domain.volunteering import Activity, ActivityStatus
from storage.database import first_row
from storage.schema import activities, activity_signups
from storage.upsert import upsert


def _activity(row: RowMapping) -> Activity:
    return Activity(
        id=row["id"], community_id=row["community_id"], number=row["number"],
        title=row["title"], kind=Kind(row["kind"]), starts_at=row["starts_at"],
        minutes=row["minutes"], seats=row["seats"], organiser_id=row["organiser_id"],
        status=ActivityStatus(row["status"]), post_chat_id=row["post_chat_id"],
        post_message_id=row["post_message_id"])


async def create(conn: AsyncConnection, *, community_id: int, title: str, kind: Kind,
                 starts_at: datetime, minutes: int, seats: int, organiser_id: int,
                 now: datetime) -> Activity:
    number = (await conn.execute(select(func.coalesce(func.max(activities.c.number), 0) + 1)
                                 .where(activities.c.community_id == community_id))
              ).scalar_one()
    made = await conn.execute(insert(activities).values(
        community_id=community_id, number=number, title=title, kind=kind.value,
        starts_at=starts_at, minutes=minutes, seats=seats, organiser_id=organiser_id,
        status=ActivityStatus.OPEN.value, created_at=now).returning(activities.c.id))
    found = await get(conn, made.scalar_one())
    assert found is not None
    return found


async def get(conn: AsyncConnection, activity_id: int, *,
              lock: bool = False) -> Activity | None:
    """The activity; with ``lock``, its row held (storage.database.first_row)."""
    row = await first_row(conn, select(activities).where(activities.c.id == activity_id), lock=lock)
    return _activity(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int
                    ) -> Activity | None:
    row = (await conn.execute(select(activities).where(
        activities.c.community_id == community_id, activities.c.number == number))
           ).mappings().first()
    return _activity(row) if row else None


async def posted(conn: AsyncConnection, activity_id: int, chat_id: int,
                 message_id: int, shows: str) -> None:
    await conn.execute(update(activities).where(activities.c.id == activity_id).values(
        post_chat_id=chat_id, post_message_id=message_id, post_shows=shows))


async def showing(conn: AsyncConnection, activity_id: int, shows: str) -> bool:
    """Note that the post is to show ``shows``; False if it shows that already."""
    done = await conn.execute(update(activities).where(
        activities.c.id == activity_id, activities.c.post_shows.is_distinct_from(shows))
        .values(post_shows=shows))
    return done.rowcount > 0


async def settle(conn: AsyncConnection, activity_id: int, status: ActivityStatus) -> bool:
    """Close an open activity once (False: it was settled before)."""
    done = await conn.execute(update(activities).where(
        activities.c.id == activity_id, activities.c.status == ActivityStatus.OPEN.value)
        .values(status=status.value))
    return done.rowcount > 0


async def sign_up(conn: AsyncConnection, activity_id: int, user_id: int,
                  now: datetime) -> bool:
    return await upsert(conn, activity_signups, {"activity_id": activity_id,
                                                 "user_id": user_id, "at": now},
                        conflict=["activity_id", "user_id"], update=[]) > 0


async def give_back(conn: AsyncConnection, activity_id: int, user_id: int) -> bool:
    done = await conn.execute(delete(activity_signups).where(
        activity_signups.c.activity_id == activity_id, activity_signups.c.user_id == user_id))
    return done.rowcount > 0


async def signed_up(conn: AsyncConnection, activity_id: int) -> list[tuple[int, bool]]:
    """(user, attended) in the order they signed up."""
    rows = await conn.execute(select(activity_signups.c.user_id, activity_signups.c.attended)
                              .where(activity_signups.c.activity_id == activity_id)
                              .order_by(activity_signups.c.at, activity_signups.c.user_id))
    return [(int(user), bool(came)) for user, came in rows.all()]


async def toggle_attended(conn: AsyncConnection, activity_id: int, user_id: int) -> bool:
    """Flip whether ``user_id`` came; False if they had not signed up."""
    done = await conn.execute(update(activity_signups).where(
        activity_signups.c.activity_id == activity_id, activity_signups.c.user_id == user_id)
        .values(attended=~activity_signups.c.attended))
    return done.rowcount > 0


async def held_between(conn: AsyncConnection, community_id: int, start: datetime,
                       end: datetime) -> tuple[int, int]:
    """Activities held in [start, end) with attendance confirmed, and the minutes their
    attendees gave together."""
    held = [(activity_id, minutes) for activity_id, minutes in (await conn.execute(
        select(activities.c.id, activities.c.minutes).where(
            activities.c.community_id == community_id,
            activities.c.status == ActivityStatus.HELD.value,
            activities.c.starts_at >= start, activities.c.starts_at < end))).all()]
    if not held:
        return 0, 0
    came = dict((await conn.execute(
        select(activity_signups.c.activity_id, func.count())
        .where(activity_signups.c.activity_id.in_([a for a, _m in held]),
               activity_signups.c.attended.is_(True))
        .group_by(activity_signups.c.activity_id))).all())
    return len(held), sum(minutes * int(came.get(a, 0)) for a, minutes in held)


async def attended_by(conn: AsyncConnection, community_id: int, user_id: int,
                      start: datetime, end: datetime) -> list[Activity]:
    """The held activities ``user_id`` came to in [start, end), in order."""
    rows = await conn.execute(select(activities).join(
        activity_signups, activity_signups.c.activity_id == activities.c.id).where(
        activities.c.community_id == community_id,
        activities.c.status == ActivityStatus.HELD.value,
        activities.c.starts_at >= start, activities.c.starts_at < end,
        activity_signups.c.user_id == user_id, activity_signups.c.attended.is_(True))
        .order_by(activities.c.starts_at))
    return [_activity(r) for r in rows.mappings()]
