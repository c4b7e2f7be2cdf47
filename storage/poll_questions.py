"""Residents' questions on an announced poll and the committee's answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import poll_questions, polls


class Question(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    poll_id: int
    asker_id: int
    text: str
    answer: str | None


async def ask(conn: AsyncConnection, poll_id: int, asker_id: int, text: str,
              now: datetime) -> int:
    made = await conn.execute(insert(poll_questions).values(
        poll_id=poll_id, asker_id=asker_id, text=text, at=now).returning(poll_questions.c.id))
    return int(made.scalar_one())


async def get(conn: AsyncConnection, question_id: int) -> Question | None:
    row = (await conn.execute(select(poll_questions).where(
        poll_questions.c.id == question_id))).mappings().first()
    return Question(id=row["id"], poll_id=row["poll_id"], asker_id=row["asker_id"],
                    text=row["text"], answer=row["answer"]) if row else None


async def unanswered(conn: AsyncConnection, community_ids: list[int]) -> list[Question]:
    rows = await conn.execute(select(poll_questions).join(
        polls, polls.c.id == poll_questions.c.poll_id).where(
        polls.c.community_id.in_(community_ids), poll_questions.c.answer.is_(None))
        .order_by(poll_questions.c.id))
    return [Question(id=r["id"], poll_id=r["poll_id"], asker_id=r["asker_id"], text=r["text"],
                     answer=None) for r in rows.mappings()]


async def answer(conn: AsyncConnection, question_id: int, text: str, by: int,
                 now: datetime) -> bool:
    """Answer once (False: it was answered before)."""
    done = await conn.execute(update(poll_questions).where(
        poll_questions.c.id == question_id, poll_questions.c.answer.is_(None))
        .values(answer=text, answered_by=by, answered_at=now))
    return done.rowcount > 0
