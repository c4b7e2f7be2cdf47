"""Volunteer activities and rewards, end to end: an activity from its post through seats to
the organiser's attendance, which gives the volunteering points and the time credits;
a reward redeemed until it runs out of stock, points spent once and never beyond what a
person has, delivered by the moderators."""

import io
from datetime import timedelta

from pdfminer.high_level import extract_text

from bot.domain.points import Action
from bot.points import award
from handlers import rewards as reward_buttons
from handlers import volunteering as activity_buttons
from storage import communities, points
from storage import helping as bank
from storage import rewards as reward_store
from storage import volunteering as activity_store
from tests.test_helping import EITHER, _pressed, _started, _to
from tests.test_polls import ROWS, _building


def _group(group):
    return lambda c: c.chat_id == group.id


async def _say(api, tg, where, who, text, *, to=None):
    mark = api.mark()
    await tg.say(where, who, text)
    return await api.wait_for("sendMessage", after=mark, where=to or _to(where))


async def test_an_activity_from_its_post_through_seats_to_attendance(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob, cal, dee = people["Ann"], people["Bob"], people["Cal"], people["Dee"]
    await _started(api, tg, [ann, bob, cal, dee])
    refused = await _say(api, tg, group, ann, "/volunteer", to=_group(group))
    assert refused.text.startswith("抱歉，只有本群管理员")
    await _say(api, tg, owner, owner, "/volunteer")
    await _say(api, tg, owner, owner, "Garden day in the courtyard")
    lengths = await _say(api, tg, owner, owner, "2026-11-28 09:00")
    seats = await _pressed(api, tg, owner, lengths, activity_buttons.LENGTH.data(4), EITHER)
    assert seats.text == "How many seats? Type a number from 1 to 200."
    wrong = await _say(api, tg, owner, owner, "lots")
    assert wrong.text == "Please type a number from 1 to 200."
    kinds = await _say(api, tg, owner, owner, "2")
    mark = api.mark()
    await tg.press(owner, kinds, activity_buttons.KIND.data("environment"))
    done = await api.wait_for(EITHER, after=mark, where=_to(owner))
    assert done.text == "Posted to Elm House as V-1. After it, I will ask you who came."
    post = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert post.text.splitlines() == ["🌱 V-1 · 志愿活动 · Garden day in the courtyard",
                                      "时间：2026-11-28 09:00，约 2 小时",
                                      "名额：已报 0/2", "组织者：Owner"]
    activity_id = int(post.buttons[0]["callback_data"].split(":")[1])
    take, give_back = (activity_buttons.SEAT.data(activity_id, "take"),
                       activity_buttons.SEAT.data(activity_id, "back"))

    assert (await _pressed(api, tg, ann, post, take)).get("text") == \
        "You have a seat at V-1. See you there!"
    assert (await _pressed(api, tg, ann, post, take)).get("text") == "You already have a seat."
    await _pressed(api, tg, bob, post, take)
    assert (await _pressed(api, tg, cal, post, take)).get("text") == "Every seat is taken, sorry."
    assert (await _pressed(api, tg, bob, post, give_back)).get("text") == \
        "Your seat at V-1 is free again."
    assert (await _pressed(api, tg, bob, post, give_back)).get("text") == \
        "You had no seat to give back."
    mark = api.mark()
    await tg.press(cal, post, take)
    full = await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id ==
                              group.id and "已报 2/2" in c.text)
    assert [b["text"] for b in full.buttons] == ["报名", "取消报名"]
    # Once it has begun, no more sign-ups.
    clock.set(clock.now().replace(year=2026, month=11, day=28, hour=1, minute=0))
    assert (await _pressed(api, tg, dee, post, take)).get("text") == \
        "Sign-up for this activity has closed."

    # Half an hour after the end, the organiser ticks who came.
    activity = await _activity(bot, activity_id)
    clock.set(activity.ends_at + timedelta(minutes=31))
    mark = api.mark()
    await bot.tick()
    card = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    assert card.text.startswith("Who came to V-1 “Garden day in the courtyard”?")
    assert [b["text"] for b in card.buttons] == ["☐ Ann", "☐ Cal", "Confirm who came"]
    not_theirs = await _pressed(api, tg, ann, card,
                                activity_buttons.ATTENDED.data(activity_id, ann.id))
    assert not_theirs.get("text") == "Only the organiser can say who came."
    ticked = await _pressed(api, tg, owner, card,
                            activity_buttons.ATTENDED.data(activity_id, ann.id),
                            "editMessageText")
    assert [b["text"] for b in ticked.buttons] == ["✅ Ann", "☐ Cal", "Confirm who came"]
    mark = api.mark()
    await tg.press(owner, card, activity_buttons.HELD.data(activity_id))
    thanked = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert thanked.text == ("Thank you for coming to V-1 “Garden day in the courtyard”: 2 h, "
                            "2 credits in your time bank and the volunteering points.")
    held = await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id ==
                              group.id and "已举行" in c.text)
    assert held.text.splitlines()[-1] == "已举行：1 人参加，共付出 2 小时。谢谢！"
    assert held.buttons == []
    again = await _pressed(api, tg, owner, card, activity_buttons.HELD.data(activity_id))
    assert again.get("text") == "Attendance was confirmed before."
    async with bot.services.db.transaction() as conn:
        assert await bank.balance(conn, stored.id, ann.id) == 200  # 2 h × 1 (environment)
        assert await bank.balance(conn, stored.id, cal.id) == 0
        assert await points.earned(conn, stored.id, ann.id, action="volunteer") == 10
        assert await points.earned(conn, stored.id, cal.id) == 0
    # Ann's certificate of the year's hours; Cal has none.
    mark = api.mark()
    await tg.say(ann, ann, "/timebank certificate 2026")
    document = await api.wait_for("sendDocument", after=mark, where=_to(ann))
    assert document.params["caption"] == "Your volunteer hours in Elm House for 2026: 2 h."
    name, content = api.upload(document)
    assert name == "volunteer-hours-2026.pdf"
    text = " ".join(extract_text(io.BytesIO(content)).split())
    for expected in ("Certificate of volunteer service, 2026",
                     "Ann gave 2 h of service to the neighbours of Elm House in 2026: helping "
                     "a neighbour 0 times and at 1 volunteer activities.",
                     "2026-11-28 V-1 Garden day in the courtyard 2"):
        assert expected in text, (expected, text)
    none = await _say(api, tg, cal, cal, "/timebank certificate")
    assert none.text == "You have no confirmed volunteer hours in 2026 yet."
    # The month's leaderboard says what neighbours gave.
    top = await _say(api, tg, group, bob, "/top", to=_group(group))
    assert top.text.splitlines()[-1] == ("本月邻居们共付出 2 小时：互相帮助 0 次，"
                                         "参加志愿活动 1 次。")
    # The week's summary says it was held.
    clock.set(activity.ends_at + timedelta(days=1))
    summary = await _say(api, tg, group, owner, "/summary",
                         to=lambda c: c.chat_id == group.id and "本周" in c.text)
    assert "志愿活动：举办 1 次，共付出 2 小时。" in summary.text.splitlines()


async def _activity(bot, activity_id):
    async with bot.services.db.transaction() as conn:
        return await activity_store.get(conn, activity_id)


async def test_a_reward_redeemed_until_it_runs_out(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob = people["Ann"], people["Bob"]
    await _started(api, tg, [ann, bob])
    async with bot.services.db.transaction() as conn:
        community = await communities.by_id(conn, stored.id)
        for person in (ann, bob):
            for act in ("V-1", "V-2"):  # 10 a day at most: two days' volunteering
                await award(conn, bot.services.settings.points, community, user_id=person.id,
                            action=Action.VOLUNTEER, ref=act, now=clock.now())
            clock.advance(timedelta(days=1))
    bad = await _say(api, tg, group, owner, "/rewards add lots", to=_group(group))
    assert bad.text.startswith("请这样写：/rewards add 50 3 停车券")
    added = await _say(api, tg, group, owner, "/rewards add 12 1 Parking voucher",
                       to=_group(group))
    assert added.text == "已添加 G-1 Parking voucher — 12 积分（剩 1 件）。"
    not_mod = await _say(api, tg, group, ann, "/rewards add 1 99 Free money", to=_group(group))
    assert not_mod.text.startswith("抱歉，只有本群管理员")

    listing = await _say(api, tg, ann, ann, "/rewards")
    assert listing.text.splitlines() == ["Rewards in Elm House: you have 20 points to spend.",
                                         "G-1 Parking voucher — 12 points (1 left)"]
    assert [b["text"] for b in listing.buttons] == ["Redeem G-1 (12)"]
    reward_id = int(listing.buttons[0]["callback_data"].split(":")[1])
    sure = await _pressed(api, tg, ann, listing, reward_buttons.REDEEM.data(reward_id),
                          "editMessageText")
    assert sure.text == "Redeem Parking voucher for 12 points? You have 20."
    mark = api.mark()
    await tg.press(ann, listing, reward_buttons.SURE.data(reward_id))
    redeemed = await api.wait_for("editMessageText", after=mark, where=_to(ann))
    assert redeemed.text == ("Redeemed Parking voucher for 12 points. The committee has been "
                             "told and will hand it over.")
    asked = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    assert asked.text == ("Ann redeemed G-1 Parking voucher for 12 points in Elm House. Press "
                          "the button once it is handed over.")
    # The same confirmation pressed again spends nothing more.
    twice = await _pressed(api, tg, ann, listing, reward_buttons.SURE.data(reward_id))
    assert twice.get("text") == "You redeemed this already."
    # Bob finds it out of stock: no button, and a forged press spends nothing.
    listing = await _say(api, tg, bob, bob, "/rewards")
    assert "G-1 Parking voucher — 12 points (out of stock)" in listing.text
    assert listing.buttons == []
    sold_out = await _pressed(api, tg, bob, listing, reward_buttons.SURE.data(reward_id))
    assert sold_out.get("text") == "Sorry, G-1 is out of stock."
    # More stock; Ann has 8 points left: she cannot spend what she does not have.
    restocked = await _say(api, tg, group, owner, "/rewards stock G-1 2", to=_group(group))
    assert restocked.text == "现在：G-1 Parking voucher — 12 积分（剩 2 件）。"
    listing = await _say(api, tg, ann, ann, "/rewards")
    assert listing.text.startswith("Rewards in Elm House: you have 8 points to spend.")
    broke = await _pressed(api, tg, ann, listing, reward_buttons.SURE.data(reward_id))
    assert broke.get("text") == ("You have 8 points to spend; G-1 costs 12. Nothing was "
                                 "spent.")
    async with bot.services.db.transaction() as conn:
        assert (await reward_store.get(conn, reward_id)).stock == 2
        assert await reward_store.spendable(conn, stored.id, ann.id) == 8
        assert await reward_store.spendable(conn, stored.id, bob.id) == 20
    # The moderators hand it over; only they can say so, once.
    delivered = asked.buttons[0]["callback_data"]
    assert (await _pressed(api, tg, bob, asked, delivered)).get("text") == \
        "This button is out of date."
    mark = api.mark()
    await tg.press(owner, asked, delivered)
    told = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert told.text == "Parking voucher (G-1) has been handed over to you. Enjoy it!"
    assert (await _pressed(api, tg, owner, asked, delivered)).get("text") == \
        "This was marked delivered before."


async def test_a_moderator_takes_back_one_attendees_hours(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob = people["Ann"], people["Bob"]
    await _started(api, tg, [ann, bob])
    await _say(api, tg, owner, owner, "/volunteer")
    await _say(api, tg, owner, owner, "Stairwell clean-up")
    lengths = await _say(api, tg, owner, owner, "2026-11-28 09:00")
    await _pressed(api, tg, owner, lengths, activity_buttons.LENGTH.data(2), EITHER)
    kinds = await _say(api, tg, owner, owner, "5")
    mark = api.mark()
    await tg.press(owner, kinds, activity_buttons.KIND.data("environment"))
    post = await api.wait_for("sendMessage", after=mark, where=_group(group))
    activity_id = int(post.buttons[0]["callback_data"].split(":")[1])
    for person in (ann, bob):
        await _pressed(api, tg, person, post, activity_buttons.SEAT.data(activity_id, "take"))
    clock.set((await _activity(bot, activity_id)).ends_at + timedelta(minutes=31))
    mark = api.mark()
    await bot.tick()
    card = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    for person in (ann, bob):
        await _pressed(api, tg, owner, card,
                       activity_buttons.ATTENDED.data(activity_id, person.id), "editMessageText")
    mark = api.mark()
    await tg.press(owner, card, activity_buttons.HELD.data(activity_id))
    await api.wait_for("sendMessage", after=mark, where=_to(bob))

    not_mod = await _say(api, tg, group, ann, "/volunteer undo V-1 Bob no", to=_group(group))
    assert not_mod.text.startswith("抱歉，只有本群管理员")
    unknown = await _say(api, tg, group, owner, "/volunteer undo V-1 Zed no", to=_group(group))
    assert unknown.text.startswith("请这样写：/volunteer undo V-1 姓名 原因")
    mark = api.mark()
    await tg.say(group, owner, "/volunteer undo V-1 Bob left after ten minutes")
    undone = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert undone.text == "已收回 Bob 在 V-1 的 1 时间积分和 10 积分，并已告知原因。"
    told = await api.wait_for("sendMessage", after=mark, where=_to(bob))
    assert told.text == ("The moderators of Elm House took back your attendance at V-1: 1 "
                         "credits and 10 points. Their reason: left after ten minutes")
    edited = await api.wait_for("editMessageText", after=mark, where=_group(group))
    assert edited.text.splitlines()[-1] == "已举行：1 人参加，共付出 1 小时。谢谢！"
    async with bot.services.db.transaction() as conn:
        assert await bank.balance(conn, stored.id, bob.id) == 0
        assert await points.earned(conn, stored.id, bob.id) == 0
        assert await bank.balance(conn, stored.id, ann.id) == 100
    again = await _say(api, tg, group, owner, "/volunteer undo V-1 Bob twice", to=_group(group))
    assert again.text.startswith("请这样写：/volunteer undo V-1")  # he is no longer on it
