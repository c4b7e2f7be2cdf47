"""Announcements: once at a local time, or recurring as a cron expression in the group's
time zone (every day, every week on a weekday, every month on a day). The next run is
computed by croniter, never by hand."""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, ConfigDict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_WORDS = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                         "friday", "saturday", "sunday"))},
    **{f"周{c}": i for i, c in enumerate("一二三四五六日")},
    **{f"星期{c}": i for i, c in enumerate("一二三四五六日")},
    "周天": 6, "星期天": 6,
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class Repeat(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"
    DELETED = "deleted"


class Schedule(BaseModel):
    """What a recurring announcement's cron expression says, for people to read."""

    model_config = ConfigDict(frozen=True)

    repeat: Repeat
    at: time
    weekday: int | None = None  # 0 = Monday
    day: int | None = None  # of the month


def _time_of_day(text: str) -> time | None:
    match = _TIME.match(text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def parse_repeat(repeat: Repeat, text: str) -> Schedule | None:
    """``08:00`` (daily), ``mon 08:00`` or ``周一 08:00`` (weekly), ``1 09:00`` (monthly, day
    1–28 so that every month has it). None if it cannot be read."""
    words = text.strip().lower().split()
    if repeat is Repeat.DAILY:
        at = _time_of_day(words[0]) if len(words) == 1 else None
        return Schedule(repeat=repeat, at=at) if at else None
    if len(words) != 2:
        return None
    at = _time_of_day(words[1])
    if at is None:
        return None
    if repeat is Repeat.WEEKLY:
        weekday = _WEEKDAY_WORDS.get(words[0])
        return Schedule(repeat=repeat, at=at, weekday=weekday) if weekday is not None else None
    if words[0].isdigit() and 1 <= int(words[0]) <= 28:
        return Schedule(repeat=repeat, at=at, day=int(words[0]))
    return None


def to_cron(schedule: Schedule) -> str:
    minute, hour = schedule.at.minute, schedule.at.hour
    if schedule.repeat is Repeat.DAILY:
        return f"{minute} {hour} * * *"
    if schedule.repeat is Repeat.WEEKLY:
        assert schedule.weekday is not None
        return f"{minute} {hour} * * {(schedule.weekday + 1) % 7}"  # cron: 0 = Sunday
    assert schedule.day is not None
    return f"{minute} {hour} {schedule.day} * *"


def from_cron(cron: str) -> Schedule:
    """The reverse of to_cron, for the expressions yishi writes."""
    minute, hour, day, _month, weekday = cron.split()
    at = time(int(hour), int(minute))
    if weekday != "*":
        return Schedule(repeat=Repeat.WEEKLY, at=at, weekday=(int(weekday) - 1) % 7)
    if day != "*":
        return Schedule(repeat=Repeat.MONTHLY, at=at, day=int(day))
    return Schedule(repeat=Repeat.DAILY, at=at)


def next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """The first run strictly after ``after``, in UTC, counted in the group's time zone."""
    local = after.astimezone(ZoneInfo(timezone))
    upcoming: datetime = croniter(cron, local).get_next(datetime)
    return upcoming.astimezone(after.tzinfo)


class Announcement(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    author_id: int | None
    text: str
    photo_file_id: str | None
    cron: str | None
    run_at: datetime | None
    pin: bool
    in_quiet_hours: bool
    status: Status
    runs: int
    last_run_at: datetime | None
    created_at: datetime

    @property
    def recurring(self) -> bool:
        return self.cron is not None
