"""Every announcement arrives exactly once: the bot is killed between every two steps of
closing a poll, changing a report's status, escalating an overdue report and posting a
decision's progress; Telegram answers late or fails in the middle of them.

A step is a transaction: the action's own (its state change with every message it owes),
then one per message delivered. Each test holds the outbox back (its kick does nothing),
lets the action commit, delivers ``k`` messages, kills the bot, starts it again on the same
database, and counts what each person saw.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.reports import Timer
from bot.fakeapi.server import Fault
from handlers.decisions import callbacks as decision_buttons
from handlers.reports import callbacks as report_buttons
from storage import due_work
from storage import outbox as outbox_store
from tests.conftest import RunningBot, make_settings
from tests.test_polls import ROWS, _building, _create, _poll_id, _vote
from tests.test_reports import _building as _report_building
from tests.test_reports import _file, _report

PAST_DEADLINE = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def hold(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action commits, and the bot dies before its outbox's turn."""
    monkeypatch.setattr(bot.services.outbox, "kick", lambda: None)


async def kill_after(bot: RunningBot, delivered: int) -> None:
    """Deliver ``delivered`` queued messages, then kill the bot and start it again; it
    delivers the rest on its own."""
    assert await bot.services.outbox.deliver(limit=delivered) == delivered
    await bot.crash()
    await bot.start()
    await bot.tick()
    await bot.settled()


async def ran_again_after_a_crash(bot: RunningBot, clock: Any, timer: Timer,
                                  report_id: int) -> None:
    """As if the process died after the scheduler ran a report's due item but before it
    marked it done: the lease runs out, the item is due again, and the bot, killed and
    started again, runs it a second time."""
    lease_ends = clock.now() + timedelta(minutes=10)
    async with bot.services.db.transaction() as conn:
        await due_work.schedule(conn, kind=timer.value, key=str(report_id), due_at=lease_ends,
                                now=clock.now(), payload={"report": report_id})
    clock.set(lease_ends)
    await kill_after(bot, 0)


def texts(api: Any, chat_id: int, mark: int, start: str) -> list[str]:
    return [c.text for c in api.sent(chat_id=chat_id, after=mark)
            if (c.text or "").startswith(start)]


async def _closing_poll(bot: RunningBot, api: Any, tg: Any, clock: Any) -> tuple[Any, ...]:
    """A poll Ann and Bob vote Yes on, past its deadline; its live tally edits are done."""
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _p = await _create(api, tg, group, owner, stored.id, deadline="3d")
    for name in ("Ann", "Bob"):
        mark = api.mark()
        await _vote(api, tg, people[name], post, 0)
        await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == group.id)
    await bot.settled()
    clock.set(PAST_DEADLINE)
    return group, owner, post, people


def _closed_post_edits(api: Any, group: Any, post: Any, mark: int) -> list[Any]:
    message_id = post.result["message_id"]
    return [c for c in api.calls[mark:] if c.method == "editMessageText"
            and c.chat_id == group.id and c.get("message_id") == message_id and c.error is None]


# The close owes three messages: the post's last edit, the result, the moderator's word.
@pytest.mark.parametrize("delivered", [0, 1, 2, 3])
async def test_a_poll_killed_while_closing_announces_everything_once(bot, api, tg, clock,
                                                                      monkeypatch, delivered):
    group, owner, post, _people = await _closing_poll(bot, api, tg, clock)
    hold(bot, monkeypatch)
    mark = api.mark()
    await bot.services.scheduler.tick(bot.app)  # the close commits (the reminders drop)
    assert api.sent(after=mark) == []
    await kill_after(bot, delivered)

    results = texts(api, group.id, mark, "P-1 已截止：Repaint the lobby?")
    assert len(results) == 1 and "结果：“Yes”胜出。" in results[0]
    assert len(_closed_post_edits(api, group, post, mark)) == 1
    final = api.messages[(group.id, post.result["message_id"])]
    assert "reply_markup" not in final and "结果：“Yes”胜出。" in final["text"]
    assert len(texts(api, owner.id, mark, "The vote made a decision in Elm House: D-1")) == 1
    # Nothing is left to send, and a later tick sends nothing again.
    later = api.mark()
    await bot.tick()
    assert api.sent(after=later) == []


@pytest.fixture
async def slow_bot(api, db_path, clock):
    """The bot gives Telegram a fifth of a second to answer a queued message."""
    running = RunningBot(api, make_settings(api, db_path,
                                            telegram={"outbox_answer_seconds": 0.2}), clock)
    await running.start()
    yield running
    await running.stop()
    assert api.violations == []


async def test_a_late_answer_to_the_closing_edit_loses_no_result(slow_bot, api, tg, clock):
    """Telegram takes longer than the bot waits to answer the edit that closes the post (a
    six-second answer once lost a result for good): the result is still posted, once, and
    the edit, which Telegram carried out, is not made twice."""
    bot = slow_bot
    group, _owner, post, _people = await _closing_poll(bot, api, tg, clock)
    api.faults.append(Fault("editMessageText", "timeout", delay=0.6))
    mark = api.mark()
    await bot.tick()
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert result.text.startswith("P-1 已截止：Repaint the lobby?")
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == group.id)
    clock.advance(timedelta(hours=1))
    await bot.restart()
    await bot.tick()
    async with bot.services.db.transaction() as conn:
        outcomes = await outbox_store.outcomes(conn)
    assert outcomes[f"poll:{_poll_id(post)}:post:closed"] == "answer late; taken as done"
    assert len(texts(api, group.id, mark, "P-1 已截止")) == 1
    assert len(_closed_post_edits(api, group, post, mark)) == 1
    assert "reply_markup" not in api.messages[(group.id, post.result["message_id"])]


async def test_a_late_answer_to_the_result_is_not_sent_twice(slow_bot, api, tg, clock):
    """The result's answer comes late: Telegram carried it out, so it is not sent again."""
    bot = slow_bot
    group, _owner, post, _people = await _closing_poll(bot, api, tg, clock)
    api.faults.append(Fault("sendMessage", "timeout", delay=0.6))
    mark = api.mark()
    await bot.tick()
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                       and c.text.startswith("P-1 已截止"))
    clock.advance(timedelta(hours=1))
    await bot.tick()
    await bot.restart()
    await bot.tick()
    assert len(texts(api, group.id, mark, "P-1 已截止")) == 1
    async with bot.services.db.transaction() as conn:
        outcomes = await outbox_store.outcomes(conn)
    assert outcomes[f"poll:{_poll_id(post)}:result"] == "answer late; taken as done"


async def test_a_result_telegram_refuses_for_a_while_goes_once_when_it_can(bot, api, tg, clock):
    group, _owner, _post, _people = await _closing_poll(bot, api, tg, clock)
    # Three server errors: the call and its two retries fail; the outbox tries again later.
    api.faults.append(Fault("sendMessage", "500", times=3))
    mark = api.mark()
    await bot.tick()
    await bot.settled()
    assert texts(api, group.id, mark, "P-1 已截止") == []
    await bot.restart()  # a restart in between changes nothing
    clock.advance(timedelta(seconds=30))
    await bot.tick()
    assert len(texts(api, group.id, mark, "P-1 已截止")) == 1
    clock.advance(timedelta(hours=1))
    await bot.tick()
    assert len(texts(api, group.id, mark, "P-1 已截止")) == 1


# A report acknowledged by its handler owes: the reporter's news, the handler's copy, the
# group post.
@pytest.mark.parametrize("delivered", [0, 1, 2, 3])
async def test_a_report_status_change_killed_midway_tells_everyone_once(bot, api, tg,
                                                                        monkeypatch, delivered):
    group, _owner, stored, fixer, ann, _bob = await _report_building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)
    report, _p, _e = await _report(bot, stored.id)
    card = await api.wait_for("sendMessage", where=lambda c: c.chat_id == fixer.id
                              and bool(c.buttons))
    await bot.settled()
    hold(bot, monkeypatch)
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "ack"))
    await api.wait_for("answerCallbackQuery", after=mark)
    await bot.settled()
    assert api.sent(after=mark) == []
    await kill_after(bot, delivered)

    news = texts(api, ann.id, mark, f"{report.ref} (Lift) is now acknowledged.")
    assert len(news) == 1
    copy = [c for c in api.calls[mark:] if c.chat_id == fixer.id and c.error is None
            and c.method in ("editMessageText", "editMessageCaption")]
    assert len(copy) == 1 and "Status: acknowledged" in (copy[0].text or copy[0].get("caption"))
    assert [b["callback_data"].rsplit(":", 1)[-1] for b in copy[0].buttons] == [
        "start", "resolve", "reject", "pass"]
    group_edits = [c for c in api.calls[mark:] if c.chat_id == group.id
                   and c.method == "editMessageText" and c.error is None]
    assert len(group_edits) == 1 and "状态：已确认" in group_edits[0].text


async def test_an_escalation_run_again_after_a_crash_reaches_nobody_twice(bot, api, tg,
                                                                          clock, monkeypatch):
    """The acknowledge limit passes: the moderator hears once, even when the due item runs
    again (the bot died before marking it done) and the first run's message was not yet
    sent."""
    group, owner, stored, _fixer, ann, _bob = await _report_building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)
    report, _p, _e = await _report(bot, stored.id)
    await bot.settled()
    hold(bot, monkeypatch)
    clock.advance(timedelta(hours=25))
    mark = api.mark()
    await bot.services.scheduler.tick(bot.app)
    await ran_again_after_a_crash(bot, clock, Timer.ACK_LIMIT, report.id)
    escalations = texts(api, owner.id, mark,
                        f"Overdue in Elm House: {report.ref} (Lift) was not acknowledged")
    assert len(escalations) == 1


@pytest.mark.parametrize("delivered", [0, 1, 2])
async def test_decision_progress_killed_midway_is_posted_once(bot, api, tg, clock,
                                                              monkeypatch, delivered):
    group, owner, _post, people = await _closing_poll(bot, api, tg, clock)
    await bot.tick()
    await bot.settled()
    ann, bob = people["Ann"], people["Bob"]
    for person in (ann, bob):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(owner, owner, "/progress D-1")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "40")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "Scaffolding is up.")
    skip = await api.wait_for("sendMessage", after=mark, where=to_owner)
    await bot.settled()
    hold(bot, monkeypatch)
    mark = api.mark()
    await tg.press(owner, skip, decision_buttons.NO_NEXT_STEP.data())
    posted = await api.wait_for(("sendMessage", "editMessageText"), after=mark, where=to_owner)
    assert posted.text == "Posted. D-1 is at 40%."
    await bot.settled()
    await kill_after(bot, delivered)

    cards = [c for c in api.sent(chat_id=group.id, after=mark) if "D-1 · " in (c.text or "")]
    assert len(cards) == 1 and "▓▓▓▓░░░░░░ 40%" in cards[0].text
    for voter in (ann, bob):
        news = texts(api, voter.id, mark, "News on a decision you follow in Elm House:")
        assert len(news) == 1 and "What changed: Scaffolding is up." in news[0]


async def test_a_handlers_reminder_run_again_after_a_crash_reaches_them_once(bot, api, tg,
                                                                             clock,
                                                                             monkeypatch):
    group, _owner, stored, fixer, ann, _bob = await _report_building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)
    report, _p, _e = await _report(bot, stored.id)
    await bot.settled()
    hold(bot, monkeypatch)
    clock.advance(timedelta(hours=3, minutes=1))  # lift: acknowledge within 4 h
    mark = api.mark()
    await bot.services.scheduler.tick(bot.app)
    await ran_again_after_a_crash(bot, clock, Timer.ACK_SOON, report.id)
    reminders = texts(api, fixer.id, mark, f"Reminder: {report.ref} (Lift) needs acknowledging")
    assert len(reminders) == 1


@pytest.mark.parametrize("delivered", [0, 1, 2])
async def test_a_weekly_announcement_killed_midway_is_posted_and_pinned_once(
        bot, api, tg, clock, monkeypatch, delivered):
    """The run is counted and its message queued in one transaction; the pin follows the
    post. The run handled twice (the process died before the scheduler noted it), and the
    bot killed after ``delivered`` messages went (its start runs the due item a third
    time), the group sees it once, pinned."""
    from handlers.announcements.jobs import run
    from storage import announcements as announcement_store
    from tests.test_announcements import _prepare, _ready

    clock.set(datetime(2026, 11, 22, 4, 0, tzinfo=UTC))  # Sunday 12:00 in Shanghai
    group, owner, stored = await _ready(bot, api, tg)
    api.members[(group.id, api.bot["id"])] = "administrator"  # so it may pin
    await _prepare(api, tg, group, owner, stored.id, text="Bins go out tonight.",
                   when="weekly", detail="周一 08:00", toggles=("pin",))
    # The publishing press handled to its end (its answer comes before the rest): the
    # kill below is about the run, not about a press in hand.
    await bot.settled()
    clock.set(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # Monday 08:00
    async with bot.services.db.transaction() as conn:
        work = await due_work.pending(conn, kind="announcement", key="1")
    hold(bot, monkeypatch)
    mark = api.mark()
    await run(bot.app, work)  # as the scheduler runs it at 08:00: counted and queued
    # The same run again, as after a crash before the scheduler noted it: its lease has
    # moved the item's time on by then. Nothing more.
    clock.advance(timedelta(minutes=11))
    await run(bot.app, work.model_copy(update={"due_at": clock.now()}))
    await kill_after(bot, delivered)
    sent = [c for c in api.sent("sendMessage", chat_id=group.id, after=mark)]
    assert [c.text for c in sent] == ["Bins go out tonight."]
    assert api.pinned[group.id] == sent[0].result["message_id"]
    async with bot.services.db.transaction() as conn:
        assert (await announcement_store.get(conn, 1)).runs == 1


@pytest.mark.parametrize("delivered", [0, 1])
async def test_the_weekly_topic_roundup_run_twice_and_killed_is_posted_once(
        bot, api, tg, clock, monkeypatch, delivered):
    """The roundup is queued under a key naming the week's run, with the next week armed:
    handled again after a crash before the scheduler noted it, the group reads it once and
    the moderators are asked once."""
    from handlers.topics import callbacks as topic_buttons
    from handlers.topics.jobs import post_roundup
    from tests.test_topics import _building as _topic_building
    from tests.test_topics import _propose, _topic_id

    group, owner, stored, people = await _topic_building(bot, api, tg)
    _done, review = await _propose(api, tg, people["Ann"], title="Bike racks by the gate")
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(_topic_id(review), "ok"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    await bot.settled()
    clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))  # Monday 09:00 in Shanghai
    async with bot.services.db.transaction() as conn:
        work = await due_work.pending(conn, kind="topic_roundup", key=str(stored.id))
    hold(bot, monkeypatch)
    mark = api.mark()
    await post_roundup(bot.app, work)
    clock.advance(timedelta(minutes=11))  # the same run again, its lease run out
    await post_roundup(bot.app, work.model_copy(update={"due_at": clock.now()}))
    await kill_after(bot, delivered)
    roundups = [c for c in api.sent("sendMessage", chat_id=group.id, after=mark)
                if c.text.startswith("本周议题")]
    assert len(roundups) == 1
    asked = [c for c in api.sent("sendMessage", chat_id=owner.id, after=mark)
             if c.text.startswith("Roundup: what should happen with this topic?")]
    assert len(asked) == 1
