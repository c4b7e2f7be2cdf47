from bot.domain.households import (
    Household,
    Member,
    Relation,
    by_building,
    by_staircase,
    owner_headcount,
    totals,
)
from bot.domain.units import UnitAddress

OWNER, TENANT, FAMILY = Relation.OWNER, Relation.TENANT, Relation.FAMILY


def unit(uid, code, area=None, *members, voter=None):
    return Household(unit_id=uid, address=UnitAddress.parse(code), area_m2=area,
                     voter_id=voter, members=tuple(Member(user_id=u, relation=r)
                                                   for u, r in members))


def test_owner_headcount_counts_units_and_merges_one_owner_of_several():
    households = [
        unit(1, "1-1-101", 90.0, (10, OWNER), (11, OWNER)),  # a couple: one unit, one count
        unit(2, "1-1-102", 80.0, (10, OWNER)),  # 10 owns two units: still one person
        unit(3, "1-1-103", 70.0, (12, TENANT)),  # owner not registered: counts as one
        unit(4, "1-2-201", None),
    ]
    assert owner_headcount(households) == 3
    summary = totals(households)
    assert summary.units == 4 and summary.area_m2 == 240.0 and summary.units_without_area == 1
    assert summary.registered_owners == 2 and summary.verified_residents == 3
    assert summary.owner_headcount == 3


def test_chains_of_shared_owners_merge():
    households = [unit(1, "1-101", 1, (1, OWNER), (2, OWNER)), unit(2, "1-102", 1, (2, OWNER),
                  (3, OWNER)), unit(3, "1-103", 1, (3, OWNER)), unit(4, "1-104", 1, (4, OWNER))]
    assert owner_headcount(households) == 2


def test_voter_is_the_chosen_owner_or_the_only_owner():
    assert unit(1, "1-101", None, (5, OWNER), (6, FAMILY)).voter == 5
    assert unit(1, "1-101", None, (5, OWNER), (6, OWNER)).voter is None
    assert unit(1, "1-101", None, (5, OWNER), (6, OWNER), voter=6).voter == 6
    # A voter who is no longer an owner does not vote for the household.
    assert unit(1, "1-101", None, (5, OWNER), (6, TENANT), voter=6).voter == 5
    assert unit(1, "1-101", None, (6, TENANT)).voter is None


def test_totals_per_building_and_staircase():
    households = [unit(1, "1-1-101", 50, (1, OWNER)), unit(2, "1-2-101", 60, (2, OWNER)),
                  unit(3, "2-1-101", 70, (3, OWNER))]
    buildings = by_building(households)
    assert list(buildings) == ["1", "2"] and buildings["1"].area_m2 == 110
    staircases = by_staircase(households)
    assert staircases[("1", "2")].owner_headcount == 1 and len(staircases) == 3
