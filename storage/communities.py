"""Communities: one per building group chat."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Community
from bot.domain.quiet_hours import QuietHours
from storage.schema import communities, topics


def from_row(row: Mapping[str, Any]) -> Community:
    """A community from its row (or a joined row's community columns, renamed)."""
    return Community(
        id=row["id"],
        chat_id=row["chat_id"],
        title=row["title"],
        language=row["language"],
        timezone=row["timezone"],
        quiet_hours=QuietHours.parse(row["quiet_hours"]),
        active=row["active"],
        leaderboard=row["leaderboard"],
        support_threshold=row["support_threshold"],
        survey_months=row["survey_months"],
        objection_days=row["objection_days"],
        moderators_chat_id=row["moderators_chat_id"],
        handlers_chat_id=row["handlers_chat_id"],
        created_at=row["created_at"],
    )


async def by_chat(conn: AsyncConnection, chat_id: int) -> Community | None:
    row = (await conn.execute(select(communities).where(communities.c.chat_id == chat_id)))
    found = row.mappings().first()
    return from_row(found) if found else None


async def by_id(conn: AsyncConnection, community_id: int) -> Community | None:
    row = await conn.execute(select(communities).where(communities.c.id == community_id))
    found = row.mappings().first()
    return from_row(found) if found else None


async def activate(
    conn: AsyncConnection,
    *,
    chat_id: int,
    title: str,
    language: str,
    timezone: str,
    quiet_hours: QuietHours,
    now: datetime,
) -> tuple[Community, bool]:
    """Create the community for ``chat_id`` or re-activate it; returns it and whether it is new.

    A returning group keeps its settings and data; only the title is refreshed.
    """
    existing = await by_chat(conn, chat_id)
    if existing is not None:
        await conn.execute(
            update(communities)
            .where(communities.c.id == existing.id)
            .values(active=True, title=title, updated_at=now)
        )
        return existing.model_copy(update={"active": True, "title": title}), False
    result = await conn.execute(
        communities.insert().values(
            chat_id=chat_id,
            title=title,
            language=language,
            timezone=timezone,
            quiet_hours=str(quiet_hours),
            active=True,
            created_at=now,
            updated_at=now,
        )
    )
    created = await by_id(conn, result.inserted_primary_key[0])
    assert created is not None
    return created, True


async def deactivate(conn: AsyncConnection, chat_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(communities)
        .where(communities.c.chat_id == chat_id, communities.c.active.is_(True))
        .values(active=False, updated_at=now)
    )
    return result.rowcount > 0


async def move_chat(conn: AsyncConnection, old_chat_id: int, new_chat_id: int,
                    now: datetime) -> bool:
    """A group became a supergroup: the community (and all it owns) follows the new id."""
    if await by_chat(conn, new_chat_id) is not None:
        return False
    result = await conn.execute(
        update(communities)
        .where(communities.c.chat_id == old_chat_id)
        .values(chat_id=new_chat_id, updated_at=now)
    )
    return result.rowcount > 0


async def update_settings(
    conn: AsyncConnection,
    community_id: int,
    now: datetime,
    *,
    language: str | None = None,
    timezone: str | None = None,
    quiet_hours: QuietHours | None = None,
    leaderboard: bool | None = None,
    support_threshold: int | None | Literal["off"] = None,
    survey_months: int | None = None,
    objection_days: int | None = None,
) -> Community:
    """Change what is given (``support_threshold="off"`` turns the threshold off;
    ``survey_months=0`` the survey rounds)."""
    values: dict[str, object] = {"updated_at": now}
    if survey_months is not None:
        values["survey_months"] = survey_months
    if objection_days is not None:
        values["objection_days"] = objection_days
    if support_threshold is not None:
        values["support_threshold"] = None if support_threshold == "off" else support_threshold
    if leaderboard is not None:
        values["leaderboard"] = leaderboard
    if language is not None:
        values["language"] = language
    if timezone is not None:
        values["timezone"] = timezone
    if quiet_hours is not None:
        values["quiet_hours"] = str(quiet_hours)
    await conn.execute(update(communities).where(communities.c.id == community_id).values(values))
    changed = await by_id(conn, community_id)
    assert changed is not None
    return changed



async def by_moderators_chat(conn: AsyncConnection, chat_id: int) -> Community | None:
    """The community whose moderators' (or handlers') chat this is, if any."""
    rows = await conn.execute(select(communities).where(or_(
        communities.c.moderators_chat_id == chat_id, communities.c.handlers_chat_id == chat_id)))
    found = rows.mappings().first()
    return from_row(found) if found else None


async def set_link_code(conn: AsyncConnection, community_id: int, code: str | None) -> None:
    await conn.execute(update(communities).where(communities.c.id == community_id)
                       .values(link_code=code))


async def link_code(conn: AsyncConnection, community_id: int) -> str | None:
    rows = await conn.execute(select(communities.c.link_code).where(
        communities.c.id == community_id))
    found = rows.first()
    return found[0] if found else None


async def link_moderators_chat(conn: AsyncConnection, community_id: int,
                               chat_id: int | None, now: datetime) -> None:
    """Link (or, with None, unlink) the moderators' chat; a used code is spent."""
    await conn.execute(update(communities).where(communities.c.id == community_id)
                       .values(moderators_chat_id=chat_id, link_code=None, updated_at=now))


async def link_handlers_chat(conn: AsyncConnection, community_id: int,
                             chat_id: int | None, now: datetime) -> None:
    """Link (or, with None, unlink) the handlers' chat; a used code is spent."""
    await conn.execute(update(communities).where(communities.c.id == community_id)
                       .values(handlers_chat_id=chat_id, link_code=None, updated_at=now))


async def with_topics(conn: AsyncConnection) -> list[Community]:
    """Active communities that have at least one topic (they get a weekly roundup)."""
    rows = await conn.execute(select(communities).where(
        communities.c.active.is_(True),
        communities.c.id.in_(select(topics.c.community_id).distinct())))
    return [from_row(row) for row in rows.mappings()]


async def active(conn: AsyncConnection) -> list[Community]:
    rows = await conn.execute(select(communities).where(communities.c.active.is_(True))
                              .order_by(communities.c.id))
    return [from_row(row) for row in rows.mappings()]
