"""People: everyone the bot has seen, with their chosen language."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Person
from storage.schema import memberships, people, residents, unit_owners
from storage.upsert import upsert


def _person(row: RowMapping) -> Person:
    return Person(
        user_id=row["user_id"],
        name=row["name"],
        username=row["username"],
        language=row["language"],
        app_language=row["app_language"],
        started=row["started"],
        public_name=row["public_name"],
    )


async def get(conn: AsyncConnection, user_id: int) -> Person | None:
    rows = await conn.execute(select(people).where(people.c.user_id == user_id))
    row = rows.mappings().first()
    return _person(row) if row else None


async def get_many(conn: AsyncConnection, user_ids: Collection[int]) -> dict[int, Person]:
    rows = await conn.execute(select(people).where(people.c.user_id.in_(list(user_ids))))
    return {row["user_id"]: _person(row) for row in rows.mappings()}


async def languages(conn: AsyncConnection, user_ids: Collection[int]) -> dict[int, str | None]:
    """The language each of ``user_ids`` chose, where yishi knows them (a vote burst's
    answers need nothing else of them)."""
    rows = await conn.execute(select(people.c.user_id, people.c.language)
                              .where(people.c.user_id.in_(list(user_ids))))
    return {int(user): language for user, language in rows}


async def by_username(conn: AsyncConnection, username: str) -> Person | None:
    rows = await conn.execute(
        select(people).where(func.lower(people.c.username) == username.lstrip("@").lower())
    )
    row = rows.mappings().first()
    return _person(row) if row else None


async def named_in(conn: AsyncConnection, community_id: int, name: str) -> list[Person]:
    """The people of a community known by ``name`` (case and spacing aside): by their
    Telegram name, if they are on its roster or hold a role there, or by their name on its
    register, once linked to their account."""
    wanted = " ".join(name.split()).casefold()
    if not wanted:
        return []
    known = (select(residents.c.user_id).where(residents.c.community_id == community_id)
             .union(select(memberships.c.user_id)
                    .where(memberships.c.community_id == community_id)))
    rows = await conn.execute(select(people).where(people.c.user_id.in_(known)))
    found = {row["user_id"]: _person(row) for row in rows.mappings()
             if " ".join(row["name"].split()).casefold() == wanted}
    registered = await conn.execute(select(unit_owners.c.user_id, unit_owners.c.name).where(
        unit_owners.c.community_id == community_id, unit_owners.c.user_id.is_not(None)))
    linked = {int(user) for user, listed in registered
              if " ".join(listed.split()).casefold() == wanted} - set(found)
    found.update(await get_many(conn, linked))
    return sorted(found.values(), key=lambda p: p.user_id)


async def seen(
    conn: AsyncConnection,
    *,
    user_id: int,
    name: str,
    username: str | None,
    now: datetime,
    started: bool = False,
    app_language: str | None = None,
) -> Person:
    """Record (or refresh) someone the bot has met; ``started`` only ever turns on."""
    await upsert(
        conn,
        people,
        {
            "user_id": user_id,
            "name": name,
            "username": username,
            "app_language": app_language,
            "started": started,
            "created_at": now,
            "updated_at": now,
        },
        conflict=["user_id"],
        update=["name", "username", "updated_at",
                *(["app_language"] if app_language else [])],
    )
    if started:
        await conn.execute(
            update(people).where(people.c.user_id == user_id).values(started=True)
        )
    person = await get(conn, user_id)
    assert person is not None
    return person


async def set_language(conn: AsyncConnection, user_id: int, language: str,
                       now: datetime) -> None:
    await conn.execute(
        update(people).where(people.c.user_id == user_id).values(language=language,
                                                                 updated_at=now)
    )


async def set_public_name(conn: AsyncConnection, user_id: int, choice: str,
                          now: datetime) -> None:
    await conn.execute(
        update(people).where(people.c.user_id == user_id).values(public_name=choice,
                                                                 updated_at=now)
    )


async def names(conn: AsyncConnection, user_ids: list[int]) -> dict[int, Person]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(people).where(people.c.user_id.in_(user_ids)))
    return {row["user_id"]: _person(row) for row in rows.mappings()}


async def forget(conn: AsyncConnection, user_id: int) -> None:
    """Remove the person (memberships go with them)."""
    await conn.execute(delete(people).where(people.c.user_id == user_id))


async def unreachable(conn: AsyncConnection, user_id: int) -> None:
    """They blocked the bot (or never started it): no more private messages until they
    write to it again."""
    await conn.execute(update(people).where(people.c.user_id == user_id).values(started=False))
