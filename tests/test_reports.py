"""Reports end to end: filing (album, reply to a group photo, location, anonymous), routing
to the handler, the status path with notifications, the time limits by the moved clock,
and the "is it fixed?" follow-up."""

from datetime import UTC, datetime, timedelta

from bot.domain.reports import ReportStatus
from handlers.reports import callbacks as report_buttons
from storage import points as ledger
from storage import reports as store
from tests.helpers import group_with_bot, introduce


async def _building(bot, api, tg):
    """A group; its owner (moderator) and a handler, both with a private chat; residents."""
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    fixer = tg.person("Fixer", username="fixer", language_code="en")
    ann = tg.person("Ann", username="ann", language_code="en")
    bob = tg.person("Bob", username="bob", language_code="en")
    await introduce(bot, tg, group, fixer, ann, bob)
    mark = api.mark()
    await tg.say(group, owner, "/role @fixer handler")
    await api.wait_for("sendMessage", after=mark)
    for person in (owner, fixer, ann, bob):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    return group, owner, stored, fixer, ann, bob


async def _file(api, tg, group, who, community_id, *, album=0, caption="", where="rp:w:a:0",
                description="The lobby light is broken.", anonymous=False, from_reply=None,
                category="lift"):
    to_who = lambda c: c.chat_id == who.id  # noqa: E731
    mark = api.mark()
    if from_reply is not None:
        await tg.say(group, who, "/report", reply_to=from_reply)
    else:
        await tg.say(group, who, "/report")
    handover = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                  and c.buttons and "url" in c.buttons[0])
    assert handover.buttons[0]["url"].endswith(f"start=report_{community_id}")
    mark = api.mark()
    await tg.say(who, who, f"/start report_{community_id}")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_who)
    mark = api.mark()
    await tg.press(who, kinds, report_buttons.CATEGORY.data(category))
    step = await api.wait_for("editMessageText", after=mark, where=to_who)
    if album:
        mark = api.mark()
        await tg.send_album(who, who, album, caption=caption)
        got = await api.wait_for("sendMessage", after=mark, where=to_who)
        mark = api.mark()
        await tg.press(who, got, report_buttons.PHOTOS_DONE.data())
        step = await api.wait_for("editMessageText", after=mark, where=to_who)
    elif from_reply is None:
        mark = api.mark()
        await tg.press(who, step, report_buttons.PHOTOS_DONE.data())
        step = await api.wait_for("editMessageText", after=mark, where=to_who)
    if "What is wrong?" in step.text:
        mark = api.mark()
        await tg.say(who, who, description)
        step = await api.wait_for("sendMessage", after=mark, where=to_who)
    assert step.text.startswith("Where is it?")
    mark = api.mark()
    if where.startswith("rp:"):
        await tg.press(who, step, where)
        confirm = await api.wait_for("editMessageText", after=mark, where=to_who)
    elif where == "pin":
        await tg.send_location(who, who, 31.23, 121.47)
        confirm = await api.wait_for("sendMessage", after=mark, where=to_who)
    else:
        await tg.say(who, who, where)
        confirm = await api.wait_for("sendMessage", after=mark, where=to_who)
    if anonymous:
        mark = api.mark()
        await tg.press(who, confirm, report_buttons.ANONYMOUS.data())
        confirm = await api.wait_for("editMessageText", after=mark, where=to_who)
    mark = api.mark()
    await tg.press(who, confirm, report_buttons.SUBMIT.data())
    done = await api.wait_for("editMessageText", after=mark, where=to_who)
    return done, mark


async def _report(bot, community_id, number=1):
    async with bot.services.db.transaction() as conn:
        report = await store.by_number(conn, community_id, number)
        return report, await store.photos(conn, report.id), await store.timeline(conn,
                                                                                  report.id)


async def test_an_album_becomes_one_report_routed_to_the_handler_and_posted(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    done, mark = await _file(api, tg, group, ann, stored.id, album=4,
                             caption="Lift stuck on floor 3")
    assert done.text.startswith("Thank you! Your report is R-0001.")
    got_its = [c for c in api.sent(chat_id=ann.id) if c.text.startswith("Got it.")]
    assert len(got_its) == 1  # one answer for the album, not one per photo
    report, photos, events = await _report(bot, stored.id)
    assert len(photos) == 4 and report.description == "Lift stuck on floor 3"
    assert report.where_text == "Lobby" and [e.status for e in events] == [ReportStatus.NEW]
    # The handler gets every photo, as one album, then the card with its buttons.
    to_fixer = lambda c: c.chat_id == fixer.id  # noqa: E731
    album = await api.wait_for("sendMediaGroup", after=mark, where=to_fixer)
    assert [item["media"] for item in album.params["media"]] == photos
    to_handler = await api.wait_for("sendMessage", after=mark, where=to_fixer)
    assert "R-0001 · Lift" in to_handler.text and "Reported by Ann" in to_handler.text
    assert [b["callback_data"] for b in to_handler.buttons] == [
        f"rh:{report.id}:ack", f"rh:{report.id}:start", f"rh:{report.id}:resolve",
        f"rh:{report.id}:reject", f"rh:{report.id}:pass"]
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert post.buttons[0]["callback_data"] == f"rm:{report.id}"
    async with bot.services.db.transaction() as conn:
        assert await ledger.earned(conn, stored.id, ann.id) == 3


async def test_a_voice_description_and_a_pin_reach_the_handler_as_such(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
    mark = api.mark()
    await tg.say(ann, ann, f"/start report_{stored.id}")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, kinds, report_buttons.CATEGORY.data("lift"))
    step = await api.wait_for("editMessageText", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, step, report_buttons.PHOTOS_DONE.data())
    await api.wait_for("editMessageText", after=mark, where=to_ann)
    mark = api.mark()
    voice = await tg.send_voice(ann, ann)
    await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.send_location(ann, ann, 31.23, 121.47)
    confirm = await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, confirm, report_buttons.SUBMIT.data())
    await api.wait_for("editMessageText", after=mark, where=to_ann)
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    # Only a pin was sent: the card links to the map instead of showing two numbers.
    assert "Where: 📍 map pin" in card.text and "31.23000, 121.47000" not in card.text
    assert ('href="https://www.openstreetmap.org/?mlat=31.23000&amp;mlon=121.47000'
            in card.params["text"])
    spoken = await api.wait_for("sendVoice", after=mark, where=lambda c: c.chat_id == fixer.id)
    assert spoken.params["voice"] == voice["voice"]["file_id"]
    pin = await api.wait_for(("sendLocation", "sendVenue"), after=mark,
                             where=lambda c: c.chat_id == fixer.id)
    assert pin.result["location"] == {"latitude": 31.23, "longitude": 121.47}
    for sent in (spoken, pin):  # under the card, so the handler sees they belong together
        assert sent.result["reply_to_message"]["message_id"] == card.result["message_id"]


async def test_from_a_reply_to_a_group_photo_with_a_pin_and_anonymous(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    photo = await tg.send_photo(group, bob)
    done, mark = await _file(api, tg, group, bob, stored.id, from_reply=photo, where="pin",
                             anonymous=True)
    assert done.text.startswith("Thank you! Your report is R-0001.")
    report, photos, _events = await _report(bot, stored.id)
    assert photos == [photo["photo"][-1]["file_id"]]
    assert (report.latitude, report.longitude) == (31.23, 121.47) and report.anonymous
    to_handler = await api.wait_for("sendPhoto", after=mark, where=lambda c: c.chat_id == fixer.id)
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    for text in (to_handler.result["caption"], post.text):
        assert "Bob" not in text and "@bob" not in text
    assert "Reported by anonymous" in to_handler.result["caption"]


async def test_the_status_path_tells_the_reporter_and_a_follower(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    done, mark = await _file(api, tg, group, ann, stored.id, where="behind the bike shed")
    report, _p, _e = await _report(bot, stored.id)
    assert report.where_text == "behind the bike shed"
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    await tg.press(bob, post, report_buttons.ME_TOO.data(report.id))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text").startswith("Noted.")

    # A resident cannot press a handler's button.
    mark = api.mark()
    await tg.press(bob, card, report_buttons.HANDLE.data(report.id, "ack"))
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == ("Sorry, only the building's handlers can do that. "
                                   "Nothing was changed.")

    for action, status in (("ack", "acknowledged"), ("start", "being worked on")):
        mark = api.mark()
        await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, action))
        for person in (ann, bob):
            note = await api.wait_for("sendMessage", after=mark,
                                      where=lambda c, p=person: c.chat_id == p.id)
            assert note.text == f"R-0001 (Lift) is now {status}."
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    await tg.say(fixer, fixer, "Replaced the bulb.")
    note = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert note.text == "R-0001 (Lift) is now resolved.\nNote: Replaced the bulb."
    ask = await api.wait_for("sendMessage", after=mark,
                             where=lambda c: c.chat_id == ann.id and "really fixed" in c.text)
    mark = api.mark()
    await tg.press(ann, ask, report_buttons.FIXED.data(report.id, "yes"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "Thank you! R-0001 is closed."
    report, _p, events = await _report(bot, stored.id)
    assert report.status is ReportStatus.CLOSED
    assert [e.status.value for e in events] == ["new", "acknowledged", "in_progress",
                                                "resolved", "closed"]
    async with bot.services.db.transaction() as conn:
        assert await ledger.earned(conn, stored.id, ann.id) == 3 + 5
    mark = api.mark()
    await tg.say(ann, ann, "/report R-0001")
    # (The "closed" news, queued when she confirmed, may come just before it.)
    timeline = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id
                                  and "Timeline" in c.text)
    assert "Replaced the bulb." in timeline.text


async def test_not_fixed_reopens_and_silence_closes_unconfirmed(bot, api, tg, clock):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    for _n in range(2):
        await _file(api, tg, group, ann, stored.id)
    first, _p, _e = await _report(bot, stored.id, 1)
    second, _p, _e = await _report(bot, stored.id, 2)
    for report in (first, second):
        card = [c for c in api.sent(chat_id=fixer.id)
                if c.buttons and c.buttons[0]["callback_data"].startswith(f"rh:{report.id}:")][0]
        mark = api.mark()
        await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
        mark = api.mark()
        await tg.say(fixer, fixer, "Done.")
        await api.wait_for("sendMessage", after=mark,
                           where=lambda c: c.chat_id == ann.id and "really fixed" in c.text)
    ask = [c for c in api.sent(chat_id=ann.id) if "R-0001 really fixed" in c.text][0]
    mark = api.mark()
    await tg.press(ann, ask, report_buttons.FIXED.data(first.id, "no"))
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                              and "reopened" in c.text)
    assert told.text == "R-0001 was reopened: the reporter says it is not fixed."
    first, _p, _e = await _report(bot, stored.id, 1)
    assert first.status is ReportStatus.REOPENED
    # The group, which last read that R-0001 was resolved, hears that it is not.
    group_word = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                    group.id and "R-0001" in c.text)
    assert group_word.text == "R-0001（电梯）已重新打开：问题尚未解决。"
    assert group_word.result["reply_to_message"]["message_id"] == first.post_message_id
    # Nobody answers for R-0002: after 7 days it closes as resolved, unconfirmed.
    clock.advance(timedelta(days=7, minutes=1))
    mark = api.mark()
    await bot.tick()
    note = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id
                              and "R-0002" in c.text)
    assert "Resolved, unconfirmed" in note.text
    second, _p, _e = await _report(bot, stored.id, 2)
    assert second.status is ReportStatus.CLOSED


async def test_limits_escalate_once_never_in_quiet_hours_and_not_again_after_a_restart(
        bot, api, tg, clock):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai
    _done, filed = await _file(api, tg, group, ann, stored.id)  # lift: ack 4 h, resolve 24 h
    await api.wait_for("sendMessage", after=filed, where=lambda c: c.chat_id == fixer.id)
    await api.wait_for("sendMessage", after=filed, where=lambda c: c.chat_id == group.id)
    # The handler's reminder (at 23:00) and the acknowledge limit (midnight) fall in quiet
    # hours. The limit waits until 07:30; the reminder, which could only go after the limit
    # it warns of, is dropped.
    clock.set(datetime(2026, 11, 23, 16, 1, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1  # the reminder, dropped
    assert api.sent(chat_id=owner.id, after=mark) == []
    assert api.sent(chat_id=fixer.id, after=mark) == []
    # At 07:30 the escalation goes out, once, and not again after a restart.
    clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1  # the escalation
    assert not [c for c in api.sent(chat_id=fixer.id, after=mark)
                if c.text.startswith("Reminder:")]
    escalation = await api.wait_for("sendMessage", after=mark,
                                    where=lambda c: c.chat_id == owner.id)
    assert escalation.text == ("Overdue in Elm House: R-0001 (Lift) was not acknowledged in "
                               "time; it is still new.")
    await bot.restart()
    assert await bot.tick() == 0
    # The 24-hour limit passes at 20:00 the next day (its reminder at 18:00).
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1
    reminder = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == fixer.id)
    assert reminder.text.startswith("Reminder: R-0001 (Lift) should be resolved soon")
    # The reminder carries the buttons to act on the report.
    report, _p, _e = await _report(bot, stored.id, 1)
    assert [b["callback_data"] for b in reminder.buttons] == [
        f"rh:{report.id}:ack", f"rh:{report.id}:start", f"rh:{report.id}:resolve",
        f"rh:{report.id}:reject", f"rh:{report.id}:pass"]
    clock.set(datetime(2026, 11, 24, 12, 1, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    escalation = await api.wait_for("sendMessage", after=mark,
                                    where=lambda c: c.chat_id == owner.id)
    assert escalation.text == ("Overdue in Elm House: R-0001 (Lift) was not resolved in time; "
                               "it is new.")
    assert await bot.tick() == 0
    # From then on the handler is reminded every three days (the moderators are not told
    # again), until the report is resolved.
    for day in (27, 30):
        clock.set(datetime(2026, 11, day, 12, 2, tzinfo=UTC))
        mark = api.mark()
        await bot.tick()
        nudge = await api.wait_for("sendMessage", after=mark,
                                   where=lambda c: c.chat_id == fixer.id)
        assert nudge.text.startswith("Still overdue: R-0001 (Lift) was filed")
        assert api.sent(chat_id=owner.id, after=mark) == []
    report, _p, _e = await _report(bot, stored.id, 1)
    card = [c for c in api.sent(chat_id=fixer.id)
            if c.buttons and c.buttons[0]["callback_data"].startswith(f"rh:{report.id}:")][0]
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    await tg.say(fixer, fixer, "Fixed at last.")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id
                       and "really fixed" in c.text)
    clock.set(datetime(2026, 12, 3, 12, 3, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    assert not [c for c in api.sent(chat_id=fixer.id, after=mark) if "Still overdue" in c.text]


async def test_handlers_list_open_and_overdue_reports(bot, api, tg, clock):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)
    mark = api.mark()
    await tg.say(fixer, fixer, "/reports open")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                                   and "reports in" in c.text)
    assert listing.text.splitlines() == ["Open reports in Elm House", "R-0001 · Lift · new"]
    mark = api.mark()
    await tg.say(fixer, fixer, "/reports overdue")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                                   and "reports in" in c.text)
    assert listing.text.splitlines() == ["Overdue reports in Elm House", "None."]
    clock.advance(timedelta(hours=5))  # past the lift's 4-hour acknowledge limit
    mark = api.mark()
    await tg.say(fixer, fixer, "/reports overdue")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                                   and "reports in" in c.text)
    assert listing.text.splitlines()[1] == "R-0001 · Lift · new"
    mark = api.mark()
    await tg.say(bob, bob, "/reports overdue")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bob.id)
    assert refused.text.startswith("Sorry, only the building's handlers")


OPEN311_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "lat", "long", "media_count"}


async def test_export_reports_as_csv_xlsx_and_open311(bot, api, tg):
    import json
    from datetime import datetime as dt

    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id, album=2, caption="Lift stuck")
    await _file(api, tg, group, bob, stored.id, where="pin", anonymous=True)
    mark = api.mark()
    await tg.say(group, owner, "/export reports")
    files = await api.wait_count("sendDocument", 3, after=mark)
    by_name = {api.upload(c)[0]: api.upload(c)[1]
               for c in files}
    assert set(by_name) == {"reports.csv", "reports.xlsx", "reports-open311.json"}
    assert all(c.chat_id == owner.id for c in files)
    text = by_name["reports.csv"].decode("utf-8-sig")
    assert "R-0001" in text and "R-0002" in text and "Bob" not in text
    assert by_name["reports.xlsx"][:2] == b"PK"
    requests = json.loads(by_name["reports-open311.json"])
    assert [r["service_request_id"] for r in requests] == ["R-0001", "R-0002"]
    for request in requests:
        assert set(request) == OPEN311_FIELDS
        assert request["status"] in ("open", "closed")
        dt.fromisoformat(request["requested_datetime"])
        dt.fromisoformat(request["expected_datetime"])
    # No Telegram file id posing as a URL (nor a download link, which holds the token).
    assert requests[0]["media_count"] == 2 and requests[0]["address"] == "Lobby"
    assert "photo" not in json.dumps(requests) and "file" not in json.dumps(requests)
    assert (requests[1]["lat"], requests[1]["long"]) == (31.23, 121.47)
    mark = api.mark()
    await tg.say(group, ann, "/export reports")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                 and "管理员" in c.text)
    assert refused.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"


async def test_a_report_reopened_after_its_limit_gets_a_new_resolve_limit(bot, api, tg, clock):
    """Resolved in time, then "not fixed" two days later: the reopened report has a new
    24-hour resolve limit from the moment it reopened, and the moderators hear when it
    passes."""
    group, owner, stored, fixer, ann, _bob = await _building(bot, api, tg)
    await _file(api, tg, group, ann, stored.id)  # lift: resolve within 24 h
    report, _p, _e = await _report(bot, stored.id)
    card = await api.wait_for("sendMessage", where=lambda c: c.chat_id == fixer.id
                              and bool(c.buttons))
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    await tg.say(fixer, fixer, "New bulb.")
    ask = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id
                             and "really fixed" in c.text)
    # The first limit passes while it is resolved: nobody is told.
    clock.advance(timedelta(days=2))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=owner.id, after=mark) == []
    mark = api.mark()
    await tg.press(ann, ask, report_buttons.FIXED.data(report.id, "no"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                       and "reopened" in c.text)
    clock.advance(timedelta(hours=23, minutes=59))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=owner.id, after=mark) == []
    clock.advance(timedelta(minutes=2))
    mark = api.mark()
    await bot.tick()
    escalation = await api.wait_for("sendMessage", after=mark,
                                    where=lambda c: c.chat_id == owner.id)
    assert escalation.text == ("Overdue in Elm House: R-0001 (Lift) was not resolved in time; "
                               "it is reopened.")


async def test_the_reporter_sees_the_after_photo_and_report_shows_every_photo(bot, api, tg):
    group, owner, stored, fixer, ann, bob = await _building(bot, api, tg)
    _done, mark = await _file(api, tg, group, ann, stored.id, album=2, caption="Lift stuck")
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id
                              and bool(c.buttons))
    report, photos, _events = await _report(bot, stored.id)
    mark = api.mark()
    await tg.press(fixer, card, report_buttons.HANDLE.data(report.id, "resolve"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    mark = api.mark()
    after = await tg.send_photo(fixer, fixer, caption="New cable fitted.")
    told = await api.wait_for(("sendPhoto", "sendMessage"), after=mark,
                              where=lambda c: c.chat_id == ann.id)
    assert told.method == "sendPhoto"  # the "after" photo, in private
    assert told.params["photo"] == after["photo"][-1]["file_id"]
    assert told.text == "R-0001 (Lift) is now resolved.\nNote: New cable fitted."
    # The handler's copy (a text card after the album) was edited as text, not as a caption.
    edited = await api.wait_for("editMessageText", after=mark,
                                where=lambda c: c.chat_id == fixer.id)
    assert "R-0001 · Lift" in edited.text
    mark = api.mark()
    await tg.say(ann, ann, "/report R-0001")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    album = await api.wait_for("sendMediaGroup", after=mark, where=lambda c: c.chat_id == ann.id)
    assert [item["media"] for item in album.params["media"]] == [
        *photos, after["photo"][-1]["file_id"]]
