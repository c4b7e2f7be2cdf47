from datetime import UTC, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.households import Household, Member, Relation
from bot.domain.polls import (
    Audience,
    Ballot,
    Outcome,
    Refusal,
    Scope,
    Weighting,
    eligibility,
    majority,
    plurality,
    tally,
    valid_choice,
)
from bot.domain.units import UnitAddress

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_deadlines_as_typed():
    assert parse_deadline("3d", NOW, "Asia/Shanghai") == NOW + timedelta(days=3)
    assert parse_deadline("12h", NOW, "Asia/Shanghai") == NOW + timedelta(hours=12)
    assert parse_deadline("1w", NOW, "Asia/Shanghai") == NOW + timedelta(weeks=1)
    assert parse_deadline("30m", NOW, "Asia/Shanghai") == NOW + timedelta(minutes=30)
    assert parse_deadline("2026-12-01 20:00", NOW, "Asia/Shanghai") == datetime(
        2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "code"), [
    ("5m", "too_soon"), ("9m", "too_soon"), ("61d", "too_far"), ("9w", "too_far"),
    ("some day", "unreadable"), ("2026-13-01 20:00", "unreadable"), ("下下下", "unreadable"),
    ("11月1日", "too_soon"), ("yesterday", "too_soon"),
    ("2026-11-23 09:00", "too_soon"),
])
def test_bad_deadlines(text, code):
    with pytest.raises(DeadlineError) as caught:
        parse_deadline(text, NOW, "Asia/Shanghai")
    assert caught.value.code == code


# NOW is Monday 23 November 2026, 10:00 in Shanghai; a day without a time means 20:00.
@pytest.mark.parametrize(("text", "local"), [
    ("3天", datetime(2026, 11, 26, 10, 0)),
    ("明天晚上8点", datetime(2026, 11, 24, 20, 0)),
    ("明天 18:30", datetime(2026, 11, 24, 18, 30)),
    ("下周五", datetime(2026, 12, 4, 20, 0)),
    ("周五下午3点", datetime(2026, 11, 27, 15, 0)),
    ("12月20日", datetime(2026, 12, 20, 20, 0)),
    ("12月20日 19:30", datetime(2026, 12, 20, 19, 30)),
    ("20/12", datetime(2026, 12, 20, 20, 0)),
    ("20/12 19:30", datetime(2026, 12, 20, 19, 30)),
    ("tomorrow 8pm", datetime(2026, 11, 24, 20, 0)),
    ("next friday", datetime(2026, 11, 27, 20, 0)),
    ("20 December", datetime(2026, 12, 20, 20, 0)),
    ("2026-12-01", datetime(2026, 12, 1, 20, 0)),
])
def test_deadlines_in_words(text, local):
    expected = local.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    assert parse_deadline(text, NOW, "Asia/Shanghai") == expected


def test_a_day_without_a_time_takes_the_callers_time():
    assert parse_deadline("12月20日", NOW, "Asia/Shanghai", default_time=time(18, 0)) == \
        datetime(2026, 12, 20, 10, 0, tzinfo=UTC)


def test_the_limits_themselves_are_allowed():
    assert parse_deadline("10m", NOW, "Asia/Shanghai") == NOW + timedelta(minutes=10)
    assert parse_deadline("60d", NOW, "Asia/Shanghai") == NOW + timedelta(days=60)


def test_plurality_and_ties():
    assert plurality(tally([Ballot(choice=(0,)), Ballot(choice=(1,)), Ballot(choice=(1,))],
                           2, Weighting.PERSON, {})).winner == 1
    tie = plurality(tally([Ballot(choice=(0,)), Ballot(choice=(1,))], 2, Weighting.PERSON, {}))
    assert tie.outcome is Outcome.TIE
    assert plurality(tally([], 2, Weighting.PERSON, {})).outcome is Outcome.NO_VOTES


def test_majority_counts_abstentions_as_cast():
    ballots = [Ballot(choice=(0,)), Ballot(choice=(0,)), Ballot(choice=(2,)),
               Ballot(choice=(2,))]
    assert majority(tally(ballots, 3, Weighting.PERSON, {})).outcome is Outcome.NO_MAJORITY
    ballots.append(Ballot(choice=(0,)))
    assert majority(tally(ballots, 3, Weighting.PERSON, {})).winner == 0


def _home(uid, staircase, area, *members, voter=None):
    return Household(unit_id=uid, address=UnitAddress(building="3", staircase=staircase,
                                                      room=str(uid)),
                     area_m2=area, voter_id=voter,
                     members=tuple(Member(user_id=u, relation=r) for u, r in members))


def test_area_weighting_is_exact():
    homes = {1: _home(1, "1", 89.35), 2: _home(2, "1", 10.1)}
    result = tally([Ballot(choice=(0,), unit_id=1), Ballot(choice=(1,), unit_id=2)], 2,
                   Weighting.AREA, homes)
    assert result.weights == (Fraction(8935, 100), Fraction(101, 10))
    assert result.total_weight == Fraction(9945, 100)


def test_multiple_choice_maxima():
    assert valid_choice([0, 2], options=4, multiple=True, max_choices=2)
    assert not valid_choice([0, 1, 2], options=4, multiple=True, max_choices=2)
    assert not valid_choice([0, 1], options=4, multiple=False, max_choices=1)
    assert not valid_choice([4], options=4, multiple=False, max_choices=1)
    assert not valid_choice([1, 1], options=4, multiple=True, max_choices=3)
    assert not valid_choice([], options=4, multiple=True, max_choices=3)


OWNER, TENANT, FAMILY = Relation.OWNER, Relation.TENANT, Relation.FAMILY


def test_eligibility():
    home = _home(1, "1", 90, (10, OWNER), (11, FAMILY), (12, TENANT))
    other_staircase = _home(2, "2", 80, (20, OWNER))
    kw = {"is_member": True, "household_voters": {}, "counts_units": True}
    assert eligibility(Audience.MEMBERS, Scope(), user_id=99, households=[],
                       is_member=True, household_voters={}, counts_units=False).allowed
    assert eligibility(Audience.VERIFIED, Scope(), user_id=99, households=[], **kw).refusal \
        is Refusal.NOT_VERIFIED
    assert eligibility(Audience.OWNERS, Scope(), user_id=12, households=[home], **kw).refusal \
        is Refusal.NOT_OWNER
    assert eligibility(Audience.OWNERS, Scope(), user_id=10, households=[home],
                       **kw).unit_id == 1
    assert eligibility(Audience.VERIFIED, Scope(building="3", staircase="1"), user_id=20,
                       households=[other_staircase], **kw).refusal is Refusal.OUT_OF_SCOPE
    # One vote per household: the second member is refused, the first may change theirs.
    voted = {"is_member": True, "household_voters": {1: 11}, "counts_units": True}
    assert eligibility(Audience.HOUSEHOLDS, Scope(), user_id=12, households=[home],
                       **voted).refusal is Refusal.HOUSEHOLD_VOTED
    assert eligibility(Audience.HOUSEHOLDS, Scope(), user_id=11, households=[home],
                       **voted).allowed
    # A household with a chosen voter: only they vote for it.
    chosen = _home(1, "1", 90, (10, OWNER), (13, OWNER), voter=13)
    assert eligibility(Audience.OWNERS, Scope(), user_id=10, households=[chosen],
                       **kw).refusal is Refusal.NAMED_VOTER
    assert eligibility(Audience.MEMBERS, Scope(), user_id=1, households=[], is_member=False,
                       household_voters={}).refusal is Refusal.NOT_MEMBER


def _poll(**overrides):
    from bot.domain.polls import Poll, PollStatus, Rule

    values = dict(id=1, community_id=1, number=1, question="Q?", options=["A", "B", "C"],
                  multiple=True, max_choices=2, deadline=NOW, audience=Audience.VERIFIED,
                  scope_building=None, scope_staircase=None, weighting=Weighting.PERSON,
                  rule=Rule.PLURALITY, live_results=True, status=PollStatus.OPEN,
                  topic_id=None, created_by=1, created_at=NOW, closed_at=None, reason=None,
                  result=None, post_chat_id=None, post_message_id=None)
    values.update(overrides)
    return Poll(**values)


def test_pressing_toggles_multiple_choice_within_the_maximum():
    from bot.domain.polls import next_choice

    poll = _poll()
    assert next_choice(poll, None, 1) == [1]
    assert next_choice(poll, [1], 0) == [0, 1]
    assert next_choice(poll, [0, 1], 2) is None  # a third would exceed the maximum
    assert next_choice(poll, [0, 1], 1) == [0]
    assert next_choice(poll, [0], 0) == []  # withdrawn
    assert next_choice(_poll(multiple=False, max_choices=1), [0], 2) == [2]


def test_what_a_poll_decided():
    from bot.domain.polls import Outcome, Rule, Verdict, decision_title

    assert decision_title(_poll(), Verdict(outcome=Outcome.WON, winner=2)) == "Q? — C"
    assert decision_title(_poll(), Verdict(outcome=Outcome.TIE)) is None
    civil = _poll(rule=Rule.CIVIL_MAJOR)
    assert decision_title(civil, Verdict(outcome=Outcome.PASSED)) == "Q?"
    assert decision_title(civil, Verdict(outcome=Outcome.NO_QUORUM)) is None


def test_how_long_a_poll_may_stay_open():
    from bot.domain.polls import OPEN_AT_LEAST, OPEN_AT_MOST, deadline_refusal

    assert deadline_refusal(NOW + OPEN_AT_LEAST, now=NOW) is None
    assert deadline_refusal(NOW + OPEN_AT_LEAST - timedelta(seconds=1), now=NOW) == "too_soon"
    assert deadline_refusal(NOW + OPEN_AT_MOST, now=NOW) is None
    assert deadline_refusal(NOW + OPEN_AT_MOST + timedelta(seconds=1), now=NOW) == "too_far"
    # Extensions count from when the poll was made.
    made = NOW - timedelta(days=59)
    assert deadline_refusal(NOW + timedelta(days=1), now=NOW, created_at=made) is None
    assert deadline_refusal(NOW + timedelta(days=2), now=NOW, created_at=made) == "too_far"
