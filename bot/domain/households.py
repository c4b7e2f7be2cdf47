"""Households and the totals the Civil Code's quorum rules are computed against.

A unit (专有部分) is a household; several people may belong to it. For the owners'
headcount the Supreme People's Court's interpretation on building ownership (Arts. 8-9)
counts one owner per unit; co-owners of a unit count as one; a person who owns several
units counts once; the developer's unsold or undelivered units count as one together;
and a unit whose owner is on no record still counts, one, because it has an owner in law.

Who an owner is: a Telegram account when one is known (verified on the roster, or linked
to the register), else the name on the building's register, else nobody known (the unit
counts alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

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


class RegisteredOwner(BaseModel):
    """An owner as the building's register lists them, on Telegram or not."""

    model_config = ConfigDict(frozen=True)

    name: str
    user_id: int | None = None  # linked once they are on Telegram
    developer: bool = False  # the developer, for units not yet sold or delivered

    @property
    def identity(self) -> str:
        if self.developer:
            return "developer"
        if self.user_id is not None:
            return f"u:{self.user_id}"
        return "n:" + " ".join(self.name.split()).casefold()


class Household(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit_id: int
    address: UnitAddress
    area_m2: float | None = None
    voter_id: int | None = None  # the owner chosen to vote for the household
    members: tuple[Member, ...] = Field(default_factory=tuple)
    registered: tuple[RegisteredOwner, ...] = Field(default_factory=tuple)

    @property
    def owners(self) -> list[int]:
        """The owners who can vote on Telegram: verified on the roster as owners."""
        return [m.user_id for m in self.members if m.relation is Relation.OWNER]

    @property
    def owner_identities(self) -> set[str]:
        """Everyone known to own this unit, each named once (see the module docstring)."""
        return {f"u:{user}" for user in self.owners} | {o.identity for o in self.registered}

    @property
    def owners_off_telegram(self) -> list[RegisteredOwner]:
        return [o for o in self.registered if o.user_id is None and not o.developer]

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
    area_m2: Fraction  # exact: the sum of the recorded areas
    units_without_area: int
    owner_headcount: int
    registered_owners: int  # owners on Telegram (verified as owners)
    owners_off_telegram: int  # owners on the register only
    verified_residents: int


def exact_area(value: float | int | str | None) -> Fraction:
    """An area as an exact fraction: 89.35 m² is 8935/100, not a binary approximation."""
    if value is None:
        return Fraction(0)
    return Fraction(Decimal(str(value)))


def owner_headcount(households: Iterable[Household]) -> int:
    """Owners counted by the interpretation's rule (see the module docstring): units that
    share an owner are one owner; union-find over units."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_unit_of: dict[str, int] = {}
    units = []
    for household in households:
        units.append(household.unit_id)
        find(household.unit_id)
        for owner in sorted(household.owner_identities):
            if owner in first_unit_of:
                parent[find(household.unit_id)] = find(first_unit_of[owner])
            else:
                first_unit_of[owner] = household.unit_id
    return len({find(u) for u in units})


def totals(households: Iterable[Household]) -> Totals:
    listed = list(households)
    owners = {o for h in listed for o in h.owners}
    off = {o.identity for h in listed for o in h.owners_off_telegram}
    residents = {m.user_id for h in listed for m in h.members}
    return Totals(
        units=len(listed),
        area_m2=sum((exact_area(h.area_m2) for h in listed), Fraction(0)),
        units_without_area=sum(1 for h in listed if h.area_m2 is None),
        owner_headcount=owner_headcount(listed),
        registered_owners=len(owners),
        owners_off_telegram=len(off),
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
