"""Topics, their supporters and the weekly count of proposals per person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.topics import Topic, TopicStatus
from storage.database import first_row
from storage.schema import topic_quota, topic_supports, topics
from storage.upsert import upsert


def _topic(row: RowMapping) -> Topic:
    return Topic(**{name: row[name] for name in Topic.model_fields})


async def create(conn: AsyncConnection, *, community_id: int, title: str, details: str,
                 category: str, photo_file_id: str | None, author_id: int | None,
                 now: datetime) -> Topic:
    """A new pending topic with the community's next number. ``author_id`` None means
    anonymous: nothing about the author is stored."""
    number = (await conn.execute(select(func.coalesce(func.max(topics.c.number), 0))
                                 .where(topics.c.community_id == community_id))).scalar_one() + 1
    result = await conn.execute(topics.insert().values(
        community_id=community_id, number=number, title=title, details=details,
        category=category, photo_file_id=photo_file_id, author_id=author_id,
        anonymous=author_id is None, status=TopicStatus.PENDING.value, created_at=now,
        notices=[]))
    created = await get(conn, result.inserted_primary_key[0])
    assert created is not None
    return created


async def get(conn: AsyncConnection, topic_id: int, *, lock: bool = False) -> Topic | None:
    """The topic; with ``lock``, its row held (storage.database.first_row)."""
    row = await first_row(conn, select(topics).where(topics.c.id == topic_id), lock=lock)
    return _topic(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Topic | None:
    row = (await conn.execute(select(topics).where(
        topics.c.community_id == community_id, topics.c.number == number))).mappings().first()
    return _topic(row) if row else None


async def move(conn: AsyncConnection, topic_id: int, *,
               from_status: TopicStatus | Sequence[TopicStatus], to_status: TopicStatus,
               now: datetime, **fields: Any) -> bool:
    """Change the status only if it is still ``from_status`` (or one of them): a second
    press does nothing."""
    sources = [from_status] if isinstance(from_status, TopicStatus) else list(from_status)
    result = await conn.execute(
        update(topics).where(topics.c.id == topic_id,
                             topics.c.status.in_([s.value for s in sources]))
        .values(status=to_status.value, decided_at=now, **fields))
    return result.rowcount > 0


async def set_post(conn: AsyncConnection, topic_id: int, chat_id: int, message_id: int,
                   digest: str) -> None:
    await conn.execute(update(topics).where(topics.c.id == topic_id)
                       .values(post_chat_id=chat_id, post_message_id=message_id,
                               post_digest=digest))


async def swap_post_digest(conn: AsyncConnection, topic_id: int, digest: str) -> bool:
    """Record what the post will show; False if it already shows exactly that."""
    result = await conn.execute(
        update(topics).where(topics.c.id == topic_id,
                             (topics.c.post_digest != digest) | topics.c.post_digest.is_(None))
        .values(post_digest=digest))
    return result.rowcount > 0


async def set_notices(conn: AsyncConnection, topic_id: int, notices: list[list[int]]) -> None:
    await conn.execute(update(topics).where(topics.c.id == topic_id).values(notices=notices))


async def add_notice(conn: AsyncConnection, topic_id: int, copy: list[int]) -> None:
    """Note one more copy sent to the moderators ([chat id, message id]), under the row's
    lock (copies are noted one by one as each is sent)."""
    found = await get(conn, topic_id, lock=True)
    if found is not None and copy not in found.notices:
        await set_notices(conn, topic_id, [*found.notices, copy])


async def set_urgent(conn: AsyncConnection, topic_id: int, urgent: bool) -> None:
    await conn.execute(update(topics).where(topics.c.id == topic_id).values(urgent=urgent))


async def listed(conn: AsyncConnection, community_id: int,
                 statuses: Sequence[TopicStatus]) -> list[tuple[Topic, int]]:
    """Topics in these states with their number of supporters."""
    count = (select(func.count()).select_from(topic_supports)
             .where(topic_supports.c.topic_id == topics.c.id).scalar_subquery())
    rows = await conn.execute(
        select(topics, count.label("supports"))
        .where(topics.c.community_id == community_id,
               topics.c.status.in_([s.value for s in statuses])))
    return [(_topic(row), int(row["supports"])) for row in rows.mappings()]


async def created_since(conn: AsyncConnection, community_id: int,
                        since: datetime) -> list[Topic]:
    rows = await conn.execute(select(topics).where(
        topics.c.community_id == community_id, topics.c.created_at >= since,
        topics.c.status.notin_([TopicStatus.PENDING.value, TopicStatus.REJECTED.value,
                                TopicStatus.MERGED.value]))
        .order_by(topics.c.number))
    return [_topic(row) for row in rows.mappings()]


# --- supports --------------------------------------------------------------------------


async def add_support(conn: AsyncConnection, topic_id: int, user_id: int,
                      now: datetime) -> bool:
    written = await upsert(conn, topic_supports, {"topic_id": topic_id, "user_id": user_id,
                                                  "at": now},
                           conflict=["topic_id", "user_id"], update=[])
    return written > 0


async def remove_support(conn: AsyncConnection, topic_id: int, user_id: int) -> bool:
    result = await conn.execute(delete(topic_supports).where(
        topic_supports.c.topic_id == topic_id, topic_supports.c.user_id == user_id))
    return result.rowcount > 0


async def supports(conn: AsyncConnection, topic_id: int) -> int:
    return int((await conn.execute(select(func.count()).select_from(topic_supports).where(
        topic_supports.c.topic_id == topic_id))).scalar_one())


async def supporters(conn: AsyncConnection, topic_id: int) -> list[int]:
    rows = await conn.execute(select(topic_supports.c.user_id).where(
        topic_supports.c.topic_id == topic_id).order_by(topic_supports.c.at))
    return [int(user_id) for (user_id,) in rows]


async def move_supports(conn: AsyncConnection, from_topic: int, to_topic: int,
                        now: datetime) -> None:
    """A merge: everyone who backed the duplicate now backs the kept topic (once)."""
    for user_id in await supporters(conn, from_topic):
        await add_support(conn, to_topic, user_id, now)
    await conn.execute(delete(topic_supports).where(topic_supports.c.topic_id == from_topic))


# --- the weekly limit -------------------------------------------------------------------


async def proposed_in_week(conn: AsyncConnection, community_id: int, user_id: int,
                           week: str) -> int:
    row = (await conn.execute(select(topic_quota.c.proposed).where(
        topic_quota.c.community_id == community_id, topic_quota.c.user_id == user_id,
        topic_quota.c.week == week))).first()
    return int(row[0]) if row else 0


async def count_proposal(conn: AsyncConnection, community_id: int, user_id: int,
                         week: str) -> None:
    current = await proposed_in_week(conn, community_id, user_id, week)
    await upsert(conn, topic_quota, {"community_id": community_id, "user_id": user_id,
                                     "week": week, "proposed": current + 1},
                 conflict=["community_id", "user_id", "week"], update=["proposed"])
