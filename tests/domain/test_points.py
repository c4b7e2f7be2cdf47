import pytest
from pydantic import ValidationError

from bot.domain.points import (
    Action,
    DailyCaps,
    Level,
    Levels,
    PointsRules,
    initials,
    points_to_award,
    standing,
)

RULES, CAPS = PointsRules(), DailyCaps()


def test_the_seed_defaults():
    assert RULES.worth(Action.VOTE) == 5 and RULES.worth(Action.REPORT) == 3
    assert RULES.worth(Action.TOPIC_ADOPTED) == 20 and RULES.worth(Action.VOLUNTEER) == 10
    assert RULES.worth(Action.TOPIC_SUPPORTED) == 1 and RULES.worth(Action.NEIGHBOUR_HELP) == 2


def test_the_daily_cap_cuts_the_last_award_and_then_gives_nothing():
    assert points_to_award(RULES, CAPS, Action.VOTE, earned_today=0) == 5
    assert points_to_award(RULES, CAPS, Action.VOTE, earned_today=22) == 3
    assert points_to_award(RULES, CAPS, Action.VOTE, earned_today=25) == 0
    assert points_to_award(RULES, CAPS, Action.VOTE, earned_today=40) == 0


@pytest.mark.parametrize(("total", "level", "next_level", "missing"), [
    (0, Level.RESIDENT, Level.ACTIVE, 50), (49, Level.RESIDENT, Level.ACTIVE, 1),
    (50, Level.ACTIVE, Level.BACKBONE, 150), (999, Level.STAR, Level.HERO, 1),
    (1000, Level.HERO, None, None), (5000, Level.HERO, None, None),
])
def test_levels(total, level, next_level, missing):
    result = standing(Levels(), total)
    assert (result.level, result.next_level, result.points_to_next) == (level, next_level,
                                                                         missing)


def test_level_thresholds_must_increase():
    with pytest.raises(ValidationError):
        Levels(active=300, backbone=200)


def test_initials():
    assert initials("王芳") == "王*"
    assert initials("欧阳娜娜") == "欧**"
    assert initials("Alice Smith") == "A. S."
    assert initials("Bo") == "B."
    assert initials("") == "?"
