"""Art. 278 at its boundaries: exactly 2/3, one m² short, exactly 3/4, exactly 1/2."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.households import Household, Member, RegisteredOwner, Relation, owner_headcount
from bot.domain.polls import (
    PAPER,
    Audience,
    Ballot,
    CivilFigures,
    Outcome,
    Refusal,
    Scope,
    Turnout,
    approval_needed,
    area,
    civil_code,
    civil_figures,
    eligibility,
    m2,
    percent,
    quorum_needed,
    still_needed,
)
from bot.domain.units import UnitAddress


def figures(total_area=300, total_owners=30, voting_area=200, voting_owners=20,
            yes_area=150, yes_owners=15):
    return CivilFigures(total_area=Fraction(total_area), total_owners=total_owners,
                        voting_area=Fraction(voting_area), voting_owners=voting_owners,
                        yes_area=Fraction(yes_area), yes_owners=yes_owners)


def test_exactly_two_thirds_is_a_quorum_and_one_square_metre_less_is_not():
    assert civil_code(figures(voting_area=200), major=False).quorum_area is True
    assert civil_code(figures(voting_area=199), major=False).quorum_area is False
    assert civil_code(figures(voting_area=Fraction(19999, 100)), major=False).outcome \
        is Outcome.NO_QUORUM


def test_exactly_two_thirds_of_owners_is_a_quorum():
    assert civil_code(figures(voting_owners=20), major=False).quorum_owners is True
    assert civil_code(figures(voting_owners=19), major=False).quorum_owners is False


def test_ordinary_needs_more_than_half_so_exactly_half_fails():
    exactly_half = civil_code(figures(yes_area=100, yes_owners=10), major=False)
    assert exactly_half.outcome is Outcome.REJECTED
    assert not exactly_half.approved_area and not exactly_half.approved_owners
    just_over = civil_code(figures(yes_area=Fraction(10001, 100), yes_owners=11), major=False)
    assert just_over.outcome is Outcome.PASSED


def test_major_needs_at_least_three_quarters_so_exactly_three_quarters_passes():
    assert civil_code(figures(yes_area=150, yes_owners=15), major=True).outcome \
        is Outcome.PASSED
    short_area = civil_code(figures(yes_area=Fraction(14999, 100), yes_owners=15), major=True)
    assert short_area.outcome is Outcome.REJECTED
    assert short_area.approved_area is False and short_area.approved_owners is True
    short_owners = civil_code(figures(yes_area=150, yes_owners=14), major=True)
    assert short_owners.approved_owners is False and short_owners.outcome is Outcome.REJECTED


def test_both_conditions_are_needed():
    passes_headcount_not_area = civil_code(figures(yes_area=140, yes_owners=18), major=True)
    assert passes_headcount_not_area.outcome is Outcome.REJECTED
    assert passes_headcount_not_area.approved_owners and not \
        passes_headcount_not_area.approved_area


def test_no_roster_means_no_quorum():
    assert civil_code(figures(total_area=0, total_owners=0), major=False).outcome \
        is Outcome.NO_QUORUM


def test_areas_are_exact():
    assert area(89.35) == Fraction(8935, 100)
    assert area("0.1") * 3 == Fraction(3, 10)  # a float would say 0.30000000000000004
    assert area(None) == 0


def test_percentages_for_people_are_cut_never_rounded_up():
    assert percent(Fraction(2, 3)) == "66.66%"
    assert percent(Fraction(79999, 120000)) == "66.66%"  # 799.99 of 1,200 m²: not "66.7%"
    assert percent(Fraction(3, 4)) == "75%"
    assert percent(Fraction(1, 8)) == "12.5%"
    assert percent(Fraction(9999, 10000)) == "99.99%"
    assert percent(Fraction(99999, 100000)) == "99.99%"  # never "100%" short of all
    assert percent(None) == "—"


def test_areas_for_people_round_toward_the_safe_side():
    assert m2(Fraction(79999, 100)) == "799.99"
    assert m2(Fraction(1200)) == "1,200"
    assert m2(Fraction(800_005, 2000)) == "400.0025"  # exact up to four decimals
    assert m2(Fraction(2000, 3)) == "666.66"  # reached: cut
    assert m2(Fraction(2000, 3), up=True) == "666.67"  # needed: rounded up
    assert m2(Fraction(0)) == "0"


def test_what_is_needed_exactly():
    assert quorum_needed(Fraction(1200), 7) == (Fraction(800), 5)
    assert quorum_needed(Fraction(1000), 6) == (Fraction(2000, 3), 4)
    # Ordinary: more than half; the owners as the least whole number above half.
    assert approval_needed(Fraction(800), 5, major=False) == (Fraction(400), 3, True)
    assert approval_needed(Fraction(800), 4, major=False) == (Fraction(400), 3, True)
    # Major: at least three quarters.
    assert approval_needed(Fraction(800), 5, major=True) == (Fraction(600), 4, False)
    assert approval_needed(Fraction(800), 4, major=True) == (Fraction(600), 3, False)


def test_the_quorum_at_799_99_of_1200_is_not_met_and_the_figures_say_why():
    roster = [_unit(1, "1", None, "799.99", 11), _unit(2, "1", None, "400.01", 12)]
    figures = civil_figures(roster, Scope(), [Ballot(choice=(0,), unit_id=1)])
    assert figures.total_area == 1200 and figures.voting_area == Fraction(79999, 100)
    meaning = civil_code(figures, major=False)
    assert meaning.outcome is Outcome.NO_QUORUM and not meaning.quorum_area
    assert (meaning.voting_area, meaning.total_area) == (Fraction(79999, 100), 1200)
    exactly = [_unit(1, "1", None, 800, 11), _unit(2, "1", None, 400, 12)]
    assert civil_code(civil_figures(exactly, Scope(), [Ballot(choice=(0,), unit_id=1)]),
                      major=False).quorum_area


def _registered(uid, area_m2, *names, developer=False, user=None):
    return Household(unit_id=uid, address=UnitAddress(building="1", room=str(100 + uid)),
                     area_m2=area_m2, registered=tuple(
                         RegisteredOwner(name=n, developer=developer, user_id=user)
                         for n in names))


def test_the_interpretations_headcount_on_a_register():
    roster = [
        _registered(1, 90, "王伟"), _registered(2, 80, "王伟"),  # one owner of two units
        _registered(3, 70, "李娜", "张强"),  # co-owners: one
        _registered(4, 100, "开发商", developer=True),  # the developer's unsold units: one
        _registered(5, 100, "开发商有限公司", developer=True),
        _registered(6, 60),  # an owner on no record still counts
        _unit(7, "1", None, 50, 21),  # on Telegram only
        _registered(8, 50, "赵敏", user=21),  # ... and the same person on the register
    ]
    assert owner_headcount(roster) == 5
    assert owner_headcount(roster[:2]) == 1
    assert owner_headcount([roster[2]]) == 1
    assert owner_headcount(roster[3:5]) == 1
    # The register's names are the same person however they are spaced or cased.
    assert owner_headcount([_registered(1, 1, "Wang  Wei"), _registered(2, 1, "wang wei")]) == 1


def test_an_owner_of_two_units_votes_once_for_both():
    a = _unit(1, "1", None, 90, 11)
    b = _unit(2, "1", None, 80, 11)
    allowed = eligibility(Audience.OWNERS, Scope(), user_id=11, is_member=True,
                          households=[a, b], household_voters={})
    assert allowed.allowed and allowed.unit_ids == (1, 2)
    # Once one of them has a paper ballot, the press covers the other only.
    allowed = eligibility(Audience.OWNERS, Scope(), user_id=11, is_member=True,
                          households=[a, b], household_voters={1: PAPER})
    assert allowed.unit_ids == (2,)
    refused = eligibility(Audience.OWNERS, Scope(), user_id=11, is_member=True,
                          households=[a, b], household_voters={1: PAPER, 2: 12})
    assert (refused.refusal, refused.refused_unit) == (Refusal.PAPER_VOTED, 1)


def test_live_quorum_says_what_is_still_missing():
    figures = Turnout(ballots=2, civil=True, total_area=Fraction(1200), total_owners=7,
                      voting_area=Fraction(5875, 10), voting_owners=2)
    lacking = still_needed(figures)
    assert (lacking.owners, lacking.area) == (3, Fraction(2125, 10))
    reached = figures.model_copy(update={"voting_area": Fraction(900), "voting_owners": 5})
    assert still_needed(reached).nothing
    assert still_needed(Turnout(ballots=1)) is None


def _unit(uid, building, staircase, area_m2, *owners, tenant=None):
    members = [Member(user_id=o, relation=Relation.OWNER) for o in owners]
    if tenant:
        members.append(Member(user_id=tenant, relation=Relation.TENANT))
    return Household(unit_id=uid, address=UnitAddress(building=building, staircase=staircase,
                                                      room=str(100 + uid)),
                     area_m2=area_m2, members=tuple(members))


def test_figures_come_from_the_roster_in_scope_and_abstaining_is_taking_part():
    roster = [_unit(1, "3", "1", 90, 11), _unit(2, "3", "1", 80, 12),
              _unit(3, "3", "1", 70, 13), _unit(4, "3", "2", 100, 14),
              _unit(5, "3", "1", 60)]  # no registered owner: still counts
    ballots = [Ballot(choice=(0,), unit_id=1), Ballot(choice=(2,), unit_id=2),
               Ballot(choice=(0,), unit_id=4)]  # unit 4 is outside the staircase
    got = civil_figures(roster, Scope(building="3", staircase="1"), ballots)
    assert got.total_area == 300 and got.total_owners == 4
    assert got.voting_area == 170 and got.voting_owners == 2
    assert got.yes_area == 90 and got.yes_owners == 1


@given(total=st.integers(1, 10_000), voting=st.integers(0, 10_000))
def test_quorum_matches_exact_two_thirds(total, voting):
    voting = min(voting, total)
    verdict = civil_code(figures(total_area=total, voting_area=voting, total_owners=3,
                                 voting_owners=3, yes_area=voting, yes_owners=3), major=False)
    assert verdict.quorum_area == (Fraction(voting, total) >= Fraction(2, 3))


@pytest.mark.parametrize(("yes", "voting", "major", "approved"), [
    (3, 4, True, True), (2, 3, True, False), (51, 100, False, True), (1, 2, False, False),
    (0, 1, False, False),
])
def test_headcount_thresholds(yes, voting, major, approved):
    verdict = civil_code(figures(total_owners=voting, voting_owners=voting, yes_owners=yes,
                                 total_area=1, voting_area=1, yes_area=1), major=major)
    assert verdict.approved_owners is approved


def test_the_vote_log_chain_detects_changed_removed_and_reordered_entries():
    from bot.domain.chain import GENESIS, Link, link, replay, verify

    entries = [{"seq": i, "voter": f"u:{i % 2}", "choice": [i % 3]} for i in range(1, 6)]
    links, previous = [], GENESIS
    for entry in entries:
        digest = link(previous, entry)
        links.append(Link(seq=entry["seq"], entry=entry, prev_hash=previous, hash=digest))
        previous = digest
    assert verify(links).intact and verify(links).entries == 5
    changed = [*links[:2], links[2].model_copy(update={"entry": {**entries[2], "choice": [2]}}),
               *links[3:]]
    assert verify(changed).broken_at == 3
    assert verify(links[:2] + links[3:]).broken_at == 3  # one removed
    assert verify([links[1], links[0], *links[2:]]).broken_at == 1  # reordered
    assert replay(entries) == {"u:1": [2], "u:0": [1]}
    assert replay([*entries, {"seq": 6, "voter": "u:0", "choice": []}]) == {"u:1": [2]}


@given(st.fractions(min_value=0, max_value=10**7, max_denominator=10**6))
def test_shown_areas_never_cross_what_they_stand_for(value):
    """What was reached is never shown above itself, what is needed never below."""
    def shown(text):
        return Fraction(text.replace(",", ""))

    assert shown(m2(value)) <= value <= shown(m2(value, up=True))
    assert value - shown(m2(value)) < Fraction(1, 100)


@given(st.fractions(min_value=0, max_value=1, max_denominator=10**6))
def test_a_shown_share_is_never_above_the_share(share):
    assert Fraction(percent(share).removesuffix("%")) / 100 <= share
