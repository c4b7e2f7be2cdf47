"""Decisions, their milestones, their timeline, their followers and their ratings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.decisions import Decision, DecisionStatus, Milestone, Update, UpdateKind
from storage.schema import (
    decision_followers,
    decision_milestones,
    decision_ratings,
    decision_updates,
    decisions,
)
from storage.upsert import upsert


def _decision(row: RowMapping) -> Decision:
    values = {name: row[name] for name in Decision.model_fields}
    values["updated_at"] = row["updated_at"] or row["created_at"]
    return Decision(**values)


async def create(conn: AsyncConnection, *, community_id: int, title: str, now: datetime,
                 poll_id: int | None = None, topic_id: int | None = None,
                 owner_id: int | None = None, due_at: datetime | None = None,
                 milestones: list[str] | None = None, actor_id: int | None = None) -> Decision:
    """A planned decision with the community's next number; its timeline starts here."""
    number = (await conn.execute(select(func.coalesce(func.max(decisions.c.number), 0))
                                 .where(decisions.c.community_id == community_id))
              ).scalar_one() + 1
    result = await conn.execute(decisions.insert().values(
        community_id=community_id, number=number, title=title, poll_id=poll_id,
        topic_id=topic_id, status=DecisionStatus.PLANNED.value, owner_id=owner_id,
        due_at=due_at, progress=0, created_at=now, updated_at=now))
    decision_id = int(result.inserted_primary_key[0])
    for milestone in milestones or []:
        await conn.execute(decision_milestones.insert().values(decision_id=decision_id,
                                                               title=milestone))
    await conn.execute(decision_updates.insert().values(
        decision_id=decision_id, actor_id=actor_id, status=DecisionStatus.PLANNED.value,
        percent=0, photos=[], at=now, kind=UpdateKind.CREATED.value))
    created = await get(conn, decision_id)
    assert created is not None
    return created


async def get(conn: AsyncConnection, decision_id: int) -> Decision | None:
    row = (await conn.execute(select(decisions).where(decisions.c.id == decision_id))
           ).mappings().first()
    return _decision(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Decision | None:
    row = (await conn.execute(select(decisions).where(
        decisions.c.community_id == community_id, decisions.c.number == number))
        ).mappings().first()
    return _decision(row) if row else None


async def for_poll(conn: AsyncConnection, poll_id: int) -> Decision | None:
    row = (await conn.execute(select(decisions).where(decisions.c.poll_id == poll_id))
           ).mappings().first()
    return _decision(row) if row else None


async def of_community(conn: AsyncConnection, community_id: int) -> list[Decision]:
    rows = await conn.execute(select(decisions).where(decisions.c.community_id == community_id)
                              .order_by(decisions.c.number))
    return [_decision(row) for row in rows.mappings()]


async def record(conn: AsyncConnection, decision: Decision, *, status: DecisionStatus,
                 percent: int, actor_id: int | None, now: datetime, text: str | None = None,
                 next_step: str | None = None, photos: list[str] | None = None,
                 reason: str | None = None, kind: UpdateKind = UpdateKind.PROGRESS) -> bool:
    """Put an update on the timeline and move the decision, if nobody moved it since
    ``decision`` was read (its status and progress are the check)."""
    values: dict[str, object] = {"status": status.value, "progress": percent,
                                 "updated_at": now}
    if status is DecisionStatus.DONE and decision.status is not DecisionStatus.DONE:
        values["done_at"] = now
    if reason is not None:
        values["reason"] = reason
    result = await conn.execute(update(decisions).where(
        decisions.c.id == decision.id, decisions.c.status == decision.status.value,
        decisions.c.progress == decision.progress).values(**values))
    if result.rowcount == 0:
        return False
    await conn.execute(decision_updates.insert().values(
        decision_id=decision.id, actor_id=actor_id, status=status.value, percent=percent,
        text=text if text is not None else reason, next_step=next_step, photos=photos or [],
        at=now, kind=kind.value))
    return True


async def change(conn: AsyncConnection, decision_id: int, *, now: datetime,
                 owner_id: int | None = None, due_at: datetime | None = None,
                 title: str | None = None) -> None:
    values: dict[str, object] = {"updated_at": now}
    if title is not None:
        values["title"] = title
    if owner_id is not None:
        values["owner_id"] = owner_id
    if due_at is not None:
        values["due_at"] = due_at
    await conn.execute(update(decisions).where(decisions.c.id == decision_id).values(**values))


async def timeline(conn: AsyncConnection, decision_id: int) -> list[Update]:
    rows = await conn.execute(select(decision_updates).where(
        decision_updates.c.decision_id == decision_id).order_by(decision_updates.c.id))
    return [Update(id=r["id"], actor_id=r["actor_id"], status=DecisionStatus(r["status"]),
                   percent=r["percent"], text=r["text"], next_step=r["next_step"],
                   photos=r["photos"], at=r["at"], kind=UpdateKind(r["kind"]))
            for r in rows.mappings()]


async def updates_between(conn: AsyncConnection, community_id: int, since: datetime,
                          until: datetime) -> list[tuple[Decision, Update]]:
    """Timeline entries of a community's decisions in [since, until)."""
    rows = await conn.execute(
        select(decisions, decision_updates.c.id.label("update_id"),
               decision_updates.c.actor_id, decision_updates.c.status.label("update_status"),
               decision_updates.c.percent, decision_updates.c.text,
               decision_updates.c.next_step, decision_updates.c.photos, decision_updates.c.at,
               decision_updates.c.kind)
        .join(decision_updates, decision_updates.c.decision_id == decisions.c.id)
        .where(decisions.c.community_id == community_id, decision_updates.c.at >= since,
               decision_updates.c.at < until)
        .order_by(decision_updates.c.id))
    return [(_decision(r), Update(id=r["update_id"], actor_id=r["actor_id"],
                                  status=DecisionStatus(r["update_status"]),
                                  percent=r["percent"], text=r["text"],
                                  next_step=r["next_step"], photos=r["photos"], at=r["at"],
                                  kind=UpdateKind(r["kind"])))
            for r in rows.mappings()]


async def milestones(conn: AsyncConnection, decision_id: int) -> list[Milestone]:
    rows = await conn.execute(select(decision_milestones).where(
        decision_milestones.c.decision_id == decision_id).order_by(decision_milestones.c.id))
    return [Milestone(id=r["id"], title=r["title"], done=r["done_at"] is not None)
            for r in rows.mappings()]


async def tick_milestone(conn: AsyncConnection, decision_id: int, milestone_id: int,
                         now: datetime) -> bool:
    result = await conn.execute(update(decision_milestones).where(
        decision_milestones.c.id == milestone_id,
        decision_milestones.c.decision_id == decision_id,
        decision_milestones.c.done_at.is_(None)).values(done_at=now))
    return result.rowcount > 0


async def follow(conn: AsyncConnection, decision_id: int, user_id: int, now: datetime) -> bool:
    written = await upsert(conn, decision_followers,
                           {"decision_id": decision_id, "user_id": user_id, "at": now},
                           conflict=["decision_id", "user_id"], update=[])
    return written > 0


async def followers(conn: AsyncConnection, decision_id: int) -> list[int]:
    rows = await conn.execute(select(decision_followers.c.user_id).where(
        decision_followers.c.decision_id == decision_id))
    return [int(user_id) for (user_id,) in rows]


async def rate(conn: AsyncConnection, decision_id: int, user_id: int, stars: int,
               now: datetime) -> None:
    """One rating per person; rating again replaces it."""
    await upsert(conn, decision_ratings, {"decision_id": decision_id, "user_id": user_id,
                                          "stars": stars, "at": now},
                 conflict=["decision_id", "user_id"], update=["stars", "at"])


async def ratings(conn: AsyncConnection, decision_id: int) -> list[int]:
    rows = await conn.execute(select(decision_ratings.c.stars).where(
        decision_ratings.c.decision_id == decision_id))
    return [int(stars) for (stars,) in rows]


async def set_rating_post(conn: AsyncConnection, decision_id: int, chat_id: int,
                          message_id: int) -> None:
    await conn.execute(update(decisions).where(decisions.c.id == decision_id).values(
        rating_chat_id=chat_id, rating_message_id=message_id))


async def rating_post(conn: AsyncConnection, decision_id: int) -> tuple[int, int] | None:
    row = (await conn.execute(select(decisions.c.rating_chat_id, decisions.c.rating_message_id)
                              .where(decisions.c.id == decision_id))).first()
    return (int(row[0]), int(row[1])) if row and row[0] is not None else None
