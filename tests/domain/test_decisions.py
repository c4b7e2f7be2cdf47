"""Decisions: where progress leaves one, its bar, its reference, its place in the list."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from bot.domain.decisions import (
    Decision,
    DecisionStatus,
    after_progress,
    average,
    can_move,
    listing_order,
    parse_reference,
    progress_bar,
    reference,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
S = DecisionStatus


def decision(number, status=S.PLANNED, due=None, progress=0):
    return Decision(id=number, community_id=1, number=number, title=f"D{number}",
                    poll_id=None, topic_id=None, status=status, owner_id=None, due_at=due,
                    progress=progress, reason=None, created_at=NOW, updated_at=NOW,
                    done_at=None)


@pytest.mark.parametrize(("current", "percent", "after"), [
    (S.PLANNED, 0, S.PLANNED),
    (S.PLANNED, 1, S.IN_PROGRESS),
    (S.PLANNED, 99, S.IN_PROGRESS),
    (S.PLANNED, 100, S.DONE),
    (S.IN_PROGRESS, 100, S.DONE),
    (S.IN_PROGRESS, 0, S.IN_PROGRESS),
    (S.BLOCKED, 0, S.IN_PROGRESS),  # an update on a blocked decision unblocks it
    (S.BLOCKED, 100, S.DONE),
    (S.DONE, 50, S.DONE),
    (S.CANCELLED, 100, S.CANCELLED),
])
def test_where_progress_leaves_a_decision(current, percent, after):
    assert after_progress(current, percent) is after


def test_the_moves_a_decision_can_make():
    assert can_move(S.PLANNED, S.BLOCKED) and can_move(S.BLOCKED, S.IN_PROGRESS)
    assert can_move(S.IN_PROGRESS, S.DONE)
    assert not can_move(S.IN_PROGRESS, S.PLANNED)
    assert not can_move(S.DONE, S.IN_PROGRESS) and not can_move(S.CANCELLED, S.PLANNED)


@pytest.mark.parametrize(("percent", "bar"), [
    (0, "░░░░░░░░░░ 0%"), (40, "▓▓▓▓░░░░░░ 40%"), (44, "▓▓▓▓░░░░░░ 44%"), (5, "░░░░░░░░░░ 5%"),
    (6, "▓░░░░░░░░░ 6%"),
    (46, "▓▓▓▓▓░░░░░ 46%"), (100, "▓▓▓▓▓▓▓▓▓▓ 100%"), (130, "▓▓▓▓▓▓▓▓▓▓ 100%"),
    (-5, "░░░░░░░░░░ 0%"),
])
def test_the_progress_bar(percent, bar):
    assert progress_bar(percent) == bar


def test_a_narrower_bar():
    assert progress_bar(50, width=4) == "▓▓░░ 50%"


@pytest.mark.parametrize(("text", "number"), [
    ("D-3", 3), ("d3", 3), (" 3 ", 3), ("d-12", 12), ("999999", 999999),
    ("D-0", None), ("1000000", None), ("D-", None), ("R-3", None), ("D-3a", None),
    ("-3", 3), ("", None),
])
def test_a_reference_is_read_as_people_type_it(text, number):
    assert parse_reference(text) == number


def test_the_reference_is_written_one_way():
    assert reference(7) == "D-7"
    assert decision(7).ref == "D-7"


def test_the_average_rating_is_exact():
    assert average([4, 5]) == Fraction(9, 2)
    assert average([]) is None


def test_overdue_is_open_and_past_its_due_date():
    assert decision(1, due=NOW).overdue(NOW)
    assert not decision(1, due=NOW + timedelta(seconds=1)).overdue(NOW)
    assert not decision(1).overdue(NOW)
    assert not decision(1, S.DONE, due=NOW - timedelta(days=1)).overdue(NOW)
    assert decision(1, S.BLOCKED, due=NOW - timedelta(days=1)).overdue(NOW)


def test_the_list_shows_overdue_first_then_open_by_due_date_then_the_finished():
    late = decision(5, S.IN_PROGRESS, due=NOW - timedelta(days=1))
    later = decision(6, S.PLANNED, due=NOW - timedelta(hours=1))
    soon = decision(2, S.PLANNED, due=NOW + timedelta(days=1))
    someday = decision(1, S.PLANNED)
    undated = decision(3, S.BLOCKED)
    done = decision(4, S.DONE, due=NOW - timedelta(days=30))
    cancelled = decision(0, S.CANCELLED)
    ordered = listing_order([done, undated, someday, soon, later, late, cancelled], NOW)
    assert [d.number for d in ordered] == [5, 6, 2, 1, 3, 4, 0]
