"""Residents: a person's tie to a unit, from join request to verification or removal."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.households import Household, Member, Relation
from bot.domain.residents import Resident, ResidentStatus
from bot.domain.units import UnitAddress
from storage import unit_owners
from storage.database import first_row
from storage.schema import people, residents, units


class RosterLine(BaseModel):
    """One verified resident as moderators see them."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    name: str
    username: str | None
    address: UnitAddress
    relation: Relation
    area_m2: float | None
    is_voter: bool


def _resident(row: RowMapping) -> Resident:
    return Resident(
        id=row["id"], community_id=row["community_id"], user_id=row["user_id"],
        unit_id=row["unit_id"], relation=Relation(row["relation"]),
        status=ResidentStatus(row["status"]),
        area_claimed=row["area_claimed"], requested_at=row["requested_at"],
        decided_by=row["decided_by"], notices=row["notices"],
    )


async def get(conn: AsyncConnection, resident_id: int, *,
              lock: bool = False) -> Resident | None:
    """The request; with ``lock``, its row held (storage.database.first_row)."""
    row = await first_row(conn, select(residents).where(residents.c.id == resident_id), lock=lock)
    return _resident(row) if row else None


async def find(conn: AsyncConnection, community_id: int, user_id: int,
               unit_id: int) -> Resident | None:
    rows = await conn.execute(select(residents).where(
        residents.c.community_id == community_id, residents.c.user_id == user_id,
        residents.c.unit_id == unit_id))
    row = rows.mappings().first()
    return _resident(row) if row else None


async def request(conn: AsyncConnection, *, community_id: int, user_id: int, unit_id: int,
                  relation: Relation, area_claimed: float | None, now: datetime,
                  status: ResidentStatus = ResidentStatus.PENDING,
                  decided_by: int | None = None) -> Resident:
    """Record a tie as pending (a join request) or, for a moderator's entry, verified.

    Asking again for the same unit replaces an earlier rejected or pending request; a
    verified tie is updated in place (relation and area).
    """
    existing = await find(conn, community_id, user_id, unit_id)
    values: dict[str, Any] = {"relation": relation.value, "area_claimed": area_claimed,
                              "requested_at": now, "status": status.value,
                              "decided_by": decided_by,
                              "decided_at": now if status is not ResidentStatus.PENDING else None}
    if existing is not None:
        if existing.status is ResidentStatus.VERIFIED and status is ResidentStatus.PENDING:
            values["status"] = ResidentStatus.VERIFIED.value
            values["decided_by"], values["decided_at"] = existing.decided_by, now
        await conn.execute(update(residents).where(residents.c.id == existing.id)
                           .values(values))
    else:
        await conn.execute(residents.insert().values(
            community_id=community_id, user_id=user_id, unit_id=unit_id, notices=[], **values))
    found = await find(conn, community_id, user_id, unit_id)
    assert found is not None
    return found


async def decide(conn: AsyncConnection, resident_id: int, status: ResidentStatus, *, by: int | None,
                 now: datetime) -> bool:
    """Approve or reject a pending request; False if someone already decided it."""
    result = await conn.execute(
        update(residents)
        .where(residents.c.id == resident_id, residents.c.status == ResidentStatus.PENDING.value)
        .values(status=status.value, decided_by=by, decided_at=now)
    )
    return result.rowcount > 0


async def set_notices(conn: AsyncConnection, resident_id: int,
                      notices: list[list[int]]) -> None:
    await conn.execute(update(residents).where(residents.c.id == resident_id)
                       .values(notices=notices))


async def add_notice(conn: AsyncConnection, resident_id: int, copy: list[int]) -> None:
    """Note one more copy sent to the moderators ([chat id, message id]), under the row's
    lock (copies are noted one by one as each is sent)."""
    found = await get(conn, resident_id, lock=True)
    if found is not None and copy not in found.notices:
        await set_notices(conn, resident_id, [*found.notices, copy])


async def remove(conn: AsyncConnection, community_id: int, user_id: int,
                 unit_id: int) -> bool:
    result = await conn.execute(delete(residents).where(
        residents.c.community_id == community_id, residents.c.user_id == user_id,
        residents.c.unit_id == unit_id))
    return result.rowcount > 0


async def of_person(conn: AsyncConnection, user_id: int,
                    community_id: int | None = None) -> list[tuple[Resident, UnitAddress]]:
    """A person's ties (any status) with their unit addresses."""
    query = (select(residents, units.c.building, units.c.staircase, units.c.room)
             .join(units, units.c.id == residents.c.unit_id)
             .where(residents.c.user_id == user_id))
    if community_id is not None:
        query = query.where(residents.c.community_id == community_id)
    rows = await conn.execute(query.order_by(residents.c.id))
    return [(_resident(row), UnitAddress(building=row["building"],
                                         staircase=row["staircase"] or None, room=row["room"]))
            for row in rows.mappings()]


async def pending(conn: AsyncConnection, community_id: int) -> list[Resident]:
    rows = await conn.execute(select(residents).where(
        residents.c.community_id == community_id,
        residents.c.status == ResidentStatus.PENDING.value)
        .order_by(residents.c.requested_at))
    return [_resident(row) for row in rows.mappings()]


async def households(conn: AsyncConnection, community_id: int) -> list[Household]:
    """Every unit of the community with its verified members: what polls count."""
    return await _households(conn, community_id, None)


async def households_of(conn: AsyncConnection, community_id: int,
                        members: Collection[int]) -> dict[int, list[Household]]:
    """For each of ``members``, the units they are verified for: what a batch of vote
    presses needs, without reading the whole building."""
    found = await _households(conn, community_id, members)
    mine: dict[int, list[Household]] = {}
    for household in found:
        for person in household.members:
            if person.user_id in members:
                mine.setdefault(person.user_id, []).append(household)
    return mine


async def _households(conn: AsyncConnection, community_id: int,
                      members: Collection[int] | None) -> list[Household]:
    # Each unit with its verified members, one row per member (or one with none), in one
    # statement; then the owners on record of those units.
    verified = and_(residents.c.unit_id == units.c.id,
                    residents.c.status == ResidentStatus.VERIFIED.value)
    query = (select(units, residents.c.user_id.label("member"),
                    residents.c.relation.label("relation"))
             .select_from(units.outerjoin(residents, verified))
             .where(units.c.community_id == community_id))
    if members is not None:
        query = query.where(units.c.id.in_(
            select(residents.c.unit_id).where(
                residents.c.community_id == community_id,
                residents.c.user_id.in_(list(members)),
                residents.c.status == ResidentStatus.VERIFIED.value)))
    rows = (await conn.execute(query.order_by(
        units.c.building, units.c.staircase, units.c.room, residents.c.id))).mappings().all()
    unit_rows: dict[int, RowMapping] = {}
    by_unit: dict[int, list[Member]] = {}
    for row in rows:
        unit_rows.setdefault(row["id"], row)
        if row["member"] is not None:
            by_unit.setdefault(row["id"], []).append(
                Member(user_id=row["member"], relation=Relation(row["relation"])))
    on_record = await unit_owners.by_unit(conn, community_id,
                                       None if members is None else list(unit_rows))
    return [
        Household(unit_id=u["id"],
                  address=UnitAddress(building=u["building"], staircase=u["staircase"] or None,
                                      room=u["room"]),
                  area_m2=u["area_m2"], voter_id=u["voter_id"],
                  members=tuple(by_unit.get(u["id"], ())),
                  registered=tuple(on_record.get(u["id"], ())))
        for u in unit_rows.values()
    ]


async def roster(conn: AsyncConnection, community_id: int) -> list[RosterLine]:
    rows = await conn.execute(
        select(residents.c.user_id, residents.c.relation, people.c.name, people.c.username,
               units.c.building, units.c.staircase, units.c.room, units.c.area_m2,
               units.c.voter_id)
        .join(units, units.c.id == residents.c.unit_id)
        .join(people, people.c.user_id == residents.c.user_id)
        .where(residents.c.community_id == community_id,
               residents.c.status == ResidentStatus.VERIFIED.value)
        .order_by(units.c.building, units.c.staircase, units.c.room, people.c.name)
    )
    return [
        RosterLine(user_id=r["user_id"], name=r["name"], username=r["username"],
                   address=UnitAddress(building=r["building"], staircase=r["staircase"] or None,
                                       room=r["room"]),
                   relation=Relation(r["relation"]), area_m2=r["area_m2"],
                   is_voter=r["voter_id"] == r["user_id"])
        for r in rows.mappings()
    ]


async def forget_person(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(residents).where(residents.c.user_id == user_id))
