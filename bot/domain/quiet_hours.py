"""Quiet hours: a daily local-time window in which the bot sends nothing on its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class QuietHours(BaseModel):
    """A window such as 22:00-07:30; it may cross midnight. ``None`` bounds mean no window."""

    model_config = ConfigDict(frozen=True)

    start: time | None = None
    end: time | None = None

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``"HH:MM-HH:MM"``; an empty string or ``"off"`` means no quiet hours."""
        if text.strip().lower() in ("", "off", "none"):
            return cls()
        match = _WINDOW.match(text)
        if not match:
            raise ValueError(f"expected HH:MM-HH:MM such as 22:00-07:30, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"{text!r} is not a time of day")
        start, end = time(h1, m1), time(h2, m2)
        if start == end:
            raise ValueError("quiet hours must not start and end at the same minute")
        return cls(start=start, end=end)

    @property
    def enabled(self) -> bool:
        return self.start is not None and self.end is not None

    def __str__(self) -> str:
        if not self.enabled:
            return "off"
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time falls inside the window (start inclusive)."""
        if not self.enabled:
            return False
        assert self.start is not None and self.end is not None
        local = local.replace(tzinfo=None, second=0, microsecond=0)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def is_quiet(self, now: datetime, zone: ZoneInfo) -> bool:
        """Whether the aware instant ``now`` is inside the window in time zone ``zone``."""
        return self.contains(now.astimezone(zone).time())

    def next_allowed(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The first instant at or after ``now`` outside the window, as an aware UTC datetime."""
        if not self.is_quiet(now, zone):
            return now
        assert self.end is not None
        local = now.astimezone(zone)
        # Combine date and wall time in the zone so a DST change in between is respected.
        candidate = datetime.combine(local.date(), self.end, tzinfo=zone)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return candidate.astimezone(UTC)
