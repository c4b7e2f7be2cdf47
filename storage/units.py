"""Units: the households of a community, with their floor area and chosen voter."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.units import UnitAddress
from storage.schema import units


class Unit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    address: UnitAddress
    area_m2: float | None
    voter_id: int | None


def _unit(row: RowMapping) -> Unit:
    return Unit(
        id=row["id"],
        community_id=row["community_id"],
        address=UnitAddress(building=row["building"], staircase=row["staircase"] or None,
                            room=row["room"]),
        area_m2=row["area_m2"],
        voter_id=row["voter_id"],
    )


def _where(community_id: int, address: UnitAddress) -> list:
    return [units.c.community_id == community_id, units.c.building == address.building,
            units.c.staircase == (address.staircase or ""), units.c.room == address.room]


async def find(conn: AsyncConnection, community_id: int, address: UnitAddress) -> Unit | None:
    rows = await conn.execute(select(units).where(*_where(community_id, address)))
    row = rows.mappings().first()
    return _unit(row) if row else None


async def get(conn: AsyncConnection, unit_id: int) -> Unit | None:
    rows = await conn.execute(select(units).where(units.c.id == unit_id))
    row = rows.mappings().first()
    return _unit(row) if row else None


async def ensure(conn: AsyncConnection, community_id: int, address: UnitAddress,
                 now: datetime) -> Unit:
    """The unit at ``address``, created if the community did not list it yet."""
    found = await find(conn, community_id, address)
    if found is not None:
        return found
    await conn.execute(units.insert().values(
        community_id=community_id, building=address.building,
        staircase=address.staircase or "", room=address.room, created_at=now))
    created = await find(conn, community_id, address)
    assert created is not None
    return created


async def listed(conn: AsyncConnection, community_id: int) -> list[Unit]:
    rows = await conn.execute(
        select(units).where(units.c.community_id == community_id)
        .order_by(units.c.building, units.c.staircase, units.c.room)
    )
    return [_unit(row) for row in rows.mappings()]


async def count(conn: AsyncConnection, community_id: int) -> int:
    rows = await conn.execute(select(func.count()).select_from(units)
                              .where(units.c.community_id == community_id))
    return int(rows.scalar_one())


async def set_area(conn: AsyncConnection, unit_id: int, area_m2: float | None) -> None:
    await conn.execute(update(units).where(units.c.id == unit_id).values(area_m2=area_m2))


async def set_voter(conn: AsyncConnection, unit_id: int, voter_id: int | None) -> None:
    await conn.execute(update(units).where(units.c.id == unit_id).values(voter_id=voter_id))


async def clear_voter(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(update(units).where(units.c.voter_id == user_id).values(voter_id=None))
