"""Telegram's flood limits as Telegram counts them: strict windows of 30 messages in any
second and 20 in any minute per group, answers to people before scheduled work — in the
windows themselves (a controlled clock) and end to end at the real limits."""

import asyncio

import pytest

from bot.sending import MARGIN, Windows

GROUP = -100123


def _sent(windows, ticket) -> bool:
    """Take the ticket's places and, if it got them, have its answer back at once (as from
    a server next door)."""
    taken = windows.take(ticket)
    if taken:
        windows.answered(ticket)
    return taken


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_thirty_in_any_second_then_the_window_must_move_on():
    clock = Clock()
    windows = Windows(clock=clock)
    for n in range(30):
        clock.now = 1000.0 + n * 0.01
        ticket = windows.ticket(None, answer=True)
        assert _sent(windows, ticket)
    clock.now = 1000.5
    ticket = windows.ticket(None, answer=True)
    assert not _sent(windows, ticket)
    assert windows.wait(ticket) == pytest.approx(1000.0 + 1.0 + MARGIN[1.0] - 1000.5)
    clock.now = 1000.0 + 1.0 + MARGIN[1.0] + 0.001  # the first has left the window
    assert _sent(windows, ticket)


def test_twenty_in_any_minute_to_a_group_other_chats_unaffected():
    clock = Clock()
    windows = Windows(clock=clock)
    for n in range(20):
        clock.now = 1000.0 + n  # one a second: a leaky bucket would let the 21st in soon
        assert _sent(windows, windows.ticket(GROUP, answer=False))
    clock.now = 1030.0
    held = windows.ticket(GROUP, answer=False)
    assert windows.wait(held) == pytest.approx(60.0 + MARGIN[60.0] - 30.0)
    assert _sent(windows, windows.ticket(-100999, answer=False))  # another group
    assert _sent(windows, windows.ticket(42, answer=False))  # a person
    clock.now = 1000.0 + 60.0 + MARGIN[60.0] + 0.001
    assert _sent(windows, held)


def test_scheduled_work_waits_while_an_answer_waits():
    clock = Clock()
    windows = Windows(clock=clock)
    for _n in range(30):
        assert _sent(windows, windows.ticket(None, answer=False))
    answer = windows.ticket(7, answer=True)
    later = windows.ticket(8, answer=False)
    assert windows.wait(answer) > 0  # the second is full: the answer waits, counted
    clock.now += 1.0 + MARGIN[1.0] + 0.001
    # A place is free: scheduled work lets the answer have it.
    assert windows.wait(later) > 0 and not _sent(windows, later)
    assert _sent(windows, answer)
    assert _sent(windows, later)  # and then its turn


def test_answers_go_round_the_people_waiting():
    """A person whose command writes to a hundred chats, and another who sent fifty
    commands, keep a newcomer waiting a turn, not a hundred and fifty places; the two go in
    turns, and each person's own answers keep their order."""
    clock = Clock()
    windows = Windows(clock=clock)
    for _n in range(30):
        assert _sent(windows, windows.ticket(None, answer=True, who=1))
    asked = [(1, n, 1000 + n) for n in range(100)] + [(2, n, 2) for n in range(50)]
    asked.append((3, 0, 3))
    whose = {}
    for who, n, chat in asked:
        ticket = windows.ticket(chat, answer=True, who=who)
        whose[id(ticket)] = (who, n, ticket)
    waiting = [t for _w, _n, t in whose.values()]
    for ticket in waiting:
        assert windows.wait(ticket) > 0
    order = []
    while waiting:
        clock.now += 1.0 + MARGIN[1.0] + 0.001  # the window moves on: 30 places again
        for _place in range(min(30, len(waiting))):
            first = next(t for t in waiting if windows.wait(t) == 0)
            assert _sent(windows, first)
            waiting.remove(first)
            order.append(whose[id(first)][:2])
    assert order.index((3, 0)) < 3
    assert [w for w, _n in order[:61]].count(2) == 30  # every other place
    for person in (1, 2):
        theirs = [n for w, n in order if w == person]
        assert theirs == sorted(theirs)


def test_a_place_is_held_until_telegrams_answer_comes_back():
    """Telegram counts a message when it arrives, some time before its answer comes back:
    a send still on its way keeps its place, and the window counts it from its answer, so
    a slow way there can never put 31 into one of Telegram's seconds."""
    clock = Clock()
    windows = Windows(clock=clock)
    slow = windows.ticket(None, answer=True)
    assert windows.take(slow)  # leaves at 1000.0, on its way for 0.3 s
    for n in range(1, 30):
        clock.now = 1000.0 + n * 0.001
        assert _sent(windows, windows.ticket(None, answer=True))
    clock.now = 1000.3
    windows.answered(slow)
    late = windows.ticket(None, answer=True)
    clock.now = 1000.0 + 1.0 + MARGIN[1.0] + 0.001  # a second after it left: not yet
    assert not windows.take(late)
    assert windows.wait(late) == pytest.approx(0.3 - 0.001)
    clock.now = 1000.3 + 1.0 + MARGIN[1.0] + 0.001  # a second after its answer
    assert _sent(windows, late)


def test_a_send_on_its_way_for_long_is_waited_for_not_forgotten():
    clock = Clock()
    windows = Windows(clock=clock)
    stuck = windows.ticket(None, answer=True)
    assert windows.take(stuck)
    for _n in range(29):
        assert _sent(windows, windows.ticket(None, answer=True))
    clock.now += 5.0  # no answer yet after five seconds: it may arrive any moment
    waiting = windows.ticket(None, answer=True)
    assert not windows.take(waiting) and windows.wait(waiting) > 0
    windows.answered(stuck)
    clock.now += 1.0 + MARGIN[1.0] + 0.001
    assert _sent(windows, waiting)


def test_the_speedup_scales_both_limits():
    clock = Clock()
    windows = Windows(speedup=3, clock=clock)
    assert all(_sent(windows, windows.ticket(GROUP, answer=False)) for _n in range(60))
    assert not _sent(windows, windows.ticket(GROUP, answer=False))


@pytest.mark.real_limits
async def test_forty_people_at_once_are_answered_within_telegrams_limits(bot, api, tg):
    """Forty people send /start in the same instant: every one is answered, and the fake
    Bot API, counting strict windows at Telegram's real limits, refused nothing (the
    fixture fails the test on any violation)."""
    people = [tg.person(f"N{n}", language_code="en") for n in range(40)]
    mark = api.mark()
    await asyncio.gather(*(tg.say(person, person, "/start") for person in people))
    for person in people:
        await api.wait_for("sendMessage", after=mark, timeout=20,
                           where=lambda c, p=person: c.chat_id == p.id)
    answers = sorted(c.at for c in api.sent(after=mark) if c.chat_id in
                     {p.id for p in people})
    assert len(answers) == 40
    assert not [c for c in api.calls[mark:] if c.error and "429" in c.error]
    # No more than 30 in any second, and not stretched far beyond what the limit needs.
    assert max(sum(1 for t in answers if start <= t < start + 1.0) for start in answers) <= 30
    assert answers[-1] - answers[0] < 3.0
