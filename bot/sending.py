"""Telegram's flood limits kept as Telegram counts them: strict windows, never more than 30
messages in any one second overall nor 20 in any 60 seconds to one group, edits included.

A leaky bucket (PTB's stock limiter) lets a full second's worth through at once and then
one every thirtieth of a second, so a strict server sees nearly twice the limit in the
first second and answers 429. Here each send takes a place in a window only when the
window has one, just before the request goes out, and keeps it until Telegram's answer has
come back: Telegram counts a message when it arrives, some time between the two, so a place
counted from the answer can never make two windows one however slow the way there was
(a busy machine, a slow network). The window is also a little longer than Telegram's
(``MARGIN``), for clocks that measure differently.

Answers to people come first: while someone's answer waits for a place, scheduled work
(the outbox, summaries, reminders) waits behind it. Whether a send is an answer is known
from the task it runs in: the handling of an update marks itself (:func:`answering`), and
names whose update it is. Among answers, each person gets their turn: the places go round
the people with answers waiting (start-time fair queueing), so someone who sends a hundred
commands, or whose one command writes to hundreds, keeps no one else waiting for more
than a turn.

A group's 20 a minute are shared by everyone in it. When a person's command in a group
would be answered only after the group's budget frees (more than ``PRIVATE_AFTER``
seconds), the answer goes to them in private instead, where only the overall limit
applies (bot/delivery.py; the handling of a group message names its :class:`Asker`).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# Seconds added to each window (a place is counted from the answer, so this is only for
# clocks that measure differently). With these the bot uses at most 30 / 1.04 ≈ 96 % of the
# overall limit.
MARGIN = {1.0: 0.04, 60.0: 0.5}
# While nothing is free, how often to look again at most (seconds).
POLL = 0.005
# Groups whose window is remembered; beyond that, those with nothing in theirs are forgotten.
GROUPS_KEPT = 10_000
# A group answer that would wait longer than this for the group's budget goes in private.
PRIVATE_AFTER = 5.0

_ANSWERING: ContextVar[bool] = ContextVar("answering", default=False)
_WHO: ContextVar[int | None] = ContextVar("who", default=None)
# Turns remembered per person; beyond that, those whose turns are all past are forgotten.
PEOPLE_KEPT = 10_000


@dataclass(frozen=True)
class Asker:
    """Who wrote the group message being handled, and how to tell them, in their own
    language, that its answer comes in private (HTML)."""

    user_id: int
    chat_id: int
    message_id: int
    note: Callable[[], Awaitable[str]]


_ASKER: ContextVar[Asker | None] = ContextVar("asker", default=None)


def answering(asker: Asker | None = None, *, who: int | None = None) -> None:
    """The task running now handles an update of ``who`` (a user, or the chat when no one
    sent it): its sends are answers to people (and, for a person's message in a group, to
    ``asker``)."""
    _ANSWERING.set(True)
    _ASKER.set(asker)
    _WHO.set(who)


def answering_whom() -> int | None:
    return _WHO.get()


def is_answer() -> bool:
    return _ANSWERING.get()


def current_asker() -> Asker | None:
    return _ASKER.get()


class Place:
    """A send's place in a window: taken when its request leaves, counted until its answer
    came back (``answered``; None while it is on its way)."""

    __slots__ = ("left", "answered")

    def __init__(self, left: float) -> None:
        self.left = left
        self.answered: float | None = None


class Window:
    """The places of the sends within the last ``period`` seconds; at most ``limit``."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period + MARGIN.get(period, 0.0)
        self.sent: deque[Place] = deque()

    def wait(self, now: float) -> float:
        """Seconds until this window has a place (0: now). Places leave in the order they
        were taken; one answered early behind one still on its way leaves after it (a
        little longer than needed, never too soon)."""
        while self.sent and self.sent[0].answered is not None \
                and self.sent[0].answered <= now - self.period:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return 0.0
        first = self.sent[0]
        if first.answered is None:  # still on its way: not before a period after it left
            return max(POLL, first.left + self.period - now)
        return first.answered + self.period - now

    def take(self, now: float) -> Place:
        place = Place(now)
        self.sent.append(place)
        return place



@dataclass
class Ticket:
    """One send waiting for its places."""

    group: Window | None
    answer: bool
    # Who goes first when places are few: answers before scheduled work; among answers the
    # person's turn, then the order of arrival.
    key: tuple[int, int, int] = (0, 0, 0)
    queued: bool = False  # among those waiting only for the overall window
    places: tuple[Place, ...] = ()  # taken, held until :meth:`Windows.answered`


class Windows:
    """The overall window and one per group. A send gets a :meth:`ticket`, waits
    :meth:`wait` seconds as long as that is more than 0, and :meth:`take` s its places in
    the same instant its request goes out (no await in between), then is :meth:`done`.

    When several sends wait for the overall window, the next free place goes to the one
    with the smallest key (see :class:`Ticket`), not to whichever looks first.

    Turns: each person's answers are numbered on from where that person left off, or from
    the turn being served now if they are further behind it (a newcomer, someone quiet for
    a while); a place taken moves the turn being served on. So the answers of a person with
    many waiting take every other place at most among two people, one in three among
    three, and so on, and each person's own answers keep their order."""

    def __init__(self, *, speedup: int = 1, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._overall = Window(OVERALL_PER_SECOND * speedup, 1.0)
        self._group_limit = GROUP_PER_MINUTE * speedup
        self._groups: dict[int, Window] = {}
        self._clock = clock
        self._order = itertools.count()
        self._queue: list[tuple[tuple[int, int, int], Ticket]] = []  # a heap, lazily pruned
        self._serving = 0  # the turn of the last answer that went
        self._turns: dict[int | None, int] = {}  # each person's next turn

    def ticket(self, chat_id: int | None, *, answer: bool, who: int | None = None
               ) -> Ticket:
        group = None
        if chat_id is not None and chat_id < 0:
            group = self._groups.get(chat_id)
            if group is None:
                if len(self._groups) > GROUPS_KEPT:
                    self._forget_quiet_groups()
                group = self._groups[chat_id] = Window(self._group_limit, 60.0)
        if not answer:
            return Ticket(group, answer, (1, 0, next(self._order)))
        if len(self._turns) > PEOPLE_KEPT:
            self._turns = {w: t for w, t in self._turns.items() if t > self._serving}
        turn = max(self._turns.get(who, 0), self._serving)
        self._turns[who] = turn + 1
        return Ticket(group, answer, (0, turn, next(self._order)))

    def group_wait(self, chat_id: int) -> float:
        """Seconds until the group has a place in its window (0: now)."""
        group = self._groups.get(chat_id)
        return group.wait(self._clock()) if group is not None else 0.0

    def wait(self, ticket: Ticket) -> float:
        """Seconds until the send may go (0: now)."""
        now = self._clock()
        group_wait = ticket.group.wait(now) if ticket.group is not None else 0.0
        overall_wait = self._overall.wait(now)
        if group_wait > 0:
            return group_wait
        if not ticket.queued:
            ticket.queued = True
            heapq.heappush(self._queue, (ticket.key, ticket))
        if overall_wait <= 0 and self._first() is not ticket:
            overall_wait = POLL  # a place is free, and someone who goes first waits for it
        return overall_wait

    def take(self, ticket: Ticket) -> bool:
        """Take the places if they are still free (False: wait again)."""
        if self.wait(ticket) > 0:
            return False
        now = self._clock()
        ticket.places = (self._overall.take(now),) + (
            (ticket.group.take(now),) if ticket.group is not None else ())
        if ticket.answer:
            self._serving = max(self._serving, ticket.key[1])
        self.done(ticket)
        return True

    def done(self, ticket: Ticket) -> None:
        ticket.queued = False

    def answered(self, ticket: Ticket) -> None:
        """The send's answer came back (or it failed): from now its places count down."""
        now = self._clock()
        for place in ticket.places:
            if place.answered is None:
                place.answered = now

    def _first(self) -> Ticket | None:
        while self._queue and not self._queue[0][1].queued:
            heapq.heappop(self._queue)
        return self._queue[0][1] if self._queue else None

    def _forget_quiet_groups(self) -> None:
        now = self._clock()
        for chat_id in [c for c, w in self._groups.items() if w.wait(now) == 0 and not w.sent]:
            del self._groups[chat_id]
