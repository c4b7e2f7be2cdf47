"""Decisions end to end: a passed poll makes one; its owner posts progress (with photos)
to the group and the followers; silence and lateness are chased by the moved clock; weeks
after "done" the group rates the result (回头看)."""

from datetime import UTC, datetime

from bot.domain.decisions import DecisionStatus
from bot.domain.models import DueWork
from handlers.decisions import callbacks as decision_buttons
from handlers.decisions.jobs import ask_rating
from handlers.decisions.lifecycle import RATING
from storage import decisions as store
from tests.helpers import group_with_bot, introduce
from tests.test_polls import ROWS, _building, _create, _vote


async def _decision(bot, community_id, number=1):
    async with bot.services.db.transaction() as conn:
        decision = await store.by_number(conn, community_id, number)
        return decision, await store.timeline(conn, decision.id)



async def _write_down(api, tg, owner, community_id, title):
    """A moderator follows the group's link to write a decision down and gives its title;
    returns the question of who owns it."""
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(owner, owner, f"/start decision_{community_id}")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, title)
    return await api.wait_for("sendMessage", after=mark, where=to_owner)

async def test_a_passed_poll_becomes_a_decision_with_progress_and_a_rating(bot, api, tg,
                                                                             clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    for person in people.values():
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    ann, bob, dee = people["Ann"], people["Bob"], people["Dee"]
    post, _c, _p = await _create(api, tg, group, owner, stored.id, deadline="3d")
    for voter in (ann, bob):
        await _vote(api, tg, voter, post, 0)
    clock.set(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))  # past the deadline, 11:00 local
    mark = api.mark()
    await bot.tick()
    asked = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id
                               and "decision" in c.text)
    assert asked.text.startswith("The vote made a decision in Elm House: D-1")
    decision, events = await _decision(bot, stored.id)
    assert decision.status is DecisionStatus.PLANNED and decision.poll_id is not None
    # The notice carries buttons for what the decision lacks; a due date two weeks ahead
    # leaves only the owner's button. Someone who is not a moderator changes nothing.
    assert [b["text"] for b in asked.buttons] == ["I will own it", "Due in 2 weeks",
                                                  "in a month", "in 3 months"]
    mark = api.mark()
    await tg.press(bob, asked, decision_buttons.TAKE.data(decision.id))
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text").startswith("Sorry, only the group's moderators")
    mark = api.mark()
    await tg.press(owner, asked, decision_buttons.DUE_IN.data(decision.id, "2w"))
    set_due = await api.wait_for("answerCallbackQuery", after=mark)
    assert set_due.get("text") == "D-1 is due 2026-12-10 18:00."
    left = await api.wait_for("editMessageReplyMarkup", after=mark)
    assert [b["text"] for row in left.params["reply_markup"]["inline_keyboard"]
            for b in row] == ["I will own it"]
    assert (await _decision(bot, stored.id))[0].owner_id is None

    # The moderator names Dee the owner (by replying to her) and sets a due date.
    offer = await tg.say(group, dee, "I can look after the painting.")
    mark = api.mark()
    await tg.say(group, owner, "/decision D-1 owner", reply_to=offer)
    named = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert named.text == "D-1 现在由 Dee 负责。"
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == dee.id)
    assert told.text.startswith("You are now the owner of D-1")
    mark = api.mark()
    await tg.say(group, owner, "/decision D-1 due 2026-12-20")
    due = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert due.text == "D-1 的截止日期是 2026-12-20 18:00。"
    mark = api.mark()
    await tg.say(group, bob, "/decision D-1 owner", reply_to=offer)
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert refused.text.startswith("抱歉，只有本群管理员")

    # Bob follows it from the group view.
    mark = api.mark()
    await tg.say(group, bob, "/decision D-1")
    view = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "D-1 · " in view.text and "负责人：Dee" in view.text
    mark = api.mark()
    await tg.press(bob, view, decision_buttons.FOLLOW.data(decision.id))
    followed = await api.wait_for("answerCallbackQuery", after=mark)
    assert followed.get("text").startswith("You follow D-1")

    # Dee posts 40 % with two photos and a next step.
    to_dee = lambda c: c.chat_id == dee.id  # noqa: E731
    mark = api.mark()
    await tg.say(dee, dee, "/progress")
    ask = await api.wait_for("sendMessage", after=mark, where=to_dee)
    assert ask.text.startswith("D-1 “") and "is at 0%" in ask.text
    mark = api.mark()
    await tg.press(dee, ask, decision_buttons.PERCENT.data(40))
    await api.wait_for("editMessageText", after=mark, where=to_dee)
    mark = api.mark()
    await tg.send_album(dee, dee, 2, caption="Primer done on floors 1-3")
    nxt = await api.wait_for("sendMessage", after=mark, where=to_dee)
    assert nxt.text.startswith("And the next step?")
    assert len([c for c in api.sent(chat_id=dee.id, after=mark)]) == 1  # one answer
    mark = api.mark()
    await tg.say(dee, dee, "Paint floors 4-6")
    posted = await api.wait_for("sendMessage", after=mark, where=to_dee)
    assert posted.text == "Posted. D-1 is at 40%."
    album = await api.wait_for("sendMediaGroup", after=mark)
    assert album.chat_id == group.id and len(album.params["media"]) == 2
    caption = api.messages[(group.id, album.result[0]["message_id"])]["caption"]
    assert "▓▓▓▓░░░░░░ 40%" in caption and "Primer done on floors 1-3" in caption
    assert "下一步：Paint floors 4-6" in caption
    for person in (ann, bob):  # voters and the follower
        news = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c, p=person: c.chat_id == p.id)
        assert news.text.startswith("News on a decision you follow in Elm House:")
        assert "What changed: Primer done on floors 1-3" in news.text
    decision, events = await _decision(bot, stored.id)
    assert decision.status is DecisionStatus.IN_PROGRESS and decision.progress == 40
    assert events[-1].photos and len(events[-1].photos) == 2

    # 100 % without photos: done, a text card with a Follow button.
    mark = api.mark()
    await tg.say(dee, dee, "/progress D-1")
    ask = await api.wait_for("sendMessage", after=mark, where=to_dee)
    mark = api.mark()
    await tg.say(dee, dee, "100")
    await api.wait_for("sendMessage", after=mark, where=to_dee)
    mark = api.mark()
    await tg.say(dee, dee, "All six floors painted.")
    skip = await api.wait_for("sendMessage", after=mark, where=to_dee)
    mark = api.mark()
    await tg.press(dee, skip, decision_buttons.NO_NEXT_STEP.data())
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert card.text.splitlines()[1] == "▓▓▓▓▓▓▓▓▓▓ 100% · 已完成"
    assert card.buttons[0]["callback_data"] == f"df:{decision.id}"
    decision, _e = await _decision(bot, stored.id)
    assert decision.status is DecisionStatus.DONE and decision.done_at is not None

    # 30 days later (daytime), the group is asked to rate it; one rating each, editable.
    clock.set(datetime(2026, 12, 27, 3, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    ask = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                             and "回头看" in c.text)
    assert [b["callback_data"] for b in ask.buttons] == [
        f"dr:{decision.id}:{n}" for n in range(1, 6)]
    # The item handled again, as after a crash before the scheduler noted it: asked once.
    await ask_rating(bot.app, DueWork(id=0, kind=RATING, key=str(decision.id),
                                      due_at=clock.now(), payload={"decision": decision.id}))
    await bot.settled()
    assert [c.text for c in api.sent(chat_id=group.id, after=mark)
            if "回头看" in c.text] == [ask.text]
    for who, stars in ((ann, 4), (bob, 2), (ann, 5)):
        mark = api.mark()
        await tg.press(who, ask, decision_buttons.RATE.data(decision.id, stars))
        await api.wait_for("answerCallbackQuery", after=mark)
        await api.wait_for("editMessageText", after=mark)
    edited = api.messages[(group.id, ask.result["message_id"])]
    assert "★ 3.5" in edited["text"] and "2 位邻居" in edited["text"]
    stranger = tg.person("Stranger", language_code="en")
    tg.set_status(group, stranger, "left")
    mark = api.mark()
    await tg.press(stranger, ask, decision_buttons.RATE.data(decision.id, 1))
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == "Only members of the group can rate this."
    async with bot.services.db.transaction() as conn:
        assert sorted(await store.ratings(conn, decision.id)) == [2, 5]


async def test_a_silent_owner_is_reminded_and_lateness_escalates_once(bot, api, tg, clock):
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    fixer = tg.person("Fixer", username="fixer", language_code="zh-hans")
    bob = tg.person("Bob", username="bob", language_code="en")
    await introduce(bot, tg, group, fixer, bob)
    for person in (owner, fixer, bob):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    for typed in ("/residents add 1-101 @fixer owner", "/role @bob handler"):
        mark = api.mark()
        await tg.say(group, owner, typed)
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(group, owner, "/decisions new")
    handover = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert handover.buttons[0]["url"].endswith(f"start=decision_{stored.id}")
    ask_owner = await _write_down(api, tg, owner, stored.id, "Fix the garage gate")
    # The group's handlers are offered by name.
    assert [b["text"] for b in ask_owner.buttons] == ["Bob", "Me", "Decide later"]
    mark = api.mark()
    await tg.press(owner, ask_owner, decision_buttons.OWNER_PERSON.data(fixer.id))  # forged
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == "This button is out of date."
    mark = api.mark()
    await tg.say(owner, owner, "@nobody_here")
    again = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert again.text.startswith("I do not know that person yet.")
    # Named as the roster knows them, without an @username.
    mark = api.mark()
    await tg.say(owner, owner, "fixer")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "2026-12-05")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "Order the motor\nFit the motor")
    done = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert done.text.startswith("Written down as D-1 and announced in the group;")
    # The group hears of it, with a button to follow it.
    announced = await api.wait_for("sendMessage", after=mark,
                                   where=lambda c: c.chat_id == group.id)
    assert announced.text.splitlines() == [
        "新决议：D-1“Fix the garage gate”", "负责人：Fixer", "截止：2026-12-05 18:00",
        "点“关注这项决议”可以收到进展通知；/decision D-1 查看全部。"]
    assert announced.buttons[0]["callback_data"] == f"df:{(await _decision(bot, stored.id))[0].id}"
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    assert told.text.startswith("你现在是 Elm House 的 D-1")
    decision, _e = await _decision(bot, stored.id)
    assert decision.owner_id == fixer.id

    # The owner ticks a milestone from the view.
    mark = api.mark()
    await tg.say(fixer, fixer, "/decision D-1")
    view = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    steps = [b["callback_data"] for b in view.buttons if b["callback_data"].startswith("dm:")]
    assert len(steps) == 2
    assert [b["text"] for b in view.buttons if b["callback_data"] in steps] == [
        "标记完成：Order the motor", "标记完成：Fit the motor"]
    mark = api.mark()
    await tg.press(bob, view, steps[0])
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == ("Sorry, only the group's moderators (or the decision's "
                                   "owner) can do that. Nothing was changed.")
    assert refused.get("show_alert") is True
    mark = api.mark()
    await tg.press(fixer, view, steps[0])
    ticked = await api.wait_for("answerCallbackQuery", after=mark)
    assert ticked.get("text") == "里程碑完成：Order the motor"
    # The card shows it: ticked, on the timeline, and Follow and the other step remain.
    card = await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id ==
                              fixer.id)
    assert "✅ Order the motor" in card.text and "▫️ Fit the motor" in card.text
    left = [b["callback_data"] for b in card.buttons]
    assert steps[0] not in left and steps[1] in left
    assert any(b["callback_data"].startswith("df:") for b in card.buttons)

    # A week without an update: the owner is reminded, once per week.
    clock.set(datetime(2026, 11, 30, 2, 1, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    nudge = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    assert "7 天" in nudge.text and "/progress D-1" in nudge.text
    assert await bot.tick() == 0
    # Two days before the due date (2026-12-03 18:00 local), then past it at 18:00 on
    # 2026-12-05: the moderators hear once, not again after a restart.
    clock.set(datetime(2026, 12, 3, 10, 1, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    soon = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == fixer.id)
    assert "截止" in soon.text
    clock.set(datetime(2026, 12, 5, 10, 1, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    late = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert late.text == ("Overdue in Elm House: D-1 “Fix the garage gate” was due "
                         "2026-12-05 18:00 and is at 0% (owner: Fixer).")
    await bot.restart()
    mark = api.mark()
    await bot.tick()
    assert [c for c in api.sent(chat_id=owner.id, after=mark) if "Overdue" in c.text] == []

    # The owner says it is blocked; the group reads why. A resident cannot.
    mark = api.mark()
    await tg.say(group, bob, "/decision D-1 blocked no reason")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert refused.text.startswith("抱歉")
    mark = api.mark()
    await tg.say(fixer, fixer, "/decision D-1 blocked The motor is out of stock")
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "受阻" in card.text and "原因：The motor is out of stock" in card.text
    mark = api.mark()
    await tg.say(group, bob, "/decisions")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert listing.text.splitlines()[1].startswith("⚠️ D-1 · Fix the garage gate · 受阻 · 0%")
    decision, events = await _decision(bot, stored.id)
    assert decision.status is DecisionStatus.BLOCKED
    assert [e.text for e in events][-2:] == ["✅ Order the motor", "The motor is out of stock"]
    assert decision.due_at == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


async def test_the_owner_is_chosen_by_the_button_with_their_name(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    bob = tg.person("Bob", username="bob", language_code="en")
    await introduce(bot, tg, group, bob)
    mark = api.mark()
    await tg.say(group, owner, "/role @bob handler")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    ask_owner = await _write_down(api, tg, owner, stored.id, "Oil the gate hinges")
    mark = api.mark()
    await tg.press(owner, ask_owner, decision_buttons.OWNER_PERSON.data(bob.id))
    ask_due = await api.wait_for(("editMessageText", "sendMessage"), after=mark, where=to_owner)
    assert ask_due.text.startswith("By when?")
    for data in (decision_buttons.NO_DUE_DATE.data(), decision_buttons.NO_MILESTONES.data()):
        mark = api.mark()
        await tg.press(owner, ask_due, data)
        ask_due = await api.wait_for(("editMessageText", "sendMessage"), after=mark,
                                     where=to_owner)
    assert ask_due.text.startswith("Written down as D-1")
    decision, _events = await _decision(bot, stored.id)
    assert decision.owner_id == bob.id


async def test_a_decision_posted_for_objection_is_amended_after_the_objections(
        bot, api, tg, clock):
    from datetime import timedelta

    from handlers.decisions import objections

    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob, cal, dee = people["Ann"], people["Bob"], people["Cal"], people["Dee"]
    for person in (owner, ann, cal, dee):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    async with bot.services.db.transaction() as conn:
        await store.create(conn, community_id=stored.id, title="Repaint the lobby white",
                           now=clock.now())
    in_group = lambda c: c.chat_id == group.id  # noqa: E731
    mark = api.mark()
    await tg.say(group, bob, "/decision D-1 notice")
    refused = await api.wait_for("sendMessage", after=mark, where=in_group)
    assert refused.text.startswith("抱歉，只有本群管理员")
    mark = api.mark()
    await tg.say(group, owner, "/decision D-1 notice 5")
    answer = await api.wait_for("sendMessage", after=mark, where=lambda c: in_group(c)
                                and c.text.startswith("D-1 已公示"))
    assert answer.text == "D-1 已公示，接受异议至 2026-11-28 10:00。"
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: in_group(c)
                              and "公示 · D-1" in c.text)
    assert post.text.splitlines()[0] == "📢 公示 · D-1 Repaint the lobby white"
    assert [b["text"] for b in post.buttons] == ["我有异议"]
    await bot.settled()
    # Pinned where the bot may pin (here it is not an administrator: Telegram refuses).
    pins = [c for c in api.calls[mark:] if c.method == "pinChatMessage"]
    assert [c.params["message_id"] for c in pins] == [post.result["message_id"]]
    payload = post.buttons[0]["url"].split("=", 1)[1]

    async def object_(person, reason):
        mark = api.mark()
        await tg.say(person, person, f"/start {payload}")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == person.id)
        mark = api.mark()
        await tg.say(person, person, reason)
        return await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == person.id)

    recorded = await object_(ann, "White shows every mark")
    assert recorded.text.startswith("Your objection is recorded")
    updated = await object_(ann, "White shows every mark; grey would last")
    assert updated.text == "Your reason is updated; you still count once."
    await object_(cal, "Ask the tenants too")
    await bot.settled()
    shown = api.sent("editMessageText", chat_id=group.id)[-1]
    assert shown.text.splitlines()[2:] == ["目前异议：2 条",
                                           "• White shows every mark; grey would last",
                                           "• Ask the tenants too"]
    assert "Ann" not in shown.text and "Cal" not in shown.text
    # The week's summary (a moderator's /summary) names the open objection period.
    clock.advance(timedelta(hours=1))
    summary = await _summary(api, tg, group, owner)
    assert "• D-1“Repaint the lobby white”：2 条异议，接受异议至 2026-11-28 10:00" \
        in summary.text.splitlines()
    early = await tg.press(owner, post, objections.OUTCOME.data(1, "confirm"))
    assert (await api.wait_for("answerCallbackQuery", where=lambda c: c.get(
        "callback_query_id") == early)).get("text") == "The objection period has not ended yet."

    clock.advance(timedelta(days=4, hours=23, minutes=1))
    mark = api.mark()
    await bot.tick()
    card = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    assert card.text.splitlines() == [
        "The objection period of D-1 “Repaint the lobby white” in Elm House has ended with 2 "
        "objection(s). Confirm it, amend its wording or withdraw it; the group is told which "
        "and why.", "• White shows every mark; grey would last", "• Ask the tenants too"]
    assert [b["text"] for b in card.buttons] == ["Confirm", "Amend", "Withdraw"]
    ended = await api.wait_for("editMessageText", after=mark, where=in_group)
    assert ended.text.splitlines()[-1] == "公示期已结束，管理员将确认、修改或撤回。"
    assert ended.buttons == []
    mark = api.mark()
    await tg.say(dee, dee, f"/start {payload}")
    late = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == dee.id)
    assert late.text == "That decision no longer takes objections."
    mark = api.mark()
    await tg.press(owner, card, objections.OUTCOME.data(1, "amend"))
    await api.wait_for(("sendMessage", "editMessageText"), after=mark,
                       where=lambda c: c.chat_id == owner.id)
    mark = api.mark()
    await tg.say(owner, owner, "Repaint the lobby light grey")
    told = await api.wait_for("sendMessage", after=mark, where=in_group)
    assert told.text == ("D-1 经公示（2 条异议）后已修改，现为：Repaint the lobby light grey")
    decision, _events = await _decision(bot, stored.id)
    assert decision.title == "Repaint the lobby light grey"
    mark = api.mark()
    await tg.press(owner, card, objections.OUTCOME.data(1, "confirm"))
    again = await api.wait_for("answerCallbackQuery", after=mark)
    assert again.get("text") == "The moderators have decided this before."
    summary = await _summary(api, tg, group, owner)
    assert "• D-1“Repaint the lobby light grey”：2 条异议，已修改" in summary.text.splitlines()


async def _summary(api, tg, group, owner):
    """A moderator's /summary in the group: the last seven days, posted there."""
    mark = api.mark()
    await tg.say(group, owner, "/summary")
    return await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and "<b>" not in c.text and len(c.text.splitlines()) > 1)


async def test_a_group_sets_how_long_its_decisions_are_posted_for_objection(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    async with bot.services.db.transaction() as conn:
        await store.create(conn, community_id=stored.id, title="Repaint the lobby white",
                           now=clock.now())
    in_group = lambda c: c.chat_id == group.id  # noqa: E731
    for typed, expected in (("/settings objection 90", "决议公示期为 1 到 60 天。"),
                            ("/settings objection 10", "决议公示期：10 天（另行指定者除外）")):
        mark = api.mark()
        await tg.say(group, owner, typed)
        answer = await api.wait_for("sendMessage", after=mark, where=in_group)
        assert expected in answer.text.splitlines()
    mark = api.mark()
    await tg.say(group, owner, "/decision D-1 notice")
    answer = await api.wait_for("sendMessage", after=mark, where=lambda c: in_group(c)
                                and c.text.startswith("D-1 已公示"))
    assert answer.text == "D-1 已公示，接受异议至 2026-12-03 10:00。"  # ten days on
