"""The building's register: the owners of each unit on record, whether or not they are on
Telegram. A moderator imports it (/residents import); an owner who later joins is linked
to their entry instead of becoming a second owner."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.households import RegisteredOwner
from storage.schema import unit_owners as table


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    unit_id: int
    owner: RegisteredOwner


async def add(conn: AsyncConnection, *, community_id: int, unit_id: int, name: str,
              user_id: int | None, developer: bool, now: datetime) -> bool:
    """List ``name`` as an owner of the unit; False if they were listed already (the
    Telegram link is filled in if it was missing)."""
    found = (await conn.execute(select(table.c.id, table.c.user_id).where(
        table.c.unit_id == unit_id, table.c.name == name))).first()
    if found is not None:
        if user_id is not None and found.user_id is None:
            await conn.execute(update(table).where(table.c.id == found.id)
                               .values(user_id=user_id))
        return False
    await conn.execute(table.insert().values(
        community_id=community_id, unit_id=unit_id, name=name, user_id=user_id,
        developer=developer, created_at=now))
    return True


async def by_unit(conn: AsyncConnection, community_id: int,
                  unit_ids: Collection[int] | None = None) -> dict[int, list[RegisteredOwner]]:
    query = select(table).where(table.c.community_id == community_id)
    if unit_ids is not None:
        query = query.where(table.c.unit_id.in_(list(unit_ids)))
    rows = await conn.execute(query.order_by(table.c.id))
    found: dict[int, list[RegisteredOwner]] = {}
    for row in rows.mappings():
        found.setdefault(row["unit_id"], []).append(RegisteredOwner(
            name=row["name"], user_id=row["user_id"], developer=row["developer"]))
    return found


async def unlinked(conn: AsyncConnection, unit_id: int) -> list[Entry]:
    """The unit's owners on record who are not linked to a Telegram account yet."""
    rows = await conn.execute(select(table).where(
        table.c.unit_id == unit_id, table.c.user_id.is_(None),
        table.c.developer.is_(False)).order_by(table.c.id))
    return [Entry(id=r["id"], unit_id=r["unit_id"],
                  owner=RegisteredOwner(name=r["name"])) for r in rows.mappings()]


async def get(conn: AsyncConnection, entry_id: int) -> Entry | None:
    row = (await conn.execute(select(table).where(table.c.id == entry_id))
           ).mappings().first()
    if row is None:
        return None
    return Entry(id=row["id"], unit_id=row["unit_id"], owner=RegisteredOwner(
        name=row["name"], user_id=row["user_id"], developer=row["developer"]))


async def link(conn: AsyncConnection, community_id: int, name: str, user_id: int) -> list[int]:
    """Link every unlinked entry of ``name`` in the community to ``user_id`` (an owner of
    several units is one person); the units linked."""
    rows = await conn.execute(select(table.c.id, table.c.unit_id).where(
        table.c.community_id == community_id, table.c.name == name,
        table.c.user_id.is_(None), table.c.developer.is_(False)))
    found = rows.all()
    if found:
        await conn.execute(update(table).where(
            table.c.id.in_([r.id for r in found])).values(user_id=user_id))
    return [r.unit_id for r in found]


async def forget_person(conn: AsyncConnection, user_id: int) -> None:
    """The register is the building's record of ownership and stays; only the link to the
    person's Telegram account goes."""
    await conn.execute(update(table).where(table.c.user_id == user_id)
                       .values(user_id=None))
