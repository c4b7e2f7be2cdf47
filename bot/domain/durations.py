"""Durations and deadlines as people type them: 30m, 12h, 3d, 1w, 2026-12-01 20:00, and in
words — "3天", "明天晚上8点", "下周五", "12月20日", "tomorrow 8pm", "next friday",
"20/12".

The words are read by libraries that do it well: Chinese by JioNLP's time parser (relative
days, parts of the day, weekdays of this or next week, month and day), everything else by
dateparser (English words, and numeric dates day first, as written in China and Europe).
A date without a time of day means ``default_time`` that day.
"""

from __future__ import annotations

import contextlib
import io
import re
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_SPAN = re.compile(r"^\s*(\d{1,4})\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M")
# A weekday named without "last" (上) or "this" (本, 这): the next one to come.
_BARE_WEEKDAY = re.compile(r"^(?!.*[上本这]).*(周|星期|礼拜)[一二三四五六日天]")
_DELTA_UNITS = {"year": "days", "month": "days", "day": "days", "hour": "hours",
                "minute": "minutes", "second": "seconds"}
_DELTA_SCALE = {"year": 365, "month": 30}


class DeadlineError(ValueError):
    """Why a typed deadline was refused; ``code`` picks the message shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


@lru_cache(maxsize=1)
def _chinese_parser() -> Any:
    # JioNLP prints a greeting when imported; it is not the bot's to print.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from jionlp.gadget.time_parser import TimeParser
    return TimeParser()


def _english_parser(now: datetime) -> Any:
    from dateparser.date import DateDataParser
    return DateDataParser(languages=["en"], settings={
        "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY", "RETURN_TIME_AS_PERIOD": True,
        "RELATIVE_BASE": now})


def prepare_parsers() -> None:
    """Load both parsers now (about half a second) rather than on the first date typed."""
    _chinese_parser()
    _english_parser(datetime(2026, 1, 1)).get_date_data("tomorrow")


def _chinese(text: str, local_now: datetime, default_time: time) -> datetime | None:
    base = [local_now.year, local_now.month, local_now.day, local_now.hour,
            local_now.minute, local_now.second]
    try:
        found = _chinese_parser()(text, time_base=base)
    except Exception:  # JioNLP raises a bare ValueError (and worse) for what it cannot read
        return None
    if found.get("type") == "time_delta":
        delta = timedelta()
        for unit, amount in found["time"].items():
            if unit not in _DELTA_UNITS:
                return None
            delta += timedelta(**{_DELTA_UNITS[unit]: float(amount) * _DELTA_SCALE.get(unit, 1)})
        return local_now + delta if delta else None
    if found.get("type") != "time_point":
        return None
    start, end = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in found["time"][:2])
    if (start.time(), end.time()) == (time(0, 0), time(23, 59, 59)):
        start = datetime.combine(start.date(), default_time)  # a day, no time of day
    if start < local_now.replace(tzinfo=None) and _BARE_WEEKDAY.match(text):
        start += timedelta(days=7)
    return start.replace(tzinfo=local_now.tzinfo)


def _english(text: str, local_now: datetime, default_time: time) -> datetime | None:
    found = _english_parser(local_now.replace(tzinfo=None)).get_date_data(text)
    if found.date_obj is None:
        return None
    when = found.date_obj.replace(tzinfo=None)
    if found.period == "day" and when.time() == time(0, 0):
        when = datetime.combine(when.date(), default_time)  # a day, no time of day
    return when.replace(tzinfo=local_now.tzinfo)


def parse_deadline(text: str, now: datetime, timezone: str, *,
                   minimum: timedelta = timedelta(minutes=10),
                   maximum: timedelta = timedelta(days=60),
                   default_time: time = time(20, 0)) -> datetime:
    """The instant (UTC) a typed deadline means, within [now + minimum, now + maximum].

    Raises DeadlineError("unreadable" | "too_soon" | "too_far"): "too_soon" only for a
    time that was read and lies in the past or too close.
    """
    span = _SPAN.match(text)
    if span:
        amount, unit = int(span.group(1)), span.group(2).lower()
        deadline = now + timedelta(**{_UNITS[unit]: amount})
    else:
        zone = ZoneInfo(timezone)
        deadline = None
        for pattern in _LOCAL_FORMATS:
            try:
                local = datetime.strptime(text.strip(), pattern)
            except ValueError:
                continue
            deadline = local.replace(tzinfo=zone).astimezone(now.tzinfo)
            break
        else:
            with contextlib.suppress(ValueError):
                day = datetime.strptime(text.strip(), "%Y-%m-%d")
                deadline = datetime.combine(day.date(), default_time, tzinfo=zone)
        # A year first is the ISO form above or nothing: not a guess of dateparser's.
        if deadline is None and text.strip() and not re.match(r"\s*\d{4}-", text):
            local_now = now.astimezone(zone)
            read = (_chinese if _has_cjk(text) else _english)(text.strip(), local_now,
                                                               default_time)
            deadline = read.astimezone(now.tzinfo) if read is not None else None
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
