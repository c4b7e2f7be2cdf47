from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.durations import next_weekly
from bot.domain.topics import (
    AWAITING_OUTCOME,
    LISTED,
    Ranked,
    TopicStatus,
    can_move,
    chinese_closeness,
    moves_into,
    rank,
    similar,
    week_start,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai


def test_the_life_of_a_topic():
    assert can_move(TopicStatus.PENDING, TopicStatus.OPEN)
    assert can_move(TopicStatus.OPEN, TopicStatus.SELECTED_VOTE)
    assert can_move(TopicStatus.SELECTED_MEETING, TopicStatus.DECIDED)
    assert not can_move(TopicStatus.PENDING, TopicStatus.SELECTED_VOTE)
    assert not can_move(TopicStatus.REJECTED, TopicStatus.OPEN)
    assert not can_move(TopicStatus.MERGED, TopicStatus.OPEN)
    assert not can_move(TopicStatus.OPEN, TopicStatus.OPEN)


def test_a_discussed_topic_waits_for_what_came_of_its_meeting():
    """Minutes that name a topic move it to "discussed" (from the list or from waiting for
    its meeting); from there it goes where a topic goes after a meeting, never back to
    being discussed by a button."""
    assert can_move(TopicStatus.OPEN, TopicStatus.DISCUSSED)
    assert can_move(TopicStatus.SELECTED_MEETING, TopicStatus.DISCUSSED)
    assert not can_move(TopicStatus.PENDING, TopicStatus.DISCUSSED)
    assert {s for s in TopicStatus if can_move(TopicStatus.DISCUSSED, s)} == {
        TopicStatus.DECIDED, TopicStatus.CLOSED, TopicStatus.OPEN, TopicStatus.SELECTED_VOTE}
    assert TopicStatus.DISCUSSED in moves_into(TopicStatus.SELECTED_VOTE)
    assert TopicStatus.DISCUSSED in LISTED and TopicStatus.DISCUSSED in AWAITING_OUTCOME


def test_ranking_by_support_then_newest_and_urgency_for_the_roundup():
    old = Ranked(id=1, supports=5, urgent=False, created_at=NOW - timedelta(days=3))
    new = Ranked(id=2, supports=5, urgent=False, created_at=NOW)
    top = Ranked(id=3, supports=9, urgent=False, created_at=NOW - timedelta(days=9))
    urgent = Ranked(id=4, supports=1, urgent=True, created_at=NOW)
    assert [t.id for t in rank([old, new, top, urgent])] == [3, 2, 1, 4]
    assert [t.id for t in rank([old, new, top, urgent], urgency_first=True)] == [4, 3, 2, 1]


@pytest.mark.parametrize(("title", "expected"), [
    ("Night parking in front of building 3", [1]),
    ("parking at night, building 3", [1]),
    ("地下车库夜间停车", [3]),
    ("Dog mess on the lawn", [2]),
    ("Broken lift", []),
])
def test_similar_titles(title, expected):
    candidates = [(1, "Parking at night in front of building 3"),
                  (2, "Dogs mess on the lawn by the gate"), (3, "地下车库夜间乱停车"),
                  (4, "Replace the mailboxes")]
    assert similar(title, candidates, threshold=70) == expected


def test_the_weekly_window_and_the_roundup_time():
    assert week_start(NOW, "Asia/Shanghai") == datetime(2026, 11, 23, 0, 0,
                                                        tzinfo=week_start(NOW, "Asia/Shanghai")
                                                        .tzinfo)
    assert week_start(NOW, "Asia/Shanghai").astimezone(UTC) == datetime(2026, 11, 22, 16, 0,
                                                                         tzinfo=UTC)
    nine = time(9, 0)
    # Next Monday 09:00 Shanghai = Monday 01:00 UTC.
    assert next_weekly(NOW, "Asia/Shanghai", "monday", nine) == datetime(
        2026, 11, 30, 1, 0, tzinfo=UTC)
    monday_nine = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert next_weekly(monday_nine, "Asia/Shanghai", "monday", nine) == datetime(
        2026, 12, 7, 1, 0, tzinfo=UTC)
    assert next_weekly(monday_nine - timedelta(minutes=1), "Asia/Shanghai", "monday",
                        nine) == monday_nine


# Real rewordings residents write, and titles that only share a common word.
CHINESE_TOPICS = [(1, "快递柜不够用"), (2, "晚上有人在消防通道停车"), (3, "电梯经常坏"),
                  (4, "楼道灯不亮"), (5, "增加电动车充电桩")]


@pytest.mark.parametrize(("title", "expected"), [
    ("楼下快递柜太少", [1]),
    ("消防通道夜间被车堵住", [2]),
    ("电梯老是出故障", [3]),
    ("楼道的灯坏了", [4]),
    ("充电桩太少了", [5]),
    ("垃圾桶太臭", []),
    ("小区门口太吵", []),
    ("电动车太多了", [5]),
    ("物业费太贵", []),
])
def test_similar_chinese_titles_by_their_words(title, expected):
    assert similar(title, CHINESE_TOPICS, threshold=70) == expected


def test_chinese_closeness_ignores_function_words():
    assert chinese_closeness("电梯太慢了", "电动车太多了") == 0
    assert chinese_closeness("快递柜不够用", "楼下快递柜太少") > 45


def test_the_support_threshold():
    from datetime import UTC, datetime

    from bot.domain.models import Community
    from bot.domain.quiet_hours import QuietHours
    from bot.domain.topics import Topic, reached_threshold
    when = datetime(2026, 12, 1, tzinfo=UTC)
    group = Community(id=1, chat_id=-1, title="Elm", language="zh", timezone="Asia/Shanghai",
                      quiet_hours=QuietHours(), created_at=when)
    topic = Topic(id=1, community_id=1, number=1, title="T", details="", category="other",
                  photo_file_id=None, author_id=None, anonymous=False,
                  status=TopicStatus.OPEN, urgent=False, reason=None, merged_into=None,
                  meeting_at=None, created_at=when, post_chat_id=None, post_message_id=None,
                  notices=[])
    assert not reached_threshold(group, topic, 500)  # off by default
    twenty = group.model_copy(update={"support_threshold": 20})
    assert not reached_threshold(twenty, topic, 19) and reached_threshold(twenty, topic, 20)
    voting = topic.model_copy(update={"status": TopicStatus.SELECTED_VOTE})
    assert not reached_threshold(twenty, voting, 30)  # already on its way
