"""The small rules on the domain's records: when a group's quiet hours end, which
language a person is written to in, which reports a handler handles."""

from datetime import UTC, datetime

from bot.domain.models import Community, Membership, Person, Role
from bot.domain.quiet_hours import QuietHours


def group(quiet="22:00-07:30", zone="Asia/Shanghai"):
    return Community(id=1, chat_id=-100, title="Elm House", language="zh", timezone=zone,
                     quiet_hours=QuietHours.parse(quiet),
                     created_at=datetime(2026, 11, 1, tzinfo=UTC))


def test_quiet_hours_end_in_the_groups_own_time_zone():
    # 23:00 in Shanghai is 15:00 UTC; the quiet hours end at 07:30 there, 23:30 UTC.
    assert group().quiet_until(datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) == \
        datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert group().quiet_until(datetime(2026, 11, 23, 23, 30, tzinfo=UTC)) is None
    assert group().quiet_until(datetime(2026, 11, 23, 4, 0, tzinfo=UTC)) is None
    # The same instant is daytime in Berlin.
    assert group(zone="Europe/Berlin").quiet_until(
        datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) is None
    assert group(quiet="off").quiet_until(datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) is None


def test_a_person_is_written_to_in_their_chosen_language_first():
    assert Person(user_id=1, name="Ann", language="en", app_language="zh").reads("zh") == "en"
    assert Person(user_id=1, name="Ann", app_language="en").reads("zh") == "en"
    assert Person(user_id=1, name="Ann").reads("zh") == "zh"


def test_a_handler_handles_their_categories_or_all():
    assert Membership(community_id=1, user_id=1, role=Role.HANDLER).handles("lift")
    assert Membership(community_id=1, user_id=1, role=Role.HANDLER,
                      categories=[]).handles("lift")
    some = Membership(community_id=1, user_id=1, role=Role.HANDLER, categories=["water"])
    assert some.handles("water") and not some.handles("lift")
    assert not Membership(community_id=1, user_id=1, role=Role.MODERATOR).handles("lift")
