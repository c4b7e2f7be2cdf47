"""The one place time is read, so tests (and the sandbox) can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)


class ShiftedClock:
    """Real time moved forward by whatever the user asked to skip (the sandbox's
    fast-forward buttons); it never runs backwards."""

    def __init__(self) -> None:
        self._shift = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._shift += delta
        return self.now()


class FileClock:
    """Time read from a file holding one ISO 8601 instant, for simulations and for tests
    that run `yishi run` as a separate process (``[scheduler] clock_file``). Time never
    runs backwards: an older value in the file is ignored."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._now = datetime.fromtimestamp(0, UTC)

    def now(self) -> datetime:
        try:
            read = datetime.fromisoformat(self._path.read_text().strip())
        except (OSError, ValueError):
            return self._now  # being rewritten: keep the last good reading
        if read.tzinfo is None:
            read = read.replace(tzinfo=UTC)
        self._now = max(self._now, read.astimezone(UTC))
        return self._now
