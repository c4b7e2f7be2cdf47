"""What the bot does when Telegram refuses a call: 429 waits and sends once, 5xx retries
(then the scheduler's backoff), 403 from a person marks them unreachable, a group that is
gone is marked inactive, and a group that became a supergroup is followed to its new id."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.fakeapi.server import Fault
from handlers.reports import callbacks as report_buttons
from storage import communities, people
from tests.helpers import community, eventually, group_with_bot
from tests.test_announcements import _prepare
from tests.test_reports import _building, _file, _report

SUNDAY_NOON = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
MONDAY_8 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


async def _weekly(bot, api, tg, clock, text="Bins go out tonight."):
    clock.set(SUNDAY_NOON)
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    await _prepare(api, tg, group, owner, stored.id, text=text, when="weekly",
                   detail="mon 08:00")
    return group, owner, stored


def _to(api, chat_id, mark, text):
    return [c for c in api.sent(chat_id=chat_id, after=mark) if c.text == text]


async def test_a_flood_wait_on_a_scheduled_send_is_waited_out_and_sent_once(bot, api, tg,
                                                                              clock):
    group, _owner, _stored = await _weekly(bot, api, tg, clock)
    api.faults.append(Fault("sendMessage", "429", retry_after=1))
    clock.set(MONDAY_8)
    mark = api.mark()
    await bot.tick()
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert len(_to(api, group.id, mark, "Bins go out tonight.")) == 1
    assert [c.error for c in api.calls[mark:] if c.error] == [
        "Too Many Requests: retry after 1"]


@pytest.mark.expect_handler_errors
async def test_server_errors_are_retried_then_left_to_the_schedulers_backoff(bot, api, tg,
                                                                           clock):
    group, _owner, _stored = await _weekly(bot, api, tg, clock)
    # One 500: retried at once, sent in the same tick.
    api.faults.append(Fault("sendMessage", "500"))
    clock.set(MONDAY_8)
    mark = api.mark()
    await bot.tick()
    assert len(_to(api, group.id, mark, "Bins go out tonight.")) == 1
    # Three in a row: this tick gives up (logged, no crash); a minute later it goes, once.
    api.faults.append(Fault("sendMessage", "500", times=3))
    clock.set(MONDAY_8 + timedelta(days=7))
    mark = api.mark()
    await bot.tick()
    assert _to(api, group.id, mark, "Bins go out tonight.") == []
    assert len([c for c in api.calls[mark:] if c.error == "Internal Server Error"]) == 3
    clock.advance(timedelta(minutes=1))
    await bot.tick()
    assert len(_to(api, group.id, mark, "Bins go out tonight.")) == 1
    await bot.tick()
    assert len(_to(api, group.id, mark, "Bins go out tonight.")) == 1


async def test_a_person_who_blocked_the_bot_is_not_written_to_again(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)
    report, _p, _e = await _report(bot, stored.id)
    card = await api.wait_for("sendMessage", where=lambda c: c.chat_id == fixer.id
                              and bool(c.buttons))
    tg.block(ann)
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "ack"))
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == fixer.id)
    blocked = [c for c in api.calls[mark:] if c.chat_id == ann.id]
    assert [c.error for c in blocked] == ["Forbidden: bot was blocked by the user"]
    async with bot.services.db.transaction() as conn:
        assert not (await people.get(conn, ann.id)).started
    # The next change is not even tried for Ann; the group post still changes.
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "start"))
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == group.id)
    assert [c for c in api.calls[mark:] if c.chat_id == ann.id] == []
    # Writing to the bot again makes her reachable.
    mark = api.mark()
    await tg.say(ann, ann, "/reports")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)

    async def reachable():
        async with bot.services.db.transaction() as conn:
            return (await people.get(conn, ann.id)).started

    await eventually(reachable)


@pytest.mark.expect_handler_errors
async def test_a_group_that_is_gone_is_marked_inactive(bot, api, tg, clock):
    group, _owner, stored = await _weekly(bot, api, tg, clock)
    api.faults.append(Fault("sendMessage", "chat_not_found"))
    clock.set(MONDAY_8)
    mark = api.mark()
    await bot.tick()
    assert [c.error for c in api.calls[mark:] if c.error] == ["Bad Request: chat not found"]
    assert not (await community(bot, group.id)).active
    # Nothing more is sent there.
    clock.set(MONDAY_8 + timedelta(days=7))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []


async def test_a_group_that_became_a_supergroup_is_followed_to_its_new_id(bot, api, tg,
                                                                          clock):
    group, owner, stored = await _weekly(bot, api, tg, clock)
    new = await tg.migrate(group, owner, bot_sees_it=False)
    clock.set(MONDAY_8)
    mark = api.mark()
    await bot.tick()
    sent = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == new.id)
    assert sent.text == "Bins go out tonight."
    assert [c.error for c in api.calls[mark:] if c.error] == [
        "Bad Request: group chat was upgraded to a supergroup chat"]
    async with bot.services.db.transaction() as conn:
        moved = await communities.by_id(conn, stored.id)
    assert moved.chat_id == new.id and moved.active
