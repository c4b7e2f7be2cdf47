"""A poll's whole count: the verdict under each rule, the turnout shown beside it, the
frozen record of a closed poll, the choice a press leaves, and the decision it makes."""

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from bot.domain.households import Household, Member, Relation
from bot.domain.polls import (
    Audience,
    Ballot,
    Outcome,
    Poll,
    PollStatus,
    Rule,
    Verdict,
    Weighting,
    decision_title,
    freeze,
    next_choice,
    percent,
    thaw_tally,
    thaw_turnout,
    thaw_verdict,
    turnout,
    verdict,
)
from bot.domain.units import UnitAddress

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def unit(uid, area_m2, *owners, building="3", staircase="1"):
    return Household(unit_id=uid, address=UnitAddress(building=building, staircase=staircase,
                                                      room=str(100 + uid)),
                     area_m2=area_m2,
                     members=tuple(Member(user_id=o, relation=Relation.OWNER) for o in owners))


def poll(rule=Rule.PLURALITY, audience=Audience.VERIFIED, weighting=Weighting.PERSON,
         options=("Yes", "No", "Abstain"), multiple=False, max_choices=1, building=None,
         question="Add an elevator?"):
    return Poll(id=1, community_id=1, number=1, question=question, options=list(options),
                multiple=multiple, max_choices=max_choices, deadline=NOW, audience=audience,
                scope_building=building, scope_staircase=None, weighting=weighting, rule=rule,
                live_results=True, status=PollStatus.OPEN, topic_id=None, created_by=None,
                created_at=NOW, closed_at=None, reason=None, result=None, post_chat_id=None,
                post_message_id=None)


ROSTER = [unit(1, 90, 11), unit(2, 80, 12), unit(3, 70, 13), unit(4, 60),  # 4: no owner known
          unit(5, 100, 15, building="4")]


def civil(rule=Rule.CIVIL_ORDINARY, building="3"):
    return poll(rule=rule, audience=Audience.OWNERS, weighting=Weighting.AREA, building=building)


def test_plurality_majority_and_ties():
    ballots = [Ballot(choice=(0,)), Ballot(choice=(0,)), Ballot(choice=(1,))]
    result, meaning = verdict(poll(), ballots, ROSTER)
    assert result.votes == (2, 1, 0) and meaning.outcome is Outcome.WON and meaning.winner == 0
    _r, meaning = verdict(poll(rule=Rule.MAJORITY), ballots, ROSTER)
    assert (meaning.outcome, meaning.winner) == (Outcome.WON, 0)
    split = [Ballot(choice=(0,)), Ballot(choice=(1,)), Ballot(choice=(2,))]
    _r, meaning = verdict(poll(rule=Rule.MAJORITY), split, ROSTER)
    assert meaning.outcome is Outcome.NO_MAJORITY
    _r, meaning = verdict(poll(), split, ROSTER)
    assert meaning.outcome is Outcome.TIE
    _r, meaning = verdict(poll(), [], ROSTER)
    assert meaning.outcome is Outcome.NO_VOTES


def test_a_civil_code_verdict_counts_the_roster_in_scope():
    # Staircase 3-1 has 300 m² and 3 known owners (unit 4's owner counts too: 4 owners).
    ballots = [Ballot(choice=(0,), unit_id=1), Ballot(choice=(0,), unit_id=2),
               Ballot(choice=(1,), unit_id=3), Ballot(choice=(0,), unit_id=5)]
    result, meaning = verdict(civil(), ballots, ROSTER)
    # Unit 5 is in building 4: its ballot weighs nothing here.
    assert result.weights[0] == 170 and result.total_weight == 240
    assert meaning.outcome is Outcome.PASSED
    assert meaning.area_turnout == Fraction(240, 300)
    assert meaning.owner_turnout == Fraction(3, 4)
    assert meaning.area_approval == Fraction(170, 240)
    _r, major = verdict(civil(Rule.CIVIL_MAJOR), ballots, ROSTER)
    assert major.outcome is Outcome.REJECTED  # 70.8% of the area is under 3/4
    _r, short = verdict(civil(), ballots[:2], ROSTER)
    assert short.outcome is Outcome.NO_QUORUM  # 170 of 300 m² is under 2/3


def test_turnout_beside_each_kind_of_poll():
    ballots = [Ballot(choice=(0,), unit_id=1), Ballot(choice=(1,), unit_id=2)]
    result, _m = verdict(civil(), ballots, ROSTER)
    shown = turnout(civil(), ROSTER, result, ballots)
    assert shown.civil and shown.ballots == 2
    assert (shown.area_share, shown.owner_share) == (Fraction(170, 300), Fraction(2, 4))
    households = poll(audience=Audience.HOUSEHOLDS, building="3")
    result, _m = verdict(households, ballots, ROSTER)
    assert turnout(households, ROSTER, result, ballots).model_dump() == {
        "ballots": 2, "units": 4, "people": None, "area_share": None, "owner_share": None,
        "civil": False, "total_area": None, "voting_area": None, "total_owners": None,
        "voting_owners": None}
    result, _m = verdict(poll(), ballots, ROSTER)
    assert turnout(poll(), ROSTER, result, ballots).model_dump() == {
        "ballots": 2, "units": None, "people": 4, "area_share": None, "owner_share": None,
        "civil": False, "total_area": None, "voting_area": None, "total_owners": None,
        "voting_owners": None}
    # Open to the whole group: nobody counts who is in it, so no share is claimed.
    members = poll(audience=Audience.MEMBERS)
    result, _m = verdict(members, ballots, ROSTER)
    assert turnout(members, ROSTER, result, ballots).people is None
    empty, _m = verdict(civil(), [], [])
    nobody = turnout(civil(), [], empty, [])
    assert (nobody.area_share, nobody.owner_share) == (None, None)


def test_a_closed_polls_count_is_kept_exactly_and_read_back_the_same():
    ballots = [Ballot(choice=(0,), unit_id=1), Ballot(choice=(0,), unit_id=2),
               Ballot(choice=(1,), unit_id=3)]
    result, meaning = verdict(civil(), ballots, ROSTER)
    shown = turnout(civil(), ROSTER, result, ballots)
    frozen = {"tally": freeze(result), "verdict": freeze(meaning), "turnout": freeze(shown)}
    assert frozen["verdict"]["outcome"] == "passed"
    assert frozen["verdict"]["area_approval"] == "17/24"
    assert frozen["tally"]["weights"] == ["170", "70", "0"]
    assert thaw_tally(frozen["tally"]) == result
    assert thaw_verdict(frozen["verdict"]) == meaning
    assert thaw_turnout(frozen["turnout"]) == shown
    plain = Verdict(outcome=Outcome.WON, winner=2)
    assert thaw_verdict(freeze(plain)) == plain


def test_a_press_sets_or_toggles_the_choice():
    assert next_choice(poll(), [1], 0) == [0]
    several = poll(multiple=True, max_choices=2)
    assert next_choice(several, None, 2) == [2]
    assert next_choice(several, [2], 0) == [0, 2]
    assert next_choice(several, [0, 2], 2) == [0]
    assert next_choice(several, [0, 2], 1) is None  # a third would be one too many


def test_the_decision_a_poll_makes_is_named_in_words():
    words = {"approved": "{question} — approved by the owners",
             "chosen": "{question} — decided: {option}"}
    assert decision_title(poll(), Verdict(outcome=Outcome.WON, winner=1), **words) == \
        "Add an elevator? — decided: No"
    assert decision_title(civil(), Verdict(outcome=Outcome.PASSED), **words) == \
        "Add an elevator? — approved by the owners"


def test_the_decision_a_poll_makes():
    assert decision_title(poll(), Verdict(outcome=Outcome.WON, winner=1)) == \
        "Add an elevator? — No"
    assert decision_title(poll(), Verdict(outcome=Outcome.TIE)) is None
    assert decision_title(poll(), Verdict(outcome=Outcome.WON)) is None
    assert decision_title(civil(), Verdict(outcome=Outcome.PASSED)) == "Add an elevator?"
    assert decision_title(civil(), Verdict(outcome=Outcome.REJECTED)) is None
    long = poll(question="x" * 299)
    assert len(decision_title(long, Verdict(outcome=Outcome.WON, winner=0))) == 300


@pytest.mark.parametrize(("share", "shown"), [
    (Fraction(2, 3), "66.66%"), (Fraction(1, 2), "50%"), (Fraction(1), "100%"),
    (Fraction(0), "0%"), (Fraction(1, 3), "33.33%"), (Fraction(1, 1000), "0.1%"), (None, "—"),
])
def test_percent_for_people(share, shown):
    assert percent(share) == shown


def test_who_counts_units():
    assert poll(audience=Audience.OWNERS).counts_units
    assert poll(weighting=Weighting.AREA).counts_units
    assert poll(weighting=Weighting.HOUSEHOLD).counts_units
    assert not poll().counts_units and poll().secret_allowed
    assert poll().ref == "P-1" and poll(building="3").scope.building == "3"
