"""Durations and deadlines as people type them: 30m, 12h, 3d, 1w, or 2026-12-01 20:00."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_SPAN = re.compile(r"^\s*(\d{1,4})\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M")


class DeadlineError(ValueError):
    """Why a typed deadline was refused; ``code`` picks the message shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_deadline(text: str, now: datetime, timezone: str, *,
                   minimum: timedelta = timedelta(minutes=10),
                   maximum: timedelta = timedelta(days=60)) -> datetime:
    """The instant (UTC) a typed deadline means, within [now + minimum, now + maximum].

    Raises DeadlineError("unreadable" | "too_soon" | "too_far").
    """
    span = _SPAN.match(text)
    if span:
        amount, unit = int(span.group(1)), span.group(2).lower()
        deadline = now + timedelta(**{_UNITS[unit]: amount})
    else:
        deadline = None
        for pattern in _LOCAL_FORMATS:
            try:
                local = datetime.strptime(text.strip(), pattern)
            except ValueError:
                continue
            deadline = local.replace(tzinfo=ZoneInfo(timezone)).astimezone(now.tzinfo)
            break
        if deadline is None:
            raise DeadlineError("unreadable")
    if deadline < now + minimum:
        raise DeadlineError("too_soon")
    if deadline > now + maximum:
        raise DeadlineError("too_far")
    return deadline


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def next_weekly(now: datetime, timezone: str, weekday: str, at: time) -> datetime:
    """The first moment strictly after ``now`` (in UTC) that is ``weekday`` at ``at`` in
    the group's time zone: the weekly roundup, the weekly summary."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    days_ahead = (WEEKDAYS.index(weekday) - local.weekday()) % 7
    candidate = datetime.combine(local.date() + timedelta(days=days_ahead), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(candidate.date() + timedelta(days=7), at, tzinfo=zone)
    return candidate.astimezone(ZoneInfo("UTC"))
