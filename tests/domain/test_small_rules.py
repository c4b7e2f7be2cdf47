"""Small rules that people meet every day: role names as typed, initials on the
leaderboard, the roster's totals, unit numbers as typed, the median time to resolve, the
Civil Code's figures and similar topics."""

from datetime import timedelta
from fractions import Fraction

import pytest

from bot.domain.households import Household, Member, Relation, by_staircase, totals
from bot.domain.models import Role
from bot.domain.points import initials
from bot.domain.polls import Ballot, CivilFigures, Outcome, Scope, civil_code, civil_figures
from bot.domain.roles import parse_role
from bot.domain.summary import median_hours
from bot.domain.topics import similar
from bot.domain.units import UnitAddress


@pytest.mark.parametrize(("typed", "role"), [
    ("moderator", Role.MODERATOR), ("MOD", Role.MODERATOR), (" 管理员 ", Role.MODERATOR),
    ("Handler", Role.HANDLER), ("处理人", Role.HANDLER), ("lead", Role.BUILDING_LEAD),
    ("Building_Lead", Role.BUILDING_LEAD), ("楼栋长", Role.BUILDING_LEAD),
    ("居民", Role.RESIDENT), ("resident", Role.RESIDENT), ("admin", None), ("", None),
])
def test_role_names_as_typed(typed, role):
    assert parse_role(typed) is role


@pytest.mark.parametrize(("name", "shown"), [
    ("王芳", "王*"), ("欧阳娜娜", "欧**"), ("王", "王*"), ("Alice Smith", "A. S."),
    ("Alice", "A."), ("A B C D", "A. B. C."), ("", "?"), ("x王", "x."), ("㐀芳", "㐀*"),
    ("豈芳", "豈*"), ("ｶﾞ", "ｶ."),
])
def test_initials_on_the_leaderboard(name, shown):
    assert initials(name) == shown


def home(uid, building, staircase, area_m2, *owners):
    return Household(unit_id=uid, address=UnitAddress(building=building, staircase=staircase,
                                                      room=str(100 + uid)),
                     area_m2=area_m2,
                     members=tuple(Member(user_id=o, relation=Relation.OWNER) for o in owners))


def test_the_rosters_totals_and_their_order():
    roster = [home(1, "3", "2", 80.125, 11), home(2, "3", None, None, 12),
              home(3, "10", "1", 70.004, 13), home(4, "3", "1", 90.5, 11)]
    assert totals(roster).area_m2 == Fraction(240629, 1000)  # exact, never rounded
    assert totals(roster).units_without_area == 1
    grouped = by_staircase(roster)
    assert list(grouped) == [("10", "1"), ("3", None), ("3", "1"), ("3", "2")]
    assert grouped[("3", "2")].area_m2 == Fraction(80125, 1000)


@pytest.mark.parametrize(("typed", "code"), [
    ("3-2-501", "3-2-501"), ("3—2—501", "3-2-501"), ("3－2－501", "3-2-501"),
    ("3-b-501a", "3-B-501A"),
])
def test_unit_numbers_as_typed(typed, code):
    assert UnitAddress.parse(typed).code == code


def test_the_median_time_to_resolve_in_hours():
    assert median_hours([timedelta(hours=1), timedelta(hours=2, minutes=6),
                         timedelta(hours=30)]) == 2.1
    assert median_hours([timedelta(minutes=20)]) == 0.3
    assert median_hours([timedelta(seconds=3600 * 5)]) == 5.0
    assert median_hours([]) is None


def test_civil_code_figures_skip_ballots_for_no_unit_and_keep_going():
    roster = [home(1, "3", "1", 90, 11), home(2, "3", "1", None, 12)]
    ballots = [Ballot(choice=(0,)), Ballot(choice=(0,), unit_id=99),
               Ballot(choice=(0,), unit_id=1), Ballot(choice=(1,), unit_id=2)]
    got = civil_figures(roster, Scope(), ballots)
    assert (got.voting_owners, got.yes_owners, got.voting_area, got.yes_area) == (2, 1, 90, 90)
    assert isinstance(got.total_area, Fraction) and isinstance(got.yes_area, Fraction)
    empty = civil_figures([], Scope(), [])
    assert isinstance(empty.total_area, Fraction) and isinstance(empty.voting_area, Fraction)
    assert isinstance(empty.yes_area, Fraction)


def test_a_major_matter_with_a_single_voter_and_the_owners_approval_share():
    one = CivilFigures(total_area=Fraction(1), total_owners=1, voting_area=Fraction(1),
                       voting_owners=1, yes_area=Fraction(1), yes_owners=1)
    got = civil_code(one, major=True)
    assert got.outcome is Outcome.PASSED and got.owner_approval == 1
    half = CivilFigures(total_area=Fraction(4), total_owners=4, voting_area=Fraction(4),
                        voting_owners=4, yes_area=Fraction(3), yes_owners=2)
    assert civil_code(half, major=True).owner_approval == Fraction(1, 2)


def test_similar_topics():
    candidates = [(1, "Fix the lobby light"), (2, "The lobby"), (3, "Lobby light"),
                  (4, "lobby LIGHT broken"), (5, "Parking at night")]
    found = similar("the lobby light", candidates, threshold=70)
    assert len(found) == 3 and found[0] in (1, 3, 4) and 5 not in found
    assert len(similar("the lobby light", candidates, threshold=70, limit=4)) == 4
    assert similar("the lobby light", candidates, threshold=70, limit=2) == found[:2]
    # Word order and case do not matter; a low score does.
    assert similar("LIGHT LOBBY", [(3, "Lobby light")], threshold=95) == [3]
    assert similar("light lobby", [(5, "Parking at night")], threshold=70) == []
    assert similar("   ", candidates, threshold=70) == []
    assert similar("lobby", [], threshold=70) == []
