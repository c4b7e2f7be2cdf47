"""The survey rules: who a person's answer counts for, the tally and its trend, the
handlers' record, the subjects of a round and when the next opens."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from bot.domain.surveys import (
    ReportTimes,
    SubjectResult,
    every,
    handler_records,
    household_for,
    next_round_at,
    subjects_for,
    tally,
)

T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


def test_an_answer_counts_for_the_first_household_still_to_answer():
    assert household_for([12, 7], [], False) == 7
    assert household_for([12, 7], [7], False) == 12  # an owner of two flats: the other one
    assert household_for([7], [7], False) is None  # a family member after the other answered
    assert household_for([12, 7], [], True) is None  # one answer per person, whatever they own
    assert household_for([], [], False) is None  # not on the roster


def test_the_tally_counts_stars_and_the_trend_compares_means():
    now, before = tally(["committee", "property"], {("committee", 5): 2, ("committee", 2): 1,
                                                    ("property", 3): 1}), \
        SubjectResult(subject="committee", counts=(0, 1, 1, 0, 0))
    committee, property_ = now
    assert committee.counts == (0, 1, 0, 0, 2) and committee.answers == 3
    assert committee.mean == Fraction(12, 3)
    assert committee.change_from(before) == Fraction(4) - Fraction(5, 2)
    assert committee.change_from(None) is None
    assert SubjectResult(subject="x").mean is None
    assert SubjectResult(subject="x").change_from(before) is None
    assert property_.mean == 3


def test_the_handlers_record_averages_over_reports_that_got_there():
    records = handler_records([
        ReportTimes(category="lift", filed=T0, acknowledged=T0 + timedelta(hours=2),
                    resolved=T0 + timedelta(hours=10), stars=[4]),
        ReportTimes(category="lift", filed=T0, acknowledged=T0 + timedelta(hours=5)),
        ReportTimes(category="water", filed=T0, stars=[2, 3]),
    ])
    lift, water = records["lift"], records["water"]
    assert (lift.reports, lift.hours_to_acknowledge, lift.hours_to_resolve) == (2, 3.5, 10.0)
    assert (lift.rating, lift.ratings) == (4, 1)
    assert (water.hours_to_acknowledge, water.hours_to_resolve) == (None, None)
    assert water.rating == Fraction(5, 2)


def test_subjects_follow_the_configured_order_of_the_categories_used():
    assert subjects_for(["water", "lift", "unknown"], ["lift", "water", "parking"]) == [
        "committee", "property", "cat:lift", "cat:water"]
    assert subjects_for([], ["lift"]) == ["committee", "property"]


def test_rounds_come_every_few_months_after_the_last_or_after_joining():
    assert every(None) == 3 and every(0) == 0 and every(6) == 6
    assert next_round_at(None, T0, 3) == T0 + timedelta(days=91)
    assert next_round_at(T0 + timedelta(days=10), T0, 1) == T0 + timedelta(days=40)
