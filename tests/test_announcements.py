"""Announcements end to end: sent now (even in quiet hours, by hand), once later with a
photo, weekly with a pin, paused, resumed, deleted, and a run missed during a restart
(sent within the grace period, skipped beyond it)."""

from datetime import UTC, datetime

from handlers.announcements import callbacks as announcement_buttons
from storage import announcements as store
from tests.helpers import audit_log, group_with_bot


async def _prepare(api, tg, group, owner, community_id, *, text=None, photo=False,
                   when="now", detail=None, toggles=()):
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(group, owner, "/announce")
    handover = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert handover.buttons[0]["url"].endswith(f"start=announce_{community_id}")
    mark = api.mark()
    await tg.say(owner, owner, f"/start announce_{community_id}")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    if photo:
        await tg.send_photo(owner, owner, caption=text or "")
    else:
        await tg.say(owner, owner, text)
    ask = await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, ask, announcement_buttons.WHEN.data(when))
    step = await api.wait_for("editMessageText", after=mark, where=to_owner)
    if detail is not None:
        mark = api.mark()
        await tg.say(owner, owner, detail)
        step = await api.wait_for("sendMessage", after=mark, where=to_owner)
    for toggle in toggles:
        mark = api.mark()
        await tg.press(owner, step, announcement_buttons.OPTION.data(toggle))
        step = await api.wait_for("editMessageText", after=mark, where=to_owner)
    preview = step
    mark = api.mark()
    await tg.press(owner, preview, announcement_buttons.PUBLISH.data())
    # In place, or at the bottom when something came in between (a failed pin's notice).
    done = await api.wait_for(("editMessageText", "sendMessage"), after=mark,
                              where=lambda c: to_owner(c) and "could not pin" not in c.text)
    return preview, done, mark


async def _ready(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    return group, owner, stored


async def test_send_now_ignores_quiet_hours_and_a_failed_pin_is_reported(bot, api, tg, clock):
    clock.set(datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai, quiet
    group, owner, stored = await _ready(bot, api, tg)
    preview, done, mark = await _prepare(api, tg, group, owner, stored.id,
                                         text="Water is off on Tuesday <9-12>.",
                                         toggles=("pin",))
    assert "Pinned: yes" in preview.text and "quiet hours" not in preview.text
    sent = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert sent.text == "Water is off on Tuesday <9-12>."
    assert done.text == "Sent to Elm House."
    unpinned = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id
                                  and "could not pin" in c.text)
    assert unpinned.text.startswith("I sent announcement #1 to Elm House but could not pin it")
    assert group.id not in api.pinned
    assert (await audit_log(bot, stored.id))[0].action == "announcement.send"


async def test_a_weekly_announcement_runs_pauses_resumes_and_survives_a_restart(
        bot, api, tg, clock):
    clock.set(datetime(2026, 11, 22, 4, 0, tzinfo=UTC))  # Sunday 12:00 in Shanghai
    group, owner, stored = await _ready(bot, api, tg)
    api.members[(group.id, api.bot["id"])] = "administrator"  # so it may pin
    preview, done, _m = await _prepare(api, tg, group, owner, stored.id,
                                       text="Bins go out tonight.", when="weekly",
                                       detail="周一 08:00", toggles=("pin",))
    assert "When: every Monday at 08:00" in preview.text
    assert "In quiet hours: waits until they end" in preview.text
    assert done.text.startswith("Scheduled as #1: every Monday at 08:00. The first goes out "
                                "2026-11-23 08:00.")
    # Monday 07:59: nothing; 08:00: sent and pinned.
    clock.set(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    clock.set(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    sent = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert sent.text == "Bins go out tonight."
    assert api.pinned[group.id] == sent.result["message_id"]
    await bot.tick()
    assert len(api.sent(chat_id=group.id, after=mark)) == 1

    # Down over the next Monday 08:00, back at 08:30: within the hour's grace, sent once.
    await bot.stop()
    clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    await bot.start()
    mark = api.mark()
    await bot.tick()
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    await bot.tick()
    assert len(api.sent(chat_id=group.id, after=mark)) == 1
    # Down again, back at 10:00 the Monday after: two hours late, skipped (and logged).
    await bot.stop()
    clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    await bot.start()
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    async with bot.services.db.transaction() as conn:
        stored_one = await store.get(conn, 1)
    assert stored_one.runs == 2 and stored_one.run_at == datetime(2026, 12, 14, 0, 0,
                                                                  tzinfo=UTC)

    # Paused: the Monday passes silently. Resumed: the next Monday it runs again.
    mark = api.mark()
    await tg.say(owner, owner, "/announcements")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    assert "#1 · every Monday at 08:00 · next 2026-12-14 08:00 · 📌" in listing.text
    mark = api.mark()
    await tg.press(owner, listing, announcement_buttons.MANAGE.data(1, "pause"))
    assert (await api.wait_for("answerCallbackQuery", after=mark)).get("text") == "Paused."
    clock.set(datetime(2026, 12, 14, 0, 1, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    listing = api.messages[(owner.id, listing.result["message_id"])]
    mark = api.mark()
    await tg.press(owner, listing, announcement_buttons.MANAGE.data(1, "resume"))
    assert (await api.wait_for("answerCallbackQuery", after=mark)).get("text") == "Resumed."
    clock.set(datetime(2026, 12, 21, 0, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    # Deleted: never again. A resident cannot press the buttons.
    resident = tg.person("Ann", language_code="en")
    await tg.say(group, resident, "hi")
    mark = api.mark()
    await tg.press(resident, listing, announcement_buttons.MANAGE.data(1, "delete"))
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text").startswith("Sorry, only the group's moderators")
    mark = api.mark()
    await tg.press(owner, listing, announcement_buttons.MANAGE.data(1, "delete"))
    assert (await api.wait_for("answerCallbackQuery", after=mark)).get("text") == "Deleted."
    clock.set(datetime(2026, 12, 28, 0, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    actions = [e.action for e in await audit_log(bot, stored.id)]
    assert actions[:3] == ["announcement.delete", "announcement.resume", "announcement.pause"]


async def test_a_one_off_with_a_photo_waits_out_quiet_hours_unless_told(bot, api, tg, clock):
    clock.set(datetime(2026, 11, 22, 4, 0, tzinfo=UTC))
    group, owner, stored = await _ready(bot, api, tg)
    _p, done, _m = await _prepare(api, tg, group, owner, stored.id, text="New parking lines",
                                  photo=True, when="once", detail="2026-11-22 23:00")
    assert done.text.startswith("Scheduled as #1: once, 2026-11-22 23:00.")
    _p, _d, _m = await _prepare(api, tg, group, owner, stored.id, text="Night works tonight",
                                when="once", detail="2026-11-22 23:00", toggles=("quiet",))
    clock.set(datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # 23:00, quiet hours
    mark = api.mark()
    await bot.tick()
    night = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert night.text == "Night works tonight"
    assert api.sent("sendPhoto", chat_id=group.id, after=mark) == []
    clock.set(datetime(2026, 11, 22, 23, 30, tzinfo=UTC))  # 07:30, the quiet hours end
    mark = api.mark()
    await bot.tick()
    photo = await api.wait_for("sendPhoto", after=mark, where=lambda c: c.chat_id == group.id)
    assert photo.result["caption"] == "New parking lines"
    async with bot.services.db.transaction() as conn:
        assert (await store.get(conn, 1)).status.value == "finished"
