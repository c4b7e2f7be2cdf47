"""Who may vote, checked whole: allowed or not, for which household, and why not."""

from datetime import UTC, time
from fractions import Fraction

import pytest

from bot.domain.chain import canonical
from bot.domain.households import Household, Member, Relation
from bot.domain.polls import (
    Audience,
    Ballot,
    CivilFigures,
    Eligibility,
    Outcome,
    Refusal,
    Scope,
    Weighting,
    civil_code,
    eligibility,
    tally,
)
from bot.domain.quiet_hours import QuietHours
from bot.domain.units import UnitAddress

ALL = Scope()


def home(uid, *members, building="3", voter=None, area_m2=None):
    return Household(unit_id=uid, address=UnitAddress(building=building, staircase="1",
                                                      room=str(100 + uid)),
                     area_m2=area_m2, voter_id=voter,
                     members=tuple(Member(user_id=u, relation=r) for u, r in members))


OWNER, FAMILY, TENANT = Relation.OWNER, Relation.FAMILY, Relation.TENANT


def who(audience, user_id=1, *, households=(), voted=None, member=True, scope=ALL,
        counts_units=None):
    if counts_units is None:
        counts_units = audience in (Audience.HOUSEHOLDS, Audience.OWNERS)
    return eligibility(audience, scope, user_id=user_id, is_member=member,
                       households=list(households), household_voters=voted or {},
                       counts_units=counts_units)


def test_someone_who_left_the_group_may_not_vote_at_all():
    assert who(Audience.MEMBERS, member=False) == Eligibility(False,
                                                              refusal=Refusal.NOT_MEMBER)


def test_anyone_in_the_group_votes_for_no_household():
    assert who(Audience.MEMBERS) == Eligibility(True)
    # ... unless the poll weighs households: then a household is needed to weigh.
    assert who(Audience.MEMBERS, counts_units=True) == Eligibility(
        False, refusal=Refusal.NOT_VERIFIED)


@pytest.mark.parametrize("audience", [Audience.VERIFIED, Audience.HOUSEHOLDS, Audience.OWNERS])
def test_someone_not_on_the_roster_is_told_so(audience):
    assert who(audience) == Eligibility(False, refusal=Refusal.NOT_VERIFIED)


def test_out_of_scope_and_verified():
    homes = [home(7, (1, TENANT), building="4"), home(8, (1, FAMILY))]
    assert who(Audience.VERIFIED, households=homes[:1], scope=Scope(building="3")) == \
        Eligibility(False, refusal=Refusal.OUT_OF_SCOPE)
    assert who(Audience.VERIFIED, households=homes, scope=Scope(building="3")) == \
        Eligibility(True)
    # Each household counts once: the ballot speaks for the person's households in scope.
    assert who(Audience.VERIFIED, households=homes, scope=Scope(building="3"),
               counts_units=True) == Eligibility(True, unit_ids=(8,))


def test_owners_only():
    family = [home(5, (9, OWNER), (1, FAMILY))]
    assert who(Audience.OWNERS, households=family) == Eligibility(False,
                                                                  refusal=Refusal.NOT_OWNER)
    own = [home(5, (1, OWNER))]
    assert who(Audience.OWNERS, households=own) == Eligibility(True, unit_ids=(5,))


def test_an_owner_of_two_flats_votes_once_for_both():
    two = [home(5, (1, OWNER)), home(6, (1, OWNER))]
    assert who(Audience.OWNERS, households=two) == Eligibility(True, unit_ids=(5, 6))
    assert who(Audience.OWNERS, households=two, voted={5: 1}) == Eligibility(
        True, unit_ids=(5, 6))
    # A co-owner voted for one of them: the press speaks for the other.
    assert who(Audience.OWNERS, households=two, voted={5: 2}) == Eligibility(
        True, unit_ids=(6,))
    assert who(Audience.OWNERS, households=two, voted={5: 2, 6: 3}) == \
        Eligibility(False, refusal=Refusal.HOUSEHOLD_VOTED, refused_unit=5)


def test_a_household_that_named_its_voter():
    named = [home(5, (1, OWNER), (2, OWNER), voter=2)]
    # The refusal says what is true: nobody voted yet, another owner votes for it.
    assert who(Audience.HOUSEHOLDS, 1, households=named) == \
        Eligibility(False, refusal=Refusal.NAMED_VOTER, refused_unit=5)
    assert who(Audience.HOUSEHOLDS, 2, households=named) == Eligibility(True, unit_ids=(5,))
    # A named voter who is no longer an owner names nobody: any member may vote.
    stale = [home(5, (1, OWNER), (2, FAMILY), voter=2)]
    assert who(Audience.HOUSEHOLDS, 1, households=stale) == Eligibility(True, unit_ids=(5,))


def test_one_vote_per_household():
    shared = [home(5, (1, OWNER), (2, FAMILY))]
    assert who(Audience.HOUSEHOLDS, 2, households=shared, voted={5: 1}) == \
        Eligibility(False, refusal=Refusal.HOUSEHOLD_VOTED, refused_unit=5)
    assert who(Audience.HOUSEHOLDS, 1, households=shared, voted={5: 1}) == \
        Eligibility(True, unit_ids=(5,))
    # A paper ballot stands for the household: its members are told so.
    assert who(Audience.HOUSEHOLDS, 1, households=shared, voted={5: None}) == \
        Eligibility(False, refusal=Refusal.PAPER_VOTED, refused_unit=5)


def figures(total_area=300, total_owners=30, voting_area=200, voting_owners=20,
            yes_area=101, yes_owners=11):
    return CivilFigures(total_area=Fraction(total_area), total_owners=total_owners,
                        voting_area=Fraction(voting_area), voting_owners=voting_owners,
                        yes_area=Fraction(yes_area), yes_owners=yes_owners)


def test_the_civil_code_with_a_single_owner_and_nobody_voting():
    one = civil_code(figures(total_owners=1, voting_owners=1, yes_owners=1), major=False)
    assert one.quorum_owners is True and one.outcome is Outcome.PASSED
    nobody = civil_code(figures(total_area=0, total_owners=0, voting_area=0, voting_owners=0,
                                yes_area=0, yes_owners=0), major=True)
    assert nobody.outcome is Outcome.NO_QUORUM
    assert (nobody.quorum_area, nobody.quorum_owners) == (False, False)
    assert (nobody.approved_area, nobody.approved_owners) == (False, False)
    assert nobody.area_turnout is None and nobody.owner_approval is None


def test_a_tally_by_area_counts_a_unit_without_an_area_as_nothing():
    homes = {5: home(5, (1, OWNER), area_m2=89.35), 6: home(6, (2, OWNER))}
    got = tally([Ballot(choice=(0,), unit_id=5), Ballot(choice=(1,), unit_id=6),
                 Ballot(choice=(1,))], 2, Weighting.AREA, homes)
    assert got.ballots == 3 and got.votes == (1, 2)
    assert got.weights == (Fraction(8935, 100), Fraction(0))
    assert got.total_weight == Fraction(8935, 100)
    several = tally([Ballot(choice=(0, 1))], 2, Weighting.PERSON, {})
    assert several.votes == (1, 1) and several.total_weight == 1


def test_the_vote_logs_canonical_form_is_fixed():
    assert canonical({"b": 1, "a": "业主"}) == '{"a":"业主","b":1}'


@pytest.mark.parametrize("text", ["24:00-07:00", "22:00-24:00", "22:60-07:00", "22:00-07:60",
                                  "22:00-22:00", "2200-0700", "22:00"])
def test_quiet_hours_that_cannot_be(text):
    with pytest.raises(ValueError):
        QuietHours.parse(text)


@pytest.mark.parametrize("text", ["23:00-07:00", "00:00-06:00", "22:59-23:59", "off"])
def test_quiet_hours_at_the_edges(text):
    assert str(QuietHours.parse(text)) == text


@pytest.mark.parametrize(("text", "why"), [
    ("24:00-07:00", "is not a time of day"), ("22:00-24:00", "is not a time of day"),
    ("22:60-07:00", "is not a time of day"), ("22:00-07:60", "is not a time of day"),
    ("22:00-22:00", "must not start and end at the same minute"),
    ("22-07", "expected HH:MM-HH:MM"),
])
def test_quiet_hours_say_what_is_wrong(text, why):
    with pytest.raises(ValueError, match=why):
        QuietHours.parse(text)


def test_quiet_hours_include_their_first_minute_and_not_their_last():
    night = QuietHours.parse("00:00-06:00")
    assert night.contains(time(0, 0)) and night.contains(time(5, 59, 59))
    assert not night.contains(time(6, 0)) and not night.contains(time(23, 59))
    crossing = QuietHours.parse("22:00-07:00")
    assert crossing.contains(time(22, 0)) and crossing.contains(time(6, 59))
    assert not crossing.contains(time(7, 0)) and not crossing.contains(time(21, 59, 59))
    # A wall-clock time that carries its zone is read as wall-clock time.
    assert crossing.contains(time(23, 0, tzinfo=UTC))
    assert not QuietHours.parse("off").contains(time(23, 0))


def test_a_reminder_goes_to_whoever_could_vote_now_and_has_not():
    from bot.domain.polls import still_to_vote

    roster = [home(5, (1, OWNER), (2, FAMILY)), home(6, (3, OWNER), (4, TENANT)),
              home(7, (5, OWNER), building="4"), home(8, (6, OWNER), (7, OWNER), voter=7)]

    def reminded(audience, *, voted=(), household_voters=None, members=(1, 2, 3, 9),
                 scope=ALL):
        return still_to_vote(audience, scope, roster=roster, members=members, voted=voted,
                             household_voters=household_voters or {},
                             counts_units=audience in (Audience.HOUSEHOLDS, Audience.OWNERS))

    # Anyone in the group: the group's members, whatever the roster says.
    assert reminded(Audience.MEMBERS) == [1, 2, 3, 9]
    assert reminded(Audience.MEMBERS, voted=[9, 2]) == [1, 3]
    # Residents on the roster, in scope.
    assert reminded(Audience.VERIFIED) == [1, 2, 3, 4, 5, 6, 7]
    assert reminded(Audience.VERIFIED, scope=Scope(building="4")) == [5]
    # Owners only: family and tenants are not reminded; a household that named its
    # voter reminds only them.
    assert reminded(Audience.OWNERS) == [1, 3, 5, 7]
    # Once someone voted for a household, nobody else in it is reminded; nor anyone in a
    # household with a paper ballot.
    assert reminded(Audience.HOUSEHOLDS, voted=[2], household_voters={5: 2}) == [3, 4, 5, 7]
    assert reminded(Audience.HOUSEHOLDS, household_voters={5: None, 6: None}) == [5, 7]


def test_the_vote_log_is_broken_by_a_changed_number_or_a_rehashed_entry():
    from bot.domain.chain import GENESIS, Link, link, verify

    links, previous = [], GENESIS
    for seq in range(1, 4):
        entry = {"seq": seq, "voter": f"u:{seq}", "choice": [0]}
        digest = link(previous, entry)
        links.append(Link(seq=seq, entry=entry, prev_hash=previous, hash=digest))
        previous = digest
    assert verify(links).model_dump() == {"intact": True, "entries": 3, "broken_at": None}
    # The same entry under another number; an entry whose hash was recomputed over an
    # edit (its successor's link no longer matches).
    renumbered = [links[0], links[1].model_copy(update={"seq": 7}), links[2]]
    assert verify(renumbered).model_dump() == {"intact": False, "entries": 3, "broken_at": 2}
    edited = {"seq": 2, "voter": "u:2", "choice": [1]}
    rehashed = links[1].model_copy(update={"entry": edited,
                                           "hash": link(links[0].hash, edited)})
    assert verify([links[0], rehashed, links[2]]).model_dump() == {
        "intact": False, "entries": 3, "broken_at": 3}
    assert verify([]).model_dump() == {"intact": True, "entries": 0, "broken_at": None}


def test_a_majority_of_no_votes_is_no_votes():
    from bot.domain.polls import majority

    assert majority(tally([], 3, Weighting.PERSON, {})).outcome is Outcome.NO_VOTES
    assert majority(tally([Ballot(choice=(1,))], 3, Weighting.PERSON, {})).winner == 1
