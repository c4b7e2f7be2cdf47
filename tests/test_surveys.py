"""Satisfaction survey rounds (共评) end to end: a moderator opens a round, residents rate
each subject in private (stars, a comment, a skip), one answer per household, refusals for
a visitor, a closed round and a forged button; the results posted with the trend and the
handlers' record; a second round's trend; the export; the weekly summary's line; and rounds
that open by themselves on the schedule /settings survey sets."""

import json
from datetime import timedelta

from bot.domain.reports import Note, ReportStatus
from handlers.surveys import callbacks as survey_buttons
from storage import due_work
from storage import reports as report_store
from storage import surveys as store
from tests.test_helping import EITHER, _started, _to
from tests.test_meetings import _group, _say
from tests.test_polls import ROWS, _building
from tests.test_privacy_and_exports import _everything_stored, _forgotten


async def _press(api, tg, who, message, data):
    """Press a button in private; the bot's next word to that person (an edit or a new
    message), or the alert if it refused."""
    mark = api.mark()
    await tg.press(who, message, data)
    return await api.wait_for(EITHER + ("answerCallbackQuery",), after=mark, where=lambda c: (
        c.chat_id == who.id or c.method == "answerCallbackQuery" and c.params.get("text")))


async def _lift_reports(bot, community_id, reporter, handler, now):
    """Two lift reports in the months before: one acknowledged after 2 h and resolved after
    10 h and rated 4 by its reporter, one acknowledged after 4 h and still open."""
    async with bot.services.db.transaction() as conn:
        for hours_ack, hours_done in ((2, 10), (4, None)):
            filed = now - timedelta(days=20)
            report = await report_store.create(
                conn, community_id=community_id, now=filed, photos=[], category="lift",
                description="The lift stops between floors", where_text="lift",
                reporter_id=reporter.id, anonymous=False)
            await report_store.move(conn, report.id, from_status=ReportStatus.NEW,
                                    to_status=ReportStatus.ACKNOWLEDGED, actor_id=handler.id,
                                    now=filed + timedelta(hours=hours_ack))
            if hours_done:
                await report_store.move(conn, report.id, from_status=ReportStatus.ACKNOWLEDGED,
                                        to_status=ReportStatus.RESOLVED, actor_id=handler.id,
                                        now=filed + timedelta(hours=hours_done))
                await report_store.record_note(conn, report.id, actor_id=reporter.id,
                                               note=Note.rating(4).stored(),
                                               now=filed + timedelta(hours=hours_done + 1))


async def test_a_survey_round_from_its_post_to_its_results_and_the_next_rounds_trend(
        bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob, bea, cal = people["Ann"], people["Bob"], people["Bea"], people["Cal"]
    await _started(api, tg, [owner, ann, bob, bea, cal])
    await _lift_reports(bot, stored.id, cal, owner, clock.now())

    # Residents cannot open a round; a moderator can.
    refused = await _say(api, tg, group, ann, "/survey open", to=_group(group))
    assert refused.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"
    post = await _say(api, tg, group, owner, "/survey open", to=_group(group))
    assert post.text.splitlines() == [
        "📋 S-1 · 满意度共评",
        "服务得好不好？请给业委会、物业、“电梯”报修处理人打 1–5 星，也可以附上意见。",
        "每户一份，限名册上的住户填写。匿名：任何人（包括管理员）都看不到谁打了几星。",
        "开放至 2026-12-07，届时结果发到本群。"]
    link = post.buttons[0]["url"]
    assert post.buttons[0]["text"] == "私聊评分" and link.endswith("?start=survey_1")
    again = await _say(api, tg, group, owner, "/survey open", to=_group(group))
    assert again.text == "S-1 开放至 2026-12-07；/survey close 可立即结束。"

    # Ann: 4 stars and a comment for the committee, skips the property management, 5 for
    # the lift's handlers, no comment.
    first = await _say(api, tg, ann, ann, "/start survey_1", method=EITHER)
    assert first.text.splitlines() == [
        "S-1 · Satisfaction survey (1/3)",
        "How satisfied is your household with the owners' committee? 1 is very unhappy, "
        "5 very happy."]
    assert [b["text"] for b in first.buttons] == ["1★", "2★", "3★", "4★", "5★", "Skip"]
    thanked = await _press(api, tg, ann, first, survey_buttons.RATE.data(1, 0, 4))
    assert thanked.text == ("The owners' committee: 4★. Thank you! A comment for them? Type "
                            "it now, or press Next. Your comment stays anonymous.")
    # Nothing but blank characters, then too much: asked again, nothing kept.
    for typed, length in (("\u2800 \u200b", 0), ("x" * 501, 501)):
        mark = api.mark()
        await tg.say(ann, ann, typed)
        again = await api.wait_for("sendMessage", after=mark, where=_to(ann))
        assert again.text == (f"Please keep it between 1 and 500 characters; yours has "
                              f"{length}.")
    mark = api.mark()
    await tg.say(ann, ann, "=HYPERLINK(\"x\") Meetings should be announced earlier.")
    kept = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert kept.text == "Your comment is kept for the committee."
    second = await api.wait_for("sendMessage", after=mark, where=lambda c: (
        c.chat_id == ann.id and "(2/3)" in c.text))
    assert "(2/3)" in second.text and "the property management" in second.text
    third = await _press(api, tg, ann, second, survey_buttons.RATE.data(1, 1, 0))
    assert "(3/3)" in third.text and "the handlers of Lift reports" in third.text
    asked = await _press(api, tg, ann, third, survey_buttons.RATE.data(1, 2, 5))
    done = await _press(api, tg, ann, asked, survey_buttons.NEXT.data(1, 2))
    assert done.text == ("That is all for S-1. Thank you! The results come to Elm House on "
                         "2026-12-07.")

    # Bob gives the committee 2; Bea shares his household, so hers is turned away.
    bobs = await _say(api, tg, bob, bob, "/survey", method=EITHER)
    await _press(api, tg, bob, bobs, survey_buttons.RATE.data(1, 0, 2))
    beas = await _say(api, tg, bea, bea, "/start survey_1", method=EITHER)
    assert "(2/3)" in beas.text  # her household rated the committee already
    repeat = await _press(api, tg, bea, beas, survey_buttons.RATE.data(1, 0, 5))
    assert repeat.text.startswith("Your household has already rated the owners' committee "
                                  "in S-1.")
    # Cal, a tenant with a household of his own: 3 for the committee.
    cals = await _say(api, tg, cal, cal, "/start survey_1", method=EITHER)
    await _press(api, tg, cal, cals, survey_buttons.RATE.data(1, 0, 3))
    # A visitor is not on the roster; a forged button is refused.
    visitor = tg.person("Visitor", language_code="en")
    refusal = await _say(api, tg, visitor, visitor, "/start survey_1", method=EITHER)
    assert refusal.text == ("Only residents on the building's roster rate in the survey, one "
                            "answer per household. Send /join in the group to be added.")
    forged = await _press(api, tg, cal, cals, survey_buttons.RATE.data(1, 9, 5))
    assert forged.get("text") == "This button is out of date."

    async with bot.services.db.transaction() as conn:
        counted = await store.scores(conn, 1)
        comments = await store.comments(conn, 1)
    assert {k: v for k, v in counted.items() if v} == {
        ("committee", 4): 1, ("committee", 2): 1, ("committee", 3): 1, ("cat:lift", 5): 1}
    assert comments == [("committee", "=HYPERLINK(\"x\") Meetings should be announced "
                         "earlier.", None)]  # anonymous: no writer kept

    # Two weeks on, the round closes by itself: the results in the group, in its language.
    clock.advance(timedelta(days=14, minutes=1))
    mark = api.mark()
    await bot.tick()
    results = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert results.text.splitlines() == [
        "📋 S-1 · 满意度共评结果（2026-11-23 – 2026-12-07）",
        "参与户数：3",
        "• 业委会：★ 3.0（3 份；首轮）",
        "  1★ 0 · 2★ 1 · 3★ 1 · 4★ 1 · 5★ 0",
        "• 物业：★ —（0 份；首轮）",
        "• “电梯”报修处理人：★ 5.0（1 份；首轮）",
        "  1★ 0 · 2★ 0 · 3★ 0 · 4★ 0 · 5★ 1",
        "  平均：2 件报修、受理 3.0 小时、解决 10.0 小时；报修人对修复的评分 ★ 4.0（1 条）",
        "1 条意见已交业委会（/export S-1）。"]
    closed_post = await api.wait_for("editMessageText", after=mark, where=_group(group))
    assert closed_post.text.splitlines()[-1] == "已结束，结果见下方。"
    late = await _press(api, tg, cal, cals, survey_buttons.RATE.data(1, 1, 5))
    assert late.get("text") == "This survey round has closed; its results are in the group."

    # The committee's export: the results and the comment, its formula defused.
    mark = api.mark()
    await tg.say(group, owner, "/export S-1")
    sent = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert sent.text == "S-1 的结果已私聊发给您。"
    documents = [c for c in api.calls[mark:] if c.method == "sendDocument"]
    assert [api.upload(c)[0] for c in documents] == ["S-1.csv", "S-1.xlsx"]
    csv = api.upload(documents[0])[1].decode("utf-8-sig")
    assert "业委会,3,3.0,0,1,1,1,0" in csv
    assert "“电梯”报修处理人,1,5.0,0,0,0,0,1,2,3.0,10.0,4.0" in csv
    assert "业委会,\"'=HYPERLINK(\"\"x\"\") Meetings should be announced earlier.\"," in csv
    # A resident asks for S-1 again and gets its results.
    shown = await _say(api, tg, group, ann, "/survey S-1", to=_group(group))
    assert shown.text == results.text

    # A second round: the committee does better, and the trend says so.
    await _say(api, tg, group, owner, "/survey open named", to=_group(group))
    anns = await _say(api, tg, ann, ann, "/start survey_2", method=EITHER)
    await _press(api, tg, ann, anns, survey_buttons.RATE.data(2, 0, 5))
    mark = api.mark()
    await tg.say(ann, ann, "Much better this time.")
    await api.wait_for("sendMessage", after=mark, where=_to(ann))
    mark = api.mark()
    await tg.say(group, owner, "/survey close")
    second_results = await api.wait_for("sendMessage", after=mark, where=lambda c: (
        c.chat_id == group.id and c.text.startswith("📋 S-2")))
    assert "• 业委会：★ 5.0（1 份；较 S-1 ↑2.0）" in second_results.text.splitlines()
    assert "• 物业：★ —（0 份；S-1 中未评）" in second_results.text.splitlines()
    async with bot.services.db.transaction() as conn:
        assert await store.comments(conn, 2) == [("committee", "Much better this time.",
                                                  ann.id)]  # a named round keeps the writer

    # The summary of the last seven days names the round.
    clock.advance(timedelta(minutes=1))
    mark = api.mark()
    await tg.say(group, owner, "/summary")
    summary = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert summary.text.splitlines()[-2:] == [
        "满意度共评 S-1 已结束（3 户参与）：业委会 ★ 3.0、物业 ★ —、“电梯”报修处理人 ★ 5.0。",
        # No lift report since S-1 opened: its handlers are not asked about this time.
        "满意度共评 S-2 已结束（1 户参与）：业委会 ★ 5.0、物业 ★ —。"]

    # Ann's /mydata has what she rated (never her stars) and her signed comment; after
    # /forgetme nothing stored names her, and her answers still count.
    mark = api.mark()
    await tg.say(ann, ann, "/mydata")
    sent = await api.wait_for("sendDocument", after=mark, where=_to(ann))
    data = json.loads(api.upload(sent)[1])
    assert sorted((r["round_id"], r["subject"]) for r in data["survey_subjects_rated"]) == [
        (1, "cat:lift"), (1, "committee"), (2, "committee")]
    assert all("stars" not in r for r in data["survey_subjects_rated"])
    assert [c["text"] for c in data["survey_comments_signed"]] == ["Much better this time."]
    await _forgotten(bot, api, tg, ann)
    stored_text = await _everything_stored(bot)
    assert str(ann.id) not in stored_text, [line for line in stored_text.splitlines()
                                            if str(ann.id) in line][:3]
    async with bot.services.db.transaction() as conn:
        assert (await store.scores(conn, 2))[("committee", 5)] == 1


async def test_rounds_open_by_themselves_on_the_schedule_the_group_sets(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    await _started(api, tg, [owner])
    status = await _say(api, tg, group, people["Ann"], "/survey", to=_group(group))
    assert status.text == ("目前没有进行中的满意度共评。下一轮约于 2027-02-22 开始；管理员可用 "
                           "/survey open 立即发起。")
    bad = await _say(api, tg, group, owner, "/settings survey 5", to=_group(group))
    assert bad.text == "共评周期可设为 1、2、3、4、6 或 12 个月，或关闭（off）。"
    panel = await _say(api, tg, group, owner, "/settings survey 1", to=_group(group))
    assert "满意度共评（/survey）：每 1 个月一次" in panel.text
    # A month after the bot joined, in quiet hours it waits for the morning.
    clock.set(stored.created_at + timedelta(days=30, hours=12))  # 22:00 in Shanghai
    mark = api.mark()
    await bot.tick()
    await bot.settled()
    assert not [c for c in api.sent(after=mark) if c.chat_id == group.id]
    clock.advance(timedelta(hours=10))
    await bot.tick()
    post = await api.wait_for("sendMessage", after=mark, where=_group(group))
    assert post.text.startswith("📋 S-1 · 满意度共评")
    # Turned off, no round opens again.
    await _say(api, tg, group, owner, "/settings survey off", to=_group(group))
    async with bot.services.db.transaction() as conn:
        assert await due_work.pending(conn, kind="survey_round", key=str(stored.id)) is None
        assert [r.ref for r in await store.of_community(conn, stored.id)] == ["S-1"]


async def test_an_owner_of_two_flats_answers_once_however_often_she_presses(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg,
                                                   [*ROWS, ("3-2-202", "Dee", "owner", 70)])
    dee = people["Dee"]
    await _started(api, tg, [owner, dee])
    await _say(api, tg, group, owner, "/survey open", to=_group(group))
    asked = await _say(api, tg, dee, dee, "/start survey_1", method=EITHER)
    thanked = await _press(api, tg, dee, asked, survey_buttons.RATE.data(1, 0, 2))
    assert thanked.text.startswith("The owners' committee: 2★.")
    # The same button again (a double tap), then her other flat's turn: still one answer.
    again = await _press(api, tg, dee, asked, survey_buttons.RATE.data(1, 0, 5))
    assert again.text.startswith("Your household has already rated the owners' committee "
                                 "in S-1.")
    async with bot.services.db.transaction() as conn:
        counted = {k: v for k, v in (await store.scores(conn, 1)).items() if v}
        households = await store.households_taking_part(conn, 1)
    assert (counted, households) == ({("committee", 2): 1}, 1)
