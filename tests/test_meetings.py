"""Round-table meetings end to end: called in private, seats and a waiting list that moves
up, reminders the day before and an hour before (moved clock), who is coming, the
organiser's attendance and minutes posted to the group, and an agreed action made a
decision with its owner and due date in one press."""

from datetime import timedelta

from bot.domain.topics import TopicStatus
from handlers.meetings import callbacks as meeting_buttons
from storage import decisions as decision_store
from storage import meetings as store
from storage import topics as topic_store
from tests.test_helping import EITHER, _pressed, _started, _to
from tests.test_polls import ROWS, _building


def _group(group):
    return lambda c: c.chat_id == group.id


async def _say(api, tg, where, who, text, *, to=None, method="sendMessage"):
    mark = api.mark()
    await tg.say(where, who, text)
    return await api.wait_for(method, after=mark, where=to or _to(where))


async def test_a_round_table_from_its_call_to_its_minutes(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob, cal, dee = people["Ann"], people["Bob"], people["Cal"], people["Dee"]
    await _started(api, tg, [owner, ann, bob, cal, dee])
    async with bot.services.db.transaction() as conn:  # Bob's topic T-1, which Dee backs
        topic = await topic_store.create(conn, community_id=stored.id, title="Night parking",
                                         details="Two spaces free at night.",
                                         category="parking", photo_file_id=None,
                                         author_id=bob.id, now=clock.now())
        await topic_store.move(conn, topic.id, from_status=TopicStatus.PENDING,
                               to_status=TopicStatus.OPEN, now=clock.now())
        await topic_store.add_support(conn, topic.id, dee.id, clock.now())
    # T-1's post in the group, as the bot posted it when the topic was approved.
    topic_post = await bot.app.bot.send_message(group.id, "T-1 · Night parking")
    async with bot.services.db.transaction() as conn:
        await topic_store.set_post(conn, topic.id, group.id, topic_post.message_id, "")
    refused = await _say(api, tg, group, ann, "/meeting", to=_group(group))
    assert refused.text.startswith("抱歉，只有本群管理员")
    await _say(api, tg, owner, owner, "/meeting", method=EITHER)
    await _say(api, tg, owner, owner, "Parking in the courtyard", method=EITHER)
    await _say(api, tg, owner, owner, "T-1 Night parking\nCharging points", method=EITHER)
    await _say(api, tg, owner, owner, "2026-11-27 19:30", method=EITHER)
    await _say(api, tg, owner, owner, "Community room, building 3", method=EITHER)
    asked = await _say(api, tg, owner, owner, "2", method=EITHER)
    assert asked.text.startswith("Background for the agenda, posted with the meeting")
    mark = api.mark()
    await tg.say(owner, owner, "Two quotes so far: 8,000 and 9,500 yuan.")
    done = await api.wait_for(EITHER, after=mark, where=_to(owner))
    assert done.text.startswith("Posted to Elm House as M-1.")
    post = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert post.text.splitlines() == [
        "🪑 M-1 · 圆桌会议 · Parking in the courtyard", "时间：2026-11-27 19:30",
        "地点：Community room, building 3", "议程：", "1. T-1 Night parking",
        "2. Charging points", "背景材料", "Two quotes so far: 8,000 and 9,500 yuan.",
        "名额：已报 0/2"]
    assert [b["text"] for b in post.buttons] == ["报名", "取消报名", "提问"]
    meeting_id = int(post.buttons[0]["callback_data"].split(":")[1])
    take, back = (meeting_buttons.SEAT.data(meeting_id, "take"),
                  meeting_buttons.SEAT.data(meeting_id, "back"))

    assert (await _pressed(api, tg, ann, post, take)).get("text") == \
        "You have a seat at M-1. I will remind you the day before."
    await _pressed(api, tg, bob, post, take)
    assert (await _pressed(api, tg, cal, post, take)).get("text").startswith(
        "Every seat is taken; you are on the waiting list for M-1")
    assert (await _pressed(api, tg, ann, post, take)).get("text") == \
        "You are already signed up for M-1."
    # Bob gives his seat back: Cal, first waiting, moves up and is told.
    mark = api.mark()
    await tg.press(bob, post, back)
    moved_up = await api.wait_for("sendMessage", after=mark, where=_to(cal))
    assert moved_up.text == ("A seat came free: you now have a seat at M-1 “Parking in the "
                             "courtyard”, 2026-11-27 19:30, Community room, building 3.")
    await _pressed(api, tg, dee, post, take)  # waits now
    # A question ahead of it, answered by the committee in the group without her name.
    await _say(api, tg, ann, ann, "/start " + post.buttons[2]["url"].split("=", 1)[1])
    mark = api.mark()
    await tg.say(ann, ann, "Will tenants be heard too?")
    to_owner = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    assert to_owner.text == ("A question about M-1 “Parking in the courtyard” in Elm House: "
                             "Will tenants be heard too?")
    await _pressed(api, tg, owner, to_owner, to_owner.buttons[0]["callback_data"], EITHER)
    mark = api.mark()
    await tg.say(owner, owner, "Yes, everyone who lives here.")
    qa = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert qa.text.splitlines() == ["关于 M-1 的提问“Parking in the courtyard”",
                                    "❓ 问：Will tenants be heard too?",
                                    "💬 业委会答：Yes, everyone who lives here."]
    # Who is coming, for the organiser, in private.
    mark = api.mark()
    await tg.say(group, owner, "/meeting M-1")
    listed = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    assert listed.text.splitlines() == ["M-1 “Parking in the courtyard”: who is coming",
                                        "Seats (2 of 2): Ann, Cal", "Waiting (1): Dee"]

    # The day before and an hour before, those with a seat are reminded.
    meeting = await _meeting(bot, meeting_id)
    clock.set(meeting.starts_at - timedelta(days=1))
    mark = api.mark()
    await bot.tick()
    day = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert day.text.startswith("Tomorrow: M-1 “Parking in the courtyard”, 2026-11-27 19:30")
    await api.wait_for("sendMessage", after=mark, where=_to(cal))
    clock.set(meeting.starts_at - timedelta(hours=1))
    mark = api.mark()
    await bot.tick()
    hour = await api.wait_for("sendMessage", after=mark, where=_to(cal))
    assert hour.text == ("In an hour: M-1 “Parking in the courtyard”, 2026-11-27 19:30, "
                         "Community room, building 3.")
    await bot.settled()
    assert not [c for c in api.sent(after=mark) if c.chat_id == dee.id]  # waiting: none

    # It begins: the organiser ticks who came and writes the minutes.
    clock.set(meeting.starts_at + timedelta(minutes=1))
    mark = api.mark()
    await bot.tick()
    card = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    assert [b["text"] for b in card.buttons] == ["☐ Ann", "☐ Cal", "☐ Dee", "Write the minutes"]
    not_theirs = await _pressed(api, tg, ann, card,
                                meeting_buttons.ATTENDED.data(meeting_id, ann.id))
    assert not_theirs.get("text") == "Only the meeting's organiser can do that."
    for person in (ann, cal):
        await _pressed(api, tg, owner, card,
                       meeting_buttons.ATTENDED.data(meeting_id, person.id), "editMessageText")
    mark = api.mark()
    await tg.press(owner, card, meeting_buttons.MINUTES.data(meeting_id))
    first = await api.wait_for(EITHER, after=mark, where=_to(owner))
    assert first.text == "1. T-1 Night parking: what was said? (or /skip)"
    second = await _say(api, tg, owner, owner, "Residents want two spaces kept free at night.")
    assert second.text == "2. Charging points: what was said? (or /skip)"
    await _say(api, tg, owner, owner, "/skip")
    mark = api.mark()
    await tg.say(owner, owner, f"Get three quotes for chargers | @{owner.username or 'x'} | "
                               "2026-12-20\nPaint the two spaces | Nobody Known")
    finished = await api.wait_for("sendMessage", after=mark, where=_to(owner))
    assert finished.text == "The minutes of M-1 are posted in Elm House."
    assert [b["text"] for b in finished.buttons] == [
        "Make it a decision: Get three quotes for chargers",
        "Make it a decision: Paint the two spaces"]
    minutes = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                 group.id and "协商纪要" in c.text)
    assert minutes.text.splitlines() == [
        "M-1“Parking in the courtyard”协商纪要", "出席（2 人）：Ann、Cal",
        "1. T-1 Night parking", "Residents want two spaces kept free at night.",
        "2. Charging points", "—", "达成一致",
        f"• Get three quotes for chargers — @{owner.username or 'x'}，2026-12-20 前完成",
        "• Paint the two spaces — Nobody Known，? 前完成",
        "没能参加？2026-12-04 19:31 前可对纪要发表意见。"]
    assert [b["text"] for b in minutes.buttons] == ["对纪要发表意见"]
    comment_link = minutes.buttons[0]["url"].split("=", 1)[1]
    # T-1 was on the agenda: its author and backer get the link to the minutes.
    for person in (bob, dee):
        told = await api.wait_for("sendMessage", after=mark, where=_to(person))
        assert told.text == ("T-1 “Night parking” was discussed at the round-table meeting "
                             "M-1; the minutes: https://t.me/c/"
                             f"{-group.id - 1_000_000_000_000}/{minutes.result['message_id']}")
    held = await api.wait_for("editMessageText", after=mark, where=lambda c: c.get(
        "message_id") == post.result["message_id"])
    assert held.text.splitlines()[-1] == "会议已召开，纪要见下方。"
    assert held.buttons == []
    # T-1 is now "discussed", and its post says where and links to the minutes.
    link = f"https://t.me/c/{-group.id - 1_000_000_000_000}/{minutes.result['message_id']}"
    shown = await api.wait_for("editMessageText", after=mark, where=lambda c: c.get(
        "message_id") == topic_post.message_id)
    assert shown.text.splitlines()[-2:] == [f"已在圆桌会议 M-1 上讨论，纪要：{link}",
                                            "状态：已在圆桌会议上讨论"]
    assert shown.buttons == []
    async with bot.services.db.transaction() as conn:
        topic = await topic_store.get(conn, topic.id)
    assert (topic.status, topic.discussed_at, topic.minutes_link) == (
        TopicStatus.DISCUSSED, "M-1", link)
    # The week's summary (a moderator's /summary) names the meeting.
    mark = api.mark()
    await tg.say(group, owner, "/summary")
    summary = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                 group.id and "圆桌会议" in c.text)
    assert "圆桌会议：M-1“Parking in the courtyard”（2 人参加，达成 2 项行动）。" \
        in summary.text.splitlines()

    # An agreed action becomes a decision in one press, once.
    mark = api.mark()
    await tg.press(owner, finished, meeting_buttons.DECIDE.data(meeting_id, 0))
    written = await api.wait_for("answerCallbackQuery", after=mark)
    assert written.get("text") == "D-1 is written down."
    announced = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert "D-1" in announced.text and "Get three quotes for chargers" in announced.text
    async with bot.services.db.transaction() as conn:
        decision = await decision_store.by_number(conn, stored.id, 1)
    assert decision.title == "Get three quotes for chargers"
    assert decision.due_at is not None
    again = await _pressed(api, tg, owner, finished, meeting_buttons.DECIDE.data(meeting_id, 0))
    assert again.get("text") == "This action is a decision already."
    late = await _pressed(api, tg, dee, post, take)
    assert late.get("text") == "M-1 takes no more sign-ups."

    # The minutes as CSV and XLSX, in private.
    mark = api.mark()
    await tg.say(group, owner, "/export M-1")
    sent = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert sent.text == "M-1 的会议纪要已私聊发给你。"
    documents = [c for c in api.calls[mark:] if c.method == "sendDocument"]
    assert [api.upload(c)[0] for c in documents] == ["M-1.csv", "M-1.xlsx"]
    csv_text = api.upload(documents[0])[1].decode("utf-8-sig")
    assert "Residents want two spaces kept free at night." in csv_text
    assert "Paint the two spaces,Nobody Known," in csv_text
    # Dee could not come: she comments on the minutes; a week later no more comments.
    await _say(api, tg, dee, dee, f"/start {comment_link}")
    mark = api.mark()
    await tg.say(dee, dee, "Please keep one space for the delivery van.")
    commented = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert commented.text == "💬 Dee 对 M-1 纪要的意见：Please keep one space for the delivery van."
    clock.advance(timedelta(days=7))
    closed = await _say(api, tg, dee, dee, f"/start {comment_link}")
    assert closed.text == "Those minutes no longer take comments."


async def _meeting(bot, meeting_id):
    async with bot.services.db.transaction() as conn:
        return await store.get(conn, meeting_id)
