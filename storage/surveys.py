"""Satisfaction survey rounds (bot/domain/surveys.py has the rules): the rounds, who rated
what for which household, the stars as counts, and the comments."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.reports import Note, NoteKind, ReportStatus
from bot.domain.surveys import STARS, ReportTimes, Round
from storage.schema import (
    report_events,
    reports,
    survey_comments,
    survey_rounds,
    survey_scores,
    survey_takers,
)


def _round(row: RowMapping) -> Round:
    return Round(
        id=row["id"], community_id=row["community_id"], number=row["number"],
        subjects=list(row["subjects"]), anonymous=bool(row["anonymous"]),
        opened_at=row["opened_at"], closes_at=row["closes_at"], closed_at=row["closed_at"],
        looks_back_from=row["looks_back_from"], results=row["results"],
        post_chat_id=row["post_chat_id"], post_message_id=row["post_message_id"])


async def open_round(conn: AsyncConnection, *, community_id: int, subjects: list[str],
                     anonymous: bool, opened_by: int | None, now: datetime,
                     closes_at: datetime, looks_back_from: datetime) -> Round:
    """A new round, with every subject's count of each number of stars at zero (so a
    rating is an update of a row that exists, whoever rates at the same time)."""
    number = (await conn.execute(
        select(func.coalesce(func.max(survey_rounds.c.number), 0) + 1)
        .where(survey_rounds.c.community_id == community_id))).scalar_one()
    made = await conn.execute(insert(survey_rounds).values(
        community_id=community_id, number=number, subjects=subjects, anonymous=anonymous,
        opened_by=opened_by, opened_at=now, closes_at=closes_at,
        looks_back_from=looks_back_from).returning(survey_rounds.c.id))
    round_id = made.scalar_one()
    await conn.execute(insert(survey_scores), [
        {"round_id": round_id, "subject": subject, "stars": stars, "count": 0}
        for subject in subjects for stars in STARS])
    found = await get(conn, round_id)
    assert found is not None
    return found


async def get(conn: AsyncConnection, round_id: int) -> Round | None:
    row = (await conn.execute(select(survey_rounds).where(survey_rounds.c.id == round_id))
           ).mappings().first()
    return _round(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Round | None:
    row = (await conn.execute(select(survey_rounds).where(
        survey_rounds.c.community_id == community_id, survey_rounds.c.number == number))
           ).mappings().first()
    return _round(row) if row else None


async def of_community(conn: AsyncConnection, community_id: int) -> list[Round]:
    """Every round, the latest first."""
    rows = await conn.execute(select(survey_rounds).where(
        survey_rounds.c.community_id == community_id)
        .order_by(survey_rounds.c.number.desc()))
    return [_round(row) for row in rows.mappings()]


async def open_in(conn: AsyncConnection, community_id: int) -> Round | None:
    row = (await conn.execute(select(survey_rounds).where(
        survey_rounds.c.community_id == community_id, survey_rounds.c.closed_at.is_(None))
        .order_by(survey_rounds.c.number.desc()))).mappings().first()
    return _round(row) if row else None


async def closed_before(conn: AsyncConnection, community_id: int, number: int) -> Round | None:
    """The latest round closed before round ``number``: what its trend is measured against."""
    row = (await conn.execute(select(survey_rounds).where(
        survey_rounds.c.community_id == community_id, survey_rounds.c.number < number,
        survey_rounds.c.closed_at.is_not(None)).order_by(survey_rounds.c.number.desc())
        .limit(1))).mappings().first()
    return _round(row) if row else None


async def closed_between(conn: AsyncConnection, community_id: int, since: datetime,
                         until: datetime) -> list[Round]:
    rows = await conn.execute(select(survey_rounds).where(
        survey_rounds.c.community_id == community_id,
        survey_rounds.c.closed_at >= since, survey_rounds.c.closed_at < until)
        .order_by(survey_rounds.c.number))
    return [_round(row) for row in rows.mappings()]


async def posted(conn: AsyncConnection, round_id: int, chat_id: int, message_id: int) -> None:
    await conn.execute(update(survey_rounds).where(survey_rounds.c.id == round_id).values(
        post_chat_id=chat_id, post_message_id=message_id))


async def answered(conn: AsyncConnection, round_id: int, units: Sequence[int],
                   user_id: int) -> dict[str, tuple[list[int], bool]]:
    """Per subject, in one query: which of ``units`` have rated it, and whether ``user_id``
    has (for any household)."""
    rows = await conn.execute(select(survey_takers.c.subject, survey_takers.c.unit_id,
                                     survey_takers.c.user_id).where(
        survey_takers.c.round_id == round_id,
        or_(survey_takers.c.unit_id.in_(list(units)), survey_takers.c.user_id == user_id)))
    found: dict[str, tuple[list[int], bool]] = {}
    for subject, unit, user in rows:
        households, mine = found.get(subject, ([], False))
        found[subject] = ([*households, int(unit)], mine or user == user_id)
    return found


async def households_taking_part(conn: AsyncConnection, round_id: int) -> int:
    return int((await conn.execute(select(func.count(func.distinct(survey_takers.c.unit_id)))
                                   .where(survey_takers.c.round_id == round_id))).scalar_one())


async def rate(conn: AsyncConnection, round_id: int, subject: str, unit_id: int,
               user_id: int, stars: int) -> bool:
    """Note that a household rated a subject (through this person) and count the stars;
    False if the household or the person already had."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Either clash (the household, or the person, rated it already) writes nothing.
    taken = await conn.execute(dialect.insert(survey_takers).values(
        round_id=round_id, subject=subject, unit_id=unit_id, user_id=user_id)
        .on_conflict_do_nothing())
    if not taken.rowcount:
        return False
    await conn.execute(update(survey_scores).where(
        survey_scores.c.round_id == round_id, survey_scores.c.subject == subject,
        survey_scores.c.stars == stars).values(count=survey_scores.c.count + 1))
    return True


async def comment(conn: AsyncConnection, round_id: int, subject: str, text: str,
                  user_id: int | None) -> None:
    """A comment on a subject; ``user_id`` only in a round that is not anonymous."""
    await conn.execute(insert(survey_comments).values(
        round_id=round_id, subject=subject, token=secrets.token_hex(16), text=text,
        user_id=user_id))


async def scores(conn: AsyncConnection, round_id: int) -> dict[tuple[str, int], int]:
    rows = await conn.execute(select(survey_scores.c.subject, survey_scores.c.stars,
                                     survey_scores.c.count)
                              .where(survey_scores.c.round_id == round_id))
    return {(subject, int(stars)): int(count) for subject, stars, count in rows}


async def comments(conn: AsyncConnection, round_id: int) -> list[tuple[str, str, int | None]]:
    """(subject, text, writer if signed), in no order that follows when they were written."""
    rows = await conn.execute(select(survey_comments.c.subject, survey_comments.c.text,
                                     survey_comments.c.user_id)
                              .where(survey_comments.c.round_id == round_id)
                              .order_by(survey_comments.c.subject, survey_comments.c.text))
    return [(subject, text, user) for subject, text, user in rows]


async def close(conn: AsyncConnection, round_id: int, now: datetime, results: dict) -> bool:
    """Freeze the results; False if it was closed already (a retry, a second instance).
    The comments and who took part are written again in an order of their own (by text,
    by household), so the order they were stored in cannot pair a household with a
    comment."""
    closed = await conn.execute(update(survey_rounds).where(
        survey_rounds.c.id == round_id, survey_rounds.c.closed_at.is_(None))
        .values(closed_at=now, results=results))
    if not closed.rowcount:
        return False
    for table, order in ((survey_comments, (survey_comments.c.subject, survey_comments.c.text)),
                         (survey_takers, (survey_takers.c.subject, survey_takers.c.unit_id))):
        kept = (await conn.execute(select(table).where(table.c.round_id == round_id)
                                   .order_by(*order))).mappings().all()
        await conn.execute(table.delete().where(table.c.round_id == round_id))
        if kept:
            await conn.execute(table.insert(), [dict(row) for row in kept])
    return True


async def report_times(conn: AsyncConnection, community_id: int, since: datetime,
                       until: datetime) -> list[ReportTimes]:
    """Each report filed in [since, until): its category, when it was filed, first
    acknowledged and first resolved, and the reporter's ratings."""
    rows = (await conn.execute(select(reports.c.id, reports.c.category, reports.c.created_at)
                               .where(reports.c.community_id == community_id,
                                      reports.c.created_at >= since,
                                      reports.c.created_at < until))).all()
    ids = [row_id for row_id, _c, _f in rows]
    firsts: dict[tuple[int, str], datetime] = {}
    stars: dict[int, list[int]] = {}
    if ids:
        events = await conn.execute(
            select(report_events.c.report_id, report_events.c.status, report_events.c.note,
                   report_events.c.at)
            .where(report_events.c.report_id.in_(ids)).order_by(report_events.c.at))
        for report_id, status, note, at in events:
            firsts.setdefault((report_id, status), at)
            read = Note.read(note) if note else None
            if read is not None and read.kind is NoteKind.RATING and read.number is not None:
                stars.setdefault(report_id, []).append(read.number)
    return [ReportTimes(category=category, filed=filed,
                        acknowledged=firsts.get((row_id, ReportStatus.ACKNOWLEDGED.value)),
                        resolved=firsts.get((row_id, ReportStatus.RESOLVED.value)),
                        stars=stars.get(row_id, []))
            for row_id, category, filed in rows]


async def categories_used(conn: AsyncConnection, community_id: int,
                          since: datetime) -> list[str]:
    rows = await conn.execute(select(func.distinct(reports.c.category)).where(
        reports.c.community_id == community_id, reports.c.created_at >= since))
    return [category for (category,) in rows]


async def last_opened(conn: AsyncConnection, community_id: int) -> datetime | None:
    return (await conn.execute(select(func.max(survey_rounds.c.opened_at)).where(
        survey_rounds.c.community_id == community_id))).scalar_one()
