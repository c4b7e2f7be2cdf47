"""Households and the totals the Civil Code's quorum rules are computed against.

A unit (专有部分) is a household; several people may belong to it. For the owners'
headcount, the Supreme People's Court's interpretation of Art. 278 counts one
person per unit, and one person who owns several units once; units whose owners are
not (yet) registered still count, one each, because they have an owner in law.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.units import UnitAddress


class Relation(StrEnum):
    OWNER = "owner"
    TENANT = "tenant"
    FAMILY = "family"


class Member(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int
    relation: Relation


class Household(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit_id: int
    address: UnitAddress
    area_m2: float | None = None
    voter_id: int | None = None  # the owner chosen to vote for the household
    members: tuple[Member, ...] = Field(default_factory=tuple)

    @property
    def owners(self) -> list[int]:
        return [m.user_id for m in self.members if m.relation is Relation.OWNER]

    @property
    def voter(self) -> int | None:
        """Who votes for the household: the chosen owner, else the only owner, else nobody."""
        owners = self.owners
        if self.voter_id in owners:
            return self.voter_id
        return owners[0] if len(owners) == 1 else None


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True)

    units: int
    area_m2: float
    units_without_area: int
    owner_headcount: int
    registered_owners: int
    verified_residents: int


def owner_headcount(households: Iterable[Household]) -> int:
    """Owners counted by the interpretation's rule (see the module docstring)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Units joined by a shared owner are one "person"; union-find over units.
    first_unit_of: dict[int, int] = {}
    units = []
    for household in households:
        units.append(household.unit_id)
        find(household.unit_id)
        for owner in household.owners:
            if owner in first_unit_of:
                parent[find(household.unit_id)] = find(first_unit_of[owner])
            else:
                first_unit_of[owner] = household.unit_id
    return len({find(u) for u in units})


def totals(households: Iterable[Household]) -> Totals:
    listed = list(households)
    owners = {o for h in listed for o in h.owners}
    residents = {m.user_id for h in listed for m in h.members}
    return Totals(
        units=len(listed),
        area_m2=round(sum(h.area_m2 or 0.0 for h in listed), 2),
        units_without_area=sum(1 for h in listed if h.area_m2 is None),
        owner_headcount=owner_headcount(listed),
        registered_owners=len(owners),
        verified_residents=len(residents),
    )


def by_building(households: Iterable[Household]) -> dict[str, Totals]:
    grouped: dict[str, list[Household]] = defaultdict(list)
    for household in households:
        grouped[household.address.building].append(household)
    return {building: totals(group) for building, group in sorted(grouped.items())}


def by_staircase(households: Iterable[Household]) -> dict[tuple[str, str | None], Totals]:
    grouped: dict[tuple[str, str | None], list[Household]] = defaultdict(list)
    for household in households:
        grouped[(household.address.building, household.address.staircase)].append(household)
    return {key: totals(group) for key, group in sorted(grouped.items(),
                                                          key=lambda kv: (kv[0][0],
                                                                          kv[0][1] or ""))}
