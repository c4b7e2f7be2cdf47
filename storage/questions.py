"""Residents' questions on an announced poll or a round-table meeting, and the committee's
answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import questions


class Question(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    poll_id: int | None
    meeting_id: int | None
    asker_id: int
    text: str
    answer: str | None


def _question(row: RowMapping) -> Question:
    return Question(id=row["id"], community_id=row["community_id"], poll_id=row["poll_id"],
                    meeting_id=row["meeting_id"], asker_id=row["asker_id"], text=row["text"],
                    answer=row["answer"])


async def ask(conn: AsyncConnection, *, community_id: int, asker_id: int, text: str,
              now: datetime, poll_id: int | None = None, meeting_id: int | None = None) -> int:
    made = await conn.execute(insert(questions).values(
        community_id=community_id, poll_id=poll_id, meeting_id=meeting_id, asker_id=asker_id,
        text=text, at=now).returning(questions.c.id))
    return int(made.scalar_one())


async def get(conn: AsyncConnection, question_id: int) -> Question | None:
    row = (await conn.execute(select(questions).where(questions.c.id == question_id))
           ).mappings().first()
    return _question(row) if row else None


async def unanswered(conn: AsyncConnection, community_ids: list[int]) -> list[Question]:
    rows = await conn.execute(select(questions).where(
        questions.c.community_id.in_(community_ids), questions.c.answer.is_(None))
        .order_by(questions.c.id))
    return [_question(r) for r in rows.mappings()]


async def answer(conn: AsyncConnection, question_id: int, text: str, by: int,
                 now: datetime) -> bool:
    """Answer once (False: it was answered before)."""
    done = await conn.execute(update(questions).where(
        questions.c.id == question_id, questions.c.answer.is_(None))
        .values(answer=text, answered_by=by, answered_at=now))
    return done.rowcount > 0
