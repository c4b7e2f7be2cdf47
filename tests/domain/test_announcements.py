"""Announcement schedules: what people type, the cron expression, the next run."""

from datetime import UTC, datetime, time

import pytest

from bot.domain.announcements import Repeat, from_cron, next_run, parse_repeat, to_cron


@pytest.mark.parametrize(("repeat", "typed", "cron"), [
    (Repeat.DAILY, "08:00", "0 8 * * *"),
    (Repeat.DAILY, "7:05", "5 7 * * *"),
    (Repeat.WEEKLY, "mon 08:00", "0 8 * * 1"),
    (Repeat.WEEKLY, "周日 20:30", "30 20 * * 0"),
    (Repeat.WEEKLY, "Saturday 09:00", "0 9 * * 6"),
    (Repeat.MONTHLY, "1 09:00", "0 9 1 * *"),
    (Repeat.MONTHLY, "28 18:00", "0 18 28 * *"),
])
def test_typed_schedules_become_cron_and_back(repeat, typed, cron):
    schedule = parse_repeat(repeat, typed)
    assert schedule is not None and to_cron(schedule) == cron
    assert from_cron(cron) == schedule


@pytest.mark.parametrize(("repeat", "typed"), [
    (Repeat.DAILY, "25:00"), (Repeat.DAILY, "8"), (Repeat.WEEKLY, "someday 08:00"),
    (Repeat.WEEKLY, "mon"), (Repeat.MONTHLY, "31 09:00"), (Repeat.MONTHLY, "0 09:00"),
    (Repeat.MONTHLY, "1 9:60"),
])
def test_unreadable_schedules_are_refused(repeat, typed):
    assert parse_repeat(repeat, typed) is None


def test_next_run_counts_in_the_groups_time_zone():
    sunday_evening = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    monday_8 = next_run("0 8 * * 1", "Asia/Shanghai", sunday_evening)
    assert monday_8 == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert next_run("0 8 * * 1", "Asia/Shanghai", monday_8) == datetime(2026, 11, 30, 0, 0,
                                                                        tzinfo=UTC)
    # Berlin leaves summer time on 2026-10-25: 08:00 local moves from 06:00 to 07:00 UTC.
    assert next_run("0 8 * * *", "Europe/Berlin", datetime(2026, 10, 24, 7, 0, tzinfo=UTC)) \
        == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert from_cron("0 8 * * 1").at == time(8, 0)
