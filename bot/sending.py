"""Telegram's flood limits kept as Telegram counts them: strict windows, never more than 30
messages in any one second overall nor 20 in any 60 seconds to one group, edits included.

A leaky bucket (PTB's stock limiter) lets a full second's worth through at once and then
one every thirtieth of a second, so a strict server sees nearly twice the limit in the
first second and answers 429. Here each send takes a place in a window only when the
window has one, just before the request goes out, and the window is a little longer than
Telegram's (``MARGIN``) so that the small differences between when a request leaves and
when it arrives cannot make two windows one.

Answers to people come first: while someone's answer waits for a place, scheduled work
(the outbox, summaries, reminders) waits behind it. Whether a send is an answer is known
from the task it runs in: the handling of an update marks itself (:func:`answering`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# Seconds added to each window: requests leave here and arrive there a few milliseconds
# apart. With these the bot uses 30 / 1.04 ≈ 96 % of the overall limit.
MARGIN = {1.0: 0.04, 60.0: 0.5}
# While nothing is free, how often to look again at most (seconds).
POLL = 0.005
# Groups whose window is remembered; beyond that, those with nothing in theirs are forgotten.
GROUPS_KEPT = 10_000

_ANSWERING: ContextVar[bool] = ContextVar("answering", default=False)


def answering() -> None:
    """The task running now handles an update: its sends are answers to people."""
    _ANSWERING.set(True)


def is_answer() -> bool:
    return _ANSWERING.get()


class Window:
    """The times of the sends within the last ``period`` seconds; at most ``limit``."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period + MARGIN.get(period, 0.0)
        self.sent: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until this window has a place (0: now)."""
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return 0.0
        return self.sent[0] + self.period - now

    def take(self, now: float) -> None:
        self.sent.append(now)


@dataclass
class Ticket:
    """One send waiting for its places."""

    group: Window | None
    answer: bool
    counted: bool = False  # counted among the answers waiting


class Windows:
    """The overall window and one per group. A send gets a :meth:`ticket`, waits
    :meth:`wait` seconds as long as that is more than 0, and :meth:`take` s its places in
    the same instant its request goes out (no await in between), then is :meth:`done`."""

    def __init__(self, *, speedup: int = 1, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._overall = Window(OVERALL_PER_SECOND * speedup, 1.0)
        self._group_limit = GROUP_PER_MINUTE * speedup
        self._groups: dict[int, Window] = {}
        self._clock = clock
        self._answers_waiting = 0

    def ticket(self, chat_id: int | None, *, answer: bool) -> Ticket:
        group = None
        if chat_id is not None and chat_id < 0:
            group = self._groups.get(chat_id)
            if group is None:
                if len(self._groups) > GROUPS_KEPT:
                    self._forget_quiet_groups()
                group = self._groups[chat_id] = Window(self._group_limit, 60.0)
        return Ticket(group, answer)

    def wait(self, ticket: Ticket) -> float:
        """Seconds until the send may go (0: now)."""
        now = self._clock()
        group_wait = ticket.group.wait(now) if ticket.group is not None else 0.0
        overall_wait = self._overall.wait(now)
        if ticket.answer and not ticket.counted and group_wait <= 0 < overall_wait:
            # An answer held only by the overall window: scheduled work lets it go first.
            ticket.counted = True
            self._answers_waiting += 1
        if not ticket.answer and overall_wait <= 0 and self._answers_waiting:
            overall_wait = POLL
        return max(group_wait, overall_wait)

    def take(self, ticket: Ticket) -> bool:
        """Take the places if they are still free (False: wait again)."""
        if self.wait(ticket) > 0:
            return False
        now = self._clock()
        self._overall.take(now)
        if ticket.group is not None:
            ticket.group.take(now)
        self.done(ticket)
        return True

    def done(self, ticket: Ticket) -> None:
        if ticket.counted:
            ticket.counted = False
            self._answers_waiting -= 1

    def _forget_quiet_groups(self) -> None:
        now = self._clock()
        for chat_id in [c for c, w in self._groups.items() if w.wait(now) == 0 and not w.sent]:
            del self._groups[chat_id]
