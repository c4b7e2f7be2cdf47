"""Reports past filing: handlers per category and reassigning, a handlers' chat, duplicates,
the resolution in the group (after quiet hours), "is it still fixed?" weeks later, the
reporter's comments, filtered lists and an export of one period."""

from datetime import UTC, datetime, timedelta

from bot.domain.models import DueWork
from bot.domain.reports import ReportStatus, Timer
from bot.fakeapi.server import Fault
from handlers.reports import callbacks as report_buttons
from handlers.reports.jobs import still_fixed
from handlers.settings import SETTING
from storage import reports as store
from tests.helpers import audit_log, back_after_outage, introduce
from tests.test_reports import _building, _file, _report


async def _card_for(api, chat_id, report_id):
    """The card of a report in a chat (it may still be on its way)."""
    def is_card(call):
        return call.chat_id == chat_id and bool(call.buttons) and call.buttons[0].get(
            "callback_data", "").startswith(f"rh:{report_id}:")
    return await api.wait_for(("sendMessage", "sendPhoto"), where=is_card)


async def test_categories_route_to_their_handlers_and_a_handler_reassigns(bot, api, tg, clock):
    clock.set(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    lee = tg.person("Lee", username="lee", language_code="en")
    wang = tg.person("Wang", username="wang", language_code="zh-hans")
    await introduce(bot, tg, group, lee, wang)
    for person in (lee, wang):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    # Fixer handles everything; Lee only lifts; Wang water, named in Chinese.
    mark = api.mark()
    await tg.say(group, owner, "/role @lee handler lift")
    granted = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert granted.text == "Lee 现在是本群的处理人，负责：电梯。"
    mark = api.mark()
    await tg.say(group, owner, "/role @wang handler 供水")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    grant = (await audit_log(bot, stored.id))[0]
    assert grant.details["categories"] == ["water"]
    mark = api.mark()
    await tg.say(group, owner, "/role @wang resident lift")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert refused.text.startswith("只有处理人可以指定负责的报告类别")

    mark = api.mark()
    await _file(api, tg, group, ann, stored.id, category="water", where="rp:w:a:2")
    water, _p, _e = await _report(bot, stored.id)
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == wang.id
                       and c.buttons)
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                       and c.buttons)
    assert [c for c in api.sent(chat_id=lee.id, after=mark) if c.buttons] == []
    card = await _card_for(api, wang.id, water.id)
    assert card.text.startswith("R-0001 · 供水")

    # Wang passes it to Lee; a resident pressing the same button is refused.
    mark = api.mark()
    await tg.press(wang, card, report_buttons.HANDLE.data(water.id, "pass"))
    offer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == wang.id)
    assert offer.text == "把 R-0001 转给谁？"
    names = {b["text"]: b["callback_data"] for b in offer.buttons}
    assert {"Fixer", "Lee", "Owner"} <= set(names) and "Wang" in names  # not the assignee yet
    mark = api.mark()
    await tg.press(bob, offer, names["Lee"])
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text").startswith("Sorry, only the building's handlers")
    mark = api.mark()
    await tg.press(wang, offer, names["Lee"])
    handed = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == lee.id)
    assert handed.text.startswith("Wang passed this report to you.\n\nR-0001 · Water")
    assert "With: Lee" in handed.text
    done = await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == wang.id)
    assert done.text == "R-0001 现在由 Lee 负责。"
    water, _p, events = await _report(bot, stored.id)
    assert water.assignee_id == lee.id and events[-1].note == f"assign:{lee.id}"
    assert (await audit_log(bot, stored.id))[0].action == "report.reassign"
    # A stale offer (the report moved on) changes nothing.
    mark = api.mark()
    await tg.press(wang, offer, report_buttons.REASSIGN.data(water.id, 999999))
    stale = await api.wait_for("answerCallbackQuery", after=mark)
    assert stale.get("text") == "这个按钮已经过期了。"

    # The reminder before the acknowledge limit goes to Lee, who has it now.
    clock.advance(timedelta(hours=22, minutes=1))
    mark = api.mark()
    await bot.tick()
    reminder = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.text.startswith("Reminder"))
    assert reminder.chat_id == lee.id
    assert [c for c in api.sent(after=mark) if c.chat_id in (fixer.id, wang.id)] == []
    mark = api.mark()
    await tg.say(ann, ann, "/report R-0001")
    timeline = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert "Passed to Lee" in timeline.text


async def test_a_report_filed_as_telegram_fails_and_the_bot_dies_reaches_its_handler_once(
        bot, api, tg, clock):
    """Telegram fails on the handler's copy and the bot dies right after Ann was thanked:
    she is not told that nothing was changed (it was filed), and once the bot is back the
    copy reaches Fixer, once, with the group's notice, once."""
    group, _owner, stored, fixer, ann, _bob = await _building(bot, api, tg)
    down = Fault("sendMessage", "500", times=1000,
                 where=lambda params: str(params.get("chat_id")) == str(fixer.id))
    api.faults.append(down)
    done, mark = await _file(api, tg, group, ann, stored.id)
    assert done.text.startswith("Thank you! Your report is R-0001.")
    await bot.settled()
    assert [c.text for c in api.sent(chat_id=ann.id, after=mark)
            if "went wrong" in c.text] == []
    assert api.sent(chat_id=fixer.id, after=mark) == []
    await back_after_outage(bot, clock, down, minutes=11)
    cards = [c for c in api.sent(chat_id=fixer.id, after=mark) if c.buttons]
    assert [c.text.splitlines()[0] for c in cards] == ["R-0001 · Lift"]
    report, _photos, _events = await _report(bot, stored.id)
    assert report.notices == [[fixer.id, cards[0].result["message_id"]]]
    notices = [c for c in api.sent(chat_id=group.id, after=mark) if "R-0001" in c.text]
    assert len(notices) == 1
    clock.advance(timedelta(minutes=30))  # nothing is left to go again
    await bot.tick()
    await bot.settled()
    assert len([c for c in api.sent(chat_id=fixer.id, after=mark) if c.buttons]) == 1


async def test_a_handlers_chat_receives_reports_and_answers_by_reply(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    crew = tg.group("Elm House repairs")
    tg.set_status(crew, owner, "creator")
    mark = api.mark()
    await tg.add_bot(crew, owner)
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "接收新报告的处理人群：未关联" in panel.text
    mark = api.mark()
    await tg.press(owner, panel, SETTING.data(stored.id, "hc", "link"))
    alert = await api.wait_for("answerCallbackQuery", after=mark)
    assert alert.get("text").startswith("Add me to your handlers' chat")
    code = alert.get("text").rsplit(" ", 1)[-1]
    mark = api.mark()
    await tg.say(crew, owner, f"/settings link {code}")
    linked = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == crew.id)
    assert linked.text.startswith("本群现在接收 Elm House 的新报告。")
    assert (await audit_log(bot, stored.id))[0].action == "handlers_chat.link"

    mark = api.mark()
    await _file(api, tg, group, ann, stored.id)
    report, _p, _e = await _report(bot, stored.id)
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == crew.id)
    assert card.text.startswith("R-0001 · 电梯")
    assert [c for c in api.sent(chat_id=fixer.id, after=mark) if c.buttons] == []
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and c.buttons and c.buttons[0].get("callback_data", "")[:3] == "rm:")

    # In the chat, Resolved asks for a reply (privacy mode lets replies through).
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
    prompt = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == crew.id)
    assert prompt.params["reply_markup"]["force_reply"] is True
    assert "What was done?" in prompt.text
    mark = api.mark()
    await tg.say(crew, fixer, "New bulb fitted.", reply_to=prompt.result)
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id
                              and "is now resolved" in c.text)
    assert told.text.endswith("Note: New bulb fitted.")
    notice = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                and "已处理完毕" in c.text)
    assert notice.text == "R-0001（电梯）已处理完毕。\n说明：New bulb fitted."
    assert notice.params["reply_parameters"]["message_id"] == post.result["message_id"]
    report, _p, _e = await _report(bot, stored.id)
    assert report.status is ReportStatus.RESOLVED


async def test_a_duplicate_makes_its_reporter_follow_the_original(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)
    await _file(api, tg, group, bob, stored.id)
    first, _p, _e = await _report(bot, stored.id, 1)
    second, _p, _e = await _report(bot, stored.id, 2)
    mark = api.mark()
    card = await _card_for(api, fixer.id, second.id)
    await tg.press(fixer, card, report_buttons.HANDLE.data(second.id, "reject"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    await tg.say(fixer, fixer, "Duplicate of R-0001, same light.")
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bob.id)
    assert told.text == ("R-0002 (Lift) is now a duplicate.\nNote: Duplicate of R-0001, same "
                         "light.\nI will tell you how R-0001 goes instead.")
    second, _p, _e = await _report(bot, stored.id, 2)
    assert second.status is ReportStatus.DUPLICATE and second.duplicate_of == first.id
    async with bot.services.db.transaction() as conn:
        assert await store.followers(conn, first.id) == [bob.id]
    mark = api.mark()
    card = await _card_for(api, fixer.id, first.id)
    await tg.press(fixer, card, report_buttons.HANDLE.data(first.id, "ack"))
    heard = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bob.id)
    assert heard.text == "R-0001 (Lift) is now acknowledged."
    # A rejection naming no other report stays a rejection.
    await _file(api, tg, group, bob, stored.id)
    third, _p, _e = await _report(bot, stored.id, 3)
    mark = api.mark()
    card = await _card_for(api, fixer.id, third.id)
    await tg.press(fixer, card, report_buttons.HANDLE.data(third.id, "reject"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    await tg.say(fixer, fixer, "Not ours: the district's lamp (see R-0003).")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bob.id)
    third, _p, _e = await _report(bot, stored.id, 3)
    assert third.status is ReportStatus.REJECTED


async def test_resolution_waits_out_quiet_hours_and_weeks_later_it_broke_again(
        bot, api, tg, clock):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    clock.set(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    mark = api.mark()
    await _file(api, tg, group, ann, stored.id)
    report, _p, _e = await _report(bot, stored.id)
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and c.buttons and c.buttons[0].get("callback_data", "")[:3] == "rm:")
    mark = api.mark()
    await tg.press(bob, post, report_buttons.ME_TOO.data(report.id))
    await api.wait_for("answerCallbackQuery", after=mark)

    # Resolved at 23:00 with an "after" photo: the group hears at 07:30, the reporter now.
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    mark = api.mark()
    card = await _card_for(api, fixer.id, report.id)
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    after = await tg.send_photo(fixer, fixer, caption="Replaced the fitting.")
    ask = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id
                             and "really fixed" in c.text)
    assert api.sent(chat_id=group.id, after=mark) == []
    assert api.sent("sendPhoto", chat_id=group.id, after=mark) == []
    clock.set(datetime(2026, 11, 23, 23, 31, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    notice = await api.wait_for("sendPhoto", after=mark, where=lambda c: c.chat_id == group.id)
    assert notice.params["photo"] == after["photo"][-1]["file_id"]
    assert notice.result["caption"] == "R-0001（电梯）已处理完毕。\n说明：Replaced the fitting."
    assert notice.params["reply_parameters"]["message_id"] == post.result["message_id"]

    # Ann rates it and adds a comment, then confirms it is fixed.
    mark = api.mark()
    await tg.press(ann, ask, report_buttons.RATING.data(report.id, 4))
    more = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert more.text.startswith("Anything to add?")
    left = await api.wait_for("editMessageReplyMarkup", after=mark)
    assert [b["callback_data"] for b in left.params["reply_markup"]["inline_keyboard"][0]] == [
        f"rf:{report.id}:yes", f"rf:{report.id}:no"]
    mark = api.mark()
    await tg.say(ann, ann, "Quick work, thanks.")
    thanks = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert thanks.text == "Thank you, I added it to R-0001."
    mark = api.mark()
    await tg.press(ann, ask, report_buttons.FIXED.data(report.id, "yes"))
    await api.wait_for("answerCallbackQuery", after=mark)
    report, _p, events = await _report(bot, stored.id)
    assert report.status is ReportStatus.CLOSED
    assert "comment:Quick work, thanks." in [e.note for e in events]

    # 28 days later the reporter and the follower are asked once; Bob says it broke again.
    clock.set(datetime(2026, 12, 22, 2, 0, tzinfo=UTC))  # 28 days on, 10:00 in Shanghai
    mark = api.mark()
    assert await bot.tick() >= 1
    question = "A few weeks ago R-0001 (Lift) was fixed. Is it still fixed?"
    asked = {c.chat_id: c for c in [
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=p: c.chat_id == p.id
                           and c.text == question) for p in (ann, bob)]}
    assert await bot.tick() == 0
    # The item handled again, as after a crash before the scheduler noted it (its lease
    # has moved its time on): nobody is asked twice.
    await still_fixed(bot.app, DueWork(id=0, kind=Timer.STILL_FIXED.value, key=str(report.id),
                                       due_at=clock.now(), payload={"report": report.id}))
    await bot.settled()
    assert sorted(c.chat_id for c in api.sent(after=mark) if c.text == question) == sorted(
        [ann.id, bob.id])
    mark = api.mark()
    await tg.press(bob, asked[bob.id], report_buttons.STILL_FIXED.data(report.id, "no"))
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    assert told.text == "R-0001 was reopened: a neighbour says it is broken again."
    prompt = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bob.id
                                and c.text.startswith("What is still wrong?"))
    assert prompt
    mark = api.mark()
    await tg.say(bob, bob, "It flickers again every evening.")
    forwarded = await api.wait_for("sendMessage", after=mark,
                                   where=lambda c: c.chat_id == fixer.id)
    assert forwarded.text == "About R-0001, a neighbour adds: It flickers again every evening."
    report, _p, _e = await _report(bot, stored.id)
    assert report.status is ReportStatus.REOPENED
    # Ann's question is stale now: the report is no longer closed.
    mark = api.mark()
    await tg.press(ann, asked[ann.id], report_buttons.STILL_FIXED.data(report.id, "yes"))
    await api.wait_for("answerCallbackQuery", after=mark)
    # Someone who was never asked cannot answer.
    mark = api.mark()
    await tg.press(owner, asked[ann.id], report_buttons.STILL_FIXED.data(report.id, "no"))
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == "This button is out of date."


async def test_lists_filter_by_kind_and_status_and_export_takes_a_period(bot, api, tg, clock):
    import json

    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    clock.set(datetime(2026, 10, 20, 3, 0, tzinfo=UTC))
    await _file(api, tg, group, ann, stored.id, category="water")
    clock.set(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    await _file(api, tg, group, bob, stored.id)
    lift, _p, _e = await _report(bot, stored.id, 2)
    mark = api.mark()
    card = await _card_for(api, fixer.id, lift.id)
    await tg.press(fixer, card, report_buttons.HANDLE.data(lift.id, "ack"))
    await api.wait_for("answerCallbackQuery", after=mark)

    async def listing(text):
        mark = api.mark()
        await tg.say(fixer, fixer, text)
        return (await api.wait_for("sendMessage", after=mark,
                                   where=lambda c: c.chat_id == fixer.id)).text.splitlines()

    assert await listing("/reports open water") == ["Open reports in Elm House",
                                                    "R-0001 · Water · new"]
    assert await listing("/reports open lift acknowledged") == [
        "Open reports in Elm House", "R-0002 · Lift · acknowledged"]
    assert await listing("/reports open lift new") == ["Open reports in Elm House", "None."]
    assert (await listing("/reports open sideways"))[0].startswith("I can filter by kind")

    mark = api.mark()
    await tg.say(group, owner, "/export reports 2026-10")
    files = await api.wait_count("sendDocument", 3, after=mark)
    by_name = {api.upload(c)[0]: api.upload(c)[1]
               for c in files}
    assert [r["service_request_id"] for r in json.loads(by_name["reports-open311.json"])] == [
        "R-0001"]
    mark = api.mark()
    await tg.say(group, owner, "/export reports 7")
    files = await api.wait_count("sendDocument", 3, after=mark)
    by_name = {api.upload(c)[0]: api.upload(c)[1]
               for c in files}
    assert [r["service_request_id"] for r in json.loads(by_name["reports-open311.json"])] == [
        "R-0002"]
    mark = api.mark()
    await tg.say(group, owner, "/export reports lately")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                               and "/export reports 30" in c.text)
    assert reply.text.startswith("请用天数或月份表示时间段")
    assert api.sent("sendDocument", after=mark) == []
