"""Decisions posted for objection (公示) and the objections to them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import first_row
from storage.schema import decision_notices, decision_objections, decisions
from storage.upsert import upsert


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision_id: int
    until: datetime
    outcome: str | None
    outcome_reason: str | None
    post_chat_id: int | None
    post_message_id: int | None

    def open(self, now: datetime) -> bool:
        return self.outcome is None and now < self.until


async def start(conn: AsyncConnection, decision_id: int, until: datetime,
                now: datetime) -> bool:
    """Post a decision for objection; False if it was posted before."""
    if await get(conn, decision_id) is not None:
        return False
    await conn.execute(insert(decision_notices).values(decision_id=decision_id, until=until,
                                                       created_at=now))
    return True


async def get(conn: AsyncConnection, decision_id: int, *,
              lock: bool = False) -> Notice | None:
    """The decision's notice; with ``lock``, its row held (storage.database.first_row)."""
    row = await first_row(conn, select(decision_notices).where(
        decision_notices.c.decision_id == decision_id), lock=lock)
    return _notice(row) if row is not None else None


def _notice(row: RowMapping) -> Notice:
    return Notice(decision_id=row["decision_id"], until=row["until"], outcome=row["outcome"],
                  outcome_reason=row["outcome_reason"], post_chat_id=row["post_chat_id"],
                  post_message_id=row["post_message_id"])


async def posted(conn: AsyncConnection, decision_id: int, chat_id: int, message_id: int,
                 shows: str) -> None:
    await conn.execute(update(decision_notices).where(
        decision_notices.c.decision_id == decision_id).values(
        post_chat_id=chat_id, post_message_id=message_id, post_shows=shows))


async def showing(conn: AsyncConnection, decision_id: int, shows: str) -> bool:
    """Note that the post is to show ``shows``; False if it shows that already."""
    done = await conn.execute(update(decision_notices).where(
        decision_notices.c.decision_id == decision_id,
        decision_notices.c.post_shows.is_distinct_from(shows)).values(post_shows=shows))
    return done.rowcount > 0


async def object_to(conn: AsyncConnection, decision_id: int, user_id: int, reason: str,
                    now: datetime) -> bool:
    """Record a person's objection (a second one replaces their reason); True if new."""
    found = (await conn.execute(select(decision_objections.c.user_id).where(
        decision_objections.c.decision_id == decision_id,
        decision_objections.c.user_id == user_id))).first()
    await upsert(conn, decision_objections, {"decision_id": decision_id, "user_id": user_id,
                                             "reason": reason, "at": now},
                 conflict=["decision_id", "user_id"], update=["reason", "at"])
    return found is None


async def reasons(conn: AsyncConnection, decision_id: int) -> list[str]:
    """The reasons given, oldest first, without who gave them."""
    rows = await conn.execute(select(decision_objections.c.reason).where(
        decision_objections.c.decision_id == decision_id).order_by(
        decision_objections.c.at, decision_objections.c.user_id))
    return [str(r) for r in rows.scalars()]


async def settle(conn: AsyncConnection, decision_id: int, outcome: str, by: int | None,
                 reason: str | None, now: datetime) -> bool:
    """The moderators' word at the end, once (False: it was given before)."""
    done = await conn.execute(update(decision_notices).where(
        decision_notices.c.decision_id == decision_id, decision_notices.c.outcome.is_(None))
        .values(outcome=outcome, outcome_reason=reason, settled_by=by, settled_at=now))
    return done.rowcount > 0


async def during(conn: AsyncConnection, community_id: int, start: datetime,
                 end: datetime) -> list[tuple[int, str, Notice, int]]:
    """Decisions of the community under objection at some time in [start, end): posted
    before ``end`` and not settled before ``start``. (number, title, notice, objections),
    by number."""
    counted = select(decision_objections.c.decision_id,
                     func.count().label("objections")) \
        .group_by(decision_objections.c.decision_id).subquery()
    rows = await conn.execute(
        select(decisions.c.number, decisions.c.title, decision_notices,
               func.coalesce(counted.c.objections, 0).label("objections"))
        .join(decisions, decisions.c.id == decision_notices.c.decision_id)
        .outerjoin(counted, counted.c.decision_id == decision_notices.c.decision_id)
        .where(decisions.c.community_id == community_id, decision_notices.c.created_at < end,
               or_(decision_notices.c.settled_at.is_(None),
                   decision_notices.c.settled_at >= start))
        .order_by(decisions.c.number))
    return [(row["number"], row["title"], _notice(row), int(row["objections"]))
            for row in rows.mappings()]
