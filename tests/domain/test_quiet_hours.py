from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.quiet_hours import QuietHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_parse_and_render():
    window = QuietHours.parse("22:00-07:30")
    assert (window.start, window.end) == (time(22, 0), time(7, 30))
    assert str(window) == "22:00-07:30"
    assert str(QuietHours.parse(" 9:05 - 17:00 ")) == "09:05-17:00"


@pytest.mark.parametrize("text", ["off", "", "none", "OFF"])
def test_off(text):
    window = QuietHours.parse(text)
    assert not window.enabled
    assert str(window) == "off"
    assert not window.contains(time(3, 0))


@pytest.mark.parametrize("text", ["22-07", "24:00-07:00", "22:00-07:60", "22:00-22:00",
                                  "ten to seven", "22:00~07:00"])
def test_rejects_malformed(text):
    with pytest.raises(ValueError):
        QuietHours.parse(text)


def test_window_across_midnight():
    window = QuietHours.parse("22:00-07:30")
    assert window.contains(time(22, 0))
    assert window.contains(time(23, 59))
    assert window.contains(time(0, 0))
    assert window.contains(time(7, 29))
    assert not window.contains(time(7, 30))
    assert not window.contains(time(12, 0))
    assert not window.contains(time(21, 59))


def test_window_within_a_day():
    window = QuietHours.parse("12:00-14:00")
    assert window.contains(time(13, 0))
    assert not window.contains(time(14, 0))
    assert not window.contains(time(11, 59))


def test_is_quiet_uses_the_group_zone():
    window = QuietHours.parse("22:00-07:30")
    # 15:00 UTC is 23:00 in Shanghai but 16:00 in Berlin (winter).
    instant = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert window.is_quiet(instant, SHANGHAI)
    assert not window.is_quiet(instant, BERLIN)


def test_next_allowed_is_the_end_of_the_window():
    window = QuietHours.parse("22:00-07:30")
    late = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 Shanghai
    assert window.next_allowed(late, SHANGHAI) == datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    early = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 04:00 Shanghai next day
    assert window.next_allowed(early, SHANGHAI) == datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    daytime = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert window.next_allowed(daytime, SHANGHAI) == daytime


def test_next_allowed_across_a_dst_change():
    window = QuietHours.parse("01:00-04:00")
    # Berlin leaves summer time on 25 October 2026 at 03:00 local.
    instant = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST
    allowed = window.next_allowed(instant, BERLIN)
    assert allowed.astimezone(BERLIN).time() == time(4, 0)
    assert allowed == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)


@given(
    start=st.times(), end=st.times(),
    instant=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                         timezones=st.just(UTC)),
    zone=st.sampled_from([SHANGHAI, BERLIN, ZoneInfo("America/New_York")]),
)
def test_next_allowed_is_never_quiet_and_never_early(start, end, instant, zone):
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    if start == end:
        return
    window = QuietHours(start=start, end=end)
    allowed = window.next_allowed(instant, zone)
    assert allowed >= instant
    assert allowed - instant <= timedelta(days=1, hours=1)
    assert not window.is_quiet(allowed, zone)
