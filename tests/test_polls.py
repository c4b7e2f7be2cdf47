"""Polls end to end: create from the group link, vote and change, refusals with reasons,
reminders and the deadline by the moved clock (across a restart), the Civil Code verdict,
moderators' controls, the audit chain, and forged buttons."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.polls import PollStatus
from bot.fakeapi.harness import (
    RunningBot,
    ask_poll_question,
    create_poll,
    make_settings,
    poll_id_of,
    prepare_poll,
)
from handlers.polls import callbacks as poll_buttons
from storage import inspection
from storage import polls as store
from tests.helpers import audit_log, group_with_bot, introduce
from tests.test_privacy_and_exports import _forgotten

# 2026-11-23 10:00 in Shanghai is the clock's start (see conftest.START).


async def _building(bot, api, tg, rows, *, say_hello=True):
    """A group whose owner moderates it (with a private chat), and residents imported from
    CSV rows (unit, person, relation, area). Returns the group, owner, community, people."""
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)
    people = {}
    lines = []
    for unit, name, relation, area in rows:
        if name not in people:
            people[name] = tg.person(name, language_code="en")
        lines.append(f"{unit},{people[name].id},{relation},{area}")
    if say_hello:
        await introduce(bot, tg, group, *people.values())
    mark = api.mark()
    await tg.send_document(owner, owner, "roster.csv", "\n".join(lines).encode())
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith(f"Imported {len(rows)} rows"), reply.text
    return group, owner, stored, people


_create = create_poll
_poll_id = poll_id_of



async def _vote(api, tg, who, post, option, *, receipt=False):
    """The answer to a vote press (without its receipt line unless ``receipt``)."""
    mark = api.mark()
    await tg.press(who, post, poll_buttons.VOTE.data(_poll_id(post), option))
    text = (await api.wait_for("answerCallbackQuery", after=mark)).get("text")
    return text if receipt or text is None else text.split("\nReceipt: ")[0]


async def _ask_deadline(api, tg, owner, community_id, question):
    """The moderator starts a poll from the group's link, types the question and takes
    Yes / No / Abstain; returns the question of the deadline."""
    options = await ask_poll_question(api, tg, owner, community_id, question)
    mark = api.mark()
    await tg.press(owner, options, poll_buttons.YES_NO_ABSTAIN.data())
    return await api.wait_for("editMessageText", after=mark,
                              where=lambda c: c.chat_id == owner.id)


async def _poll(bot, poll_id):
    async with bot.services.db.transaction() as conn:
        return await store.get(conn, poll_id), await store.counted(conn, poll_id)


ROWS = [("3-1-101", "Ann", "owner", 90), ("3-1-102", "Bob", "owner", 80),
        ("3-1-102", "Bea", "family", ""), ("3-1-103", "Cal", "tenant", ""),
        ("3-2-201", "Dee", "owner", 100)]


async def test_create_vote_change_and_refusals(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    # Owners only, one vote per household (Who votes twice: verified → households → owners).
    post, controls, preview = await _create(api, tg, group, owner, stored.id,
                                            settings=("audience", "audience"))
    assert "Who votes: owners only, one vote per household (all households)" in preview.text
    assert [b["text"] for b in post.buttons] == ["Yes", "No", "Abstain"]
    assert post.text.startswith("P-1 · Repaint the lobby?")
    assert "投票截止：2026-11-26 10:00（Asia/Shanghai）。" in post.text  # the group speaks zh
    assert [b["callback_data"].split(":")[-1] for b in controls.buttons] == [
        "close", "extend", "cancel", "proxy"]

    assert await _vote(api, tg, people["Ann"], post, 0) == "Recorded for P-1: Yes (for 3-1-101)"
    assert await _vote(api, tg, people["Ann"], post, 1) == "Recorded for P-1: No (for 3-1-101)"
    assert await _vote(api, tg, people["Bob"], post, 0) == "Recorded for P-1: Yes (for 3-1-102)"
    # Bea is family in Bob's household; Cal is a tenant; a visitor is not on the roster.
    assert await _vote(api, tg, people["Bea"], post, 0) == "This poll is for owners only."
    assert await _vote(api, tg, people["Cal"], post, 0) == "This poll is for owners only."
    visitor = tg.person("Visitor", language_code="en")
    await introduce(bot, tg, group, visitor)
    assert await _vote(api, tg, visitor, post, 0) == (
        "This poll is for residents on the roster. Send /join to me in private to join it.")
    poll, counted = await _poll(bot, _poll_id(post))
    assert sorted(b.choice for b in counted) == [(0,), (1,)]
    # The live tally on the post follows the votes (edited, never with identical text).
    shown = await api.wait_for("editMessageText", where=lambda c: c.chat_id == group.id
                               and "Yes：1 票" in c.text and "No：1 票" in c.text)
    assert shown.text.splitlines()[-4:] == [
        "参与：3 户中 2 户", "", "Yes：1 票（50%）", "No：1 票（50%）", "Abstain：0 票（0%）"][-4:]
    assert [b["callback_data"] for b in shown.buttons] == [
        f"v:{poll.id}:{n}" for n in range(3)]


async def test_a_batch_of_votes_the_database_ends_for_a_deadlock_is_written_again(
        bot, api, tg, monkeypatch, caplog):
    """PostgreSQL ends a batch's transaction to break a deadlock (here, once, at its first
    read): the batch runs again whole and the vote counts, with nothing logged as failed."""
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _controls, _preview = await _create(api, tg, group, owner, stored.id)
    real, ended = store.voting_on, []

    async def ended_once(*args, **kwargs):
        if not ended:
            ended.append(True)
            raise inspection.deadlock("the batch's polls")
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "voting_on", ended_once)
    assert await _vote(api, tg, people["Ann"], post, 0) == "Recorded for P-1: Yes"
    assert ended == [True]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    async with bot.services.db.transaction() as conn:
        ballots = await store.counted(conn, _poll_id(post))
    assert [b.choice for b in ballots] == [(0,)]


async def test_one_vote_per_household_and_scope_and_multiple_choice(bot, api, tg):
    rows = ROWS + [("3-1-103", "Cyd", "owner", 70)]
    group, owner, stored, people = await _building(bot, api, tg, rows)
    post, _c, preview = await _create(
        api, tg, group, owner, stored.id, question="Which days for the market?",
        options=["Mon", "Wed", "Fri", "Sun"],
        settings=("audience", "multiple", "multiple"))
    assert "Who votes: one vote per household" in preview.text
    assert "up to 3 choices" in preview.text
    ann, bob, bea = people["Ann"], people["Bob"], people["Bea"]
    assert await _vote(api, tg, bea, post, 0) == "Recorded for P-1: Mon (for 3-1-102)"
    assert await _vote(api, tg, bob, post, 1) == (
        "Another member of your household already voted for 3-1-102; a household has one "
        "ballot.")
    for option, expected in ((1, "Mon, Wed"), (2, "Mon, Wed, Fri")):
        assert await _vote(api, tg, bea, post, option) == (
            f"Recorded for P-1: {expected} (for 3-1-102)")
    assert await _vote(api, tg, bea, post, 3) == (
        "You can choose at most 3 options; remove one first.")
    assert await _vote(api, tg, bea, post, 0) == "Recorded for P-1: Wed, Fri (for 3-1-102)"
    assert await _vote(api, tg, ann, post, 3) == "Recorded for P-1: Sun (for 3-1-101)"
    _p, counted = await _poll(bot, _poll_id(post))
    assert sorted(b.choice for b in counted) == [(1, 2), (3,)]


async def test_scope_is_typed_and_outsiders_are_refused(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(owner, owner, "/poll")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "Add a lift to staircase 2?")
    ask = await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, ask, poll_buttons.YES_NO_ABSTAIN.data())
    await api.wait_for("editMessageText", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "1w")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.SETTING.data("scope"))
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "3-2")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert "(building 3, staircase 2)" in preview.text
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.PUBLISH.data())
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert await _vote(api, tg, people["Ann"], post, 0) == (
        "This poll is only for the households it names.")
    assert await _vote(api, tg, people["Dee"], post, 0) == "Recorded for P-1: Yes"


async def test_reminders_the_deadline_and_a_restart(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    for person in people.values():
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark)
    post, _c, _p = await _create(api, tg, group, owner, stored.id, deadline="3d")
    poll_id = _poll_id(post)
    await _vote(api, tg, people["Ann"], post, 0)
    # 24 hours before the deadline: 2026-11-25 10:00 local.
    clock.set(datetime(2026, 11, 25, 1, 59, tzinfo=UTC))
    assert await bot.tick() == 0
    clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1
    reminder = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == group.id)
    assert reminder.text.startswith("提醒：P-1“Repaint the lobby?”将于 2026-11-26 10:00 截止。")
    await api.wait_for("sendMessage", after=mark,
                       where=lambda c: c.chat_id == people["Dee"].id)
    reminded = {c.chat_id for c in api.sent(after=mark)}
    assert people["Ann"].id not in reminded  # she voted
    assert {people[n].id for n in ("Bob", "Bea", "Cal", "Dee")} <= reminded

    # The bot is down at the deadline; it closes the poll when it comes back, once.
    await bot.stop()
    clock.set(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    await bot.start()
    mark = api.mark()
    assert await bot.tick() >= 2  # the 2-hour reminder is dropped, the poll closes
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert result.text.startswith("P-1 已截止：Repaint the lobby?")
    assert "结果：“Yes”胜出。" in result.text
    assert not [c for c in api.sent(after=mark) if c.text and c.text.startswith("提醒")]
    poll, _counted = await _poll(bot, poll_id)
    assert poll.status is PollStatus.CLOSED and poll.result["verdict"]["outcome"] == "won"
    final = api.messages[(group.id, post.result["message_id"])]
    assert "reply_markup" not in final
    assert await bot.tick() == 0
    await bot.restart()
    assert await bot.tick() == 0
    assert len([c for c in api.sent(chat_id=group.id) if "已截止" in (c.text or "")]) == 1
    assert await _vote(api, tg, people["Bob"], post, 0) == (
        "P-1 is closed; votes are no longer taken.")


async def test_a_reminder_in_quiet_hours_waits_or_is_dropped(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    # Closes 2026-11-24 06:00 local: the 2-hour reminder (04:00) falls in quiet hours,
    # which end at 07:30, after the deadline: it is dropped. The 24-hour one (23 Nov
    # 06:00) would also be quiet; it moves to 07:30 on the 23rd... which has passed
    # already at creation (10:00), so it is not armed at all.
    post, _c, _p = await _create(api, tg, group, owner, stored.id,
                                 deadline="2026-11-24 06:00")
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=UTC))  # 04:00 local
    mark = api.mark()
    assert await bot.tick() == 1
    assert not [c for c in api.sent(after=mark)]


async def test_after_a_civil_code_rule_who_votes_and_counting_stay_fixed(bot, api, tg):
    group, owner, stored, _people = await _building(bot, api, tg, ROWS)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    await _ask_deadline(api, tg, owner, stored.id, "Add an elevator?")
    mark = api.mark()
    await tg.say(owner, owner, "3d")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    # "Rule" opens its choices, the current one marked; "Back" changes nothing.
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.SETTING.data("rule"))
    rules = await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert rules.text == "What decides the outcome?"
    assert [b["text"] for b in rules.buttons] == [
        "✓ the option with the most votes wins",
        "an option needs more than half of the votes cast",
        "Civil Code, ordinary matter: 2/3 of area and owners take part, more than half of "
        "both approve",
        "Civil Code, major matter: 2/3 of area and owners take part, at least 3/4 of both "
        "approve", "Back to the preview"]
    mark = api.mark()
    await tg.press(owner, rules, poll_buttons.CHOOSE.data("rule", "back"))
    again = await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert again.text == preview.text
    # One press chooses the Civil Code's major matter, and the preview says what it means.
    mark = api.mark()
    await tg.press(owner, again, poll_buttons.SETTING.data("rule"))
    rules = await api.wait_for("editMessageText", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, rules, poll_buttons.CHOOSE.data("rule", "civil_major"))
    preview = await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert ("In short: owners only, one vote per household, votes weigh by floor area; Civil "
            "Code, major matter: 2/3 of area and owners take part, at least 3/4 of both "
            "approve.") in preview.text
    fixed = preview.text
    for setting in ("audience", "weighting", "multiple"):
        mark = api.mark()
        await tg.press(owner, preview, poll_buttons.SETTING.data(setting))
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert answer.get("text") == (
            "Under a Civil Code rule only owners vote, one ballot per household, weighed by "
            "floor area, with one answer each. To change this, choose another rule first.")
        assert answer.get("show_alert") is True
    await bot.settled()
    assert api.messages[(owner.id, preview.result["message_id"])]["text"] == \
        preview.result["text"]
    assert "owners only, one vote per household" in fixed and "by floor area" in fixed
    # Back to the most votes: who votes and the counting go back to the usual, not the
    # Civil Code's.
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.SETTING.data("rule"))
    rules = await api.wait_for("editMessageText", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, rules, poll_buttons.CHOOSE.data("rule", "plurality"))
    preview = await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert ("In short: residents on the roster, each vote counts once; the option with the "
            "most votes wins.") in preview.text


async def test_civil_code_major_matter_fails_on_area_but_passes_on_headcount(bot, api, tg,
                                                                              clock):
    rows = [("1-101", "A1", "owner", 200), ("1-102", "A2", "owner", 50),
            ("1-103", "A3", "owner", 50), ("1-104", "A4", "owner", 50),
            ("1-105", "A5", "owner", 50)]
    group, owner, stored, people = await _building(bot, api, tg, rows)
    post, _c, preview = await _create(api, tg, group, owner, stored.id,
                                      question="Raise the maintenance fund?",
                                      settings=("rule", "rule", "rule"))
    assert "Civil Code, major matter" in preview.text
    assert "owners only, one vote per household" in preview.text
    assert "votes weigh by floor area" in preview.text
    # Everyone takes part; the big flat says no: 4/5 owners (≥ 3/4) but 200/400 m² (< 3/4).
    for name in ("A2", "A3", "A4", "A5"):
        await _vote(api, tg, people[name], post, 0)
    await _vote(api, tg, people["A1"], post, 1)
    clock.advance(timedelta(days=3))
    mark = api.mark()
    await bot.tick()
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    # The exact quantities beside the verdict: the area failed, the owners did not.
    assert ("未通过：同意票不足——面积：400 平方米中 200 平方米，需要至少 300 平方米；"
            "400 平方米中 400 平方米、5 位业主中 5 位参与表决。") in result.text
    assert ("参与：总面积 400 平方米中 400 平方米、5 位业主中 5 位参与表决（两者均需 2/3："
            "266.67 平方米、4 位业主）") in result.text


async def test_moderators_close_extend_and_cancel(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, controls, _p = await _create(api, tg, group, owner, stored.id, deadline="1d")
    poll_id = _poll_id(post)
    # A resident pressing the controls changes nothing.
    mark = api.mark()
    await tg.press(people["Ann"], controls, poll_buttons.MANAGE.data(poll_id, "close"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text").startswith("Sorry, only the group's moderators")
    mark = api.mark()
    await tg.press(owner, controls, poll_buttons.MANAGE.data(poll_id, "extend"))
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert told.text == "P-1 已延长：投票截止到 2026-11-25 10:00。"
    clock.advance(timedelta(days=1, minutes=1))
    # The old deadline passes: only the moved 24-hour reminder is due; the poll stays open.
    mark = api.mark()
    await bot.tick()
    reminder = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == group.id)
    assert reminder.text.startswith("提醒：P-1")
    poll, _b = await _poll(bot, poll_id)
    assert poll.status is PollStatus.OPEN
    mark = api.mark()
    await tg.press(owner, controls, poll_buttons.MANAGE.data(poll_id, "close"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    poll, _b = await _poll(bot, poll_id)
    assert poll.status is PollStatus.CLOSED

    post2, controls2, _p = await _create(api, tg, group, owner, stored.id,
                                         question="Second question?", deadline="1d")
    mark = api.mark()
    await tg.press(owner, controls2, poll_buttons.MANAGE.data(_poll_id(post2), "cancel"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    mark = api.mark()
    await tg.say(owner, owner, "Asked the wrong question.")
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert told.text == "P-2 已被管理员取消。原因：Asked the wrong question."
    poll2, _b = await _poll(bot, _poll_id(post2))
    assert poll2.status is PollStatus.CANCELLED


async def test_audit_detects_a_tampered_ballot_and_forged_buttons_change_nothing(bot, api,
                                                                                 tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _p = await _create(api, tg, group, owner, stored.id)
    poll_id = _poll_id(post)
    await _vote(api, tg, people["Ann"], post, 0)
    await _vote(api, tg, people["Ann"], post, 1)
    await _vote(api, tg, people["Dee"], post, 0)
    mark = api.mark()
    await tg.say(group, people["Bob"], "/audit P-1")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == ("P-1：投票记录完整（3 条），选票与记录一致。\n"
                          "投票截止时，记录的链头会公布在群里。")

    for data in (f"v:{poll_id}:7", f"v:{poll_id + 1}:0", "v:abc:0", f"v:{poll_id}"):
        mark = api.mark()
        await tg.press(people["Bob"], post, data)
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert (answer.get("text"), answer.get("show_alert")) == (
            "This button is out of date.", True), data
    _p, counted = await _poll(bot, poll_id)
    assert len(counted) == 2

    async with bot.services.db.transaction() as conn:  # someone edits the database
        await inspection.change_ballot(conn, poll_id, people["Ann"].id, [0])
    mark = api.mark()
    await tg.say(group, people["Bob"], "/audit P-1")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == ("P-1：选票与投票记录不一致：有选票在机器人之外被改动。\n"
                          "投票截止时，记录的链头会公布在群里。")


async def test_export_sends_minutes_to_the_moderator(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _p = await _create(api, tg, group, owner, stored.id)
    await _vote(api, tg, people["Ann"], post, 0)
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    xlsx_call = await api.wait_for("sendDocument", after=mark,
                                   where=lambda c: c is not csv_call)
    name, content = api.upload(csv_call)
    assert name == "P-1.csv" and csv_call.chat_id == owner.id
    text = content.decode("utf-8-sig")
    assert "Repaint the lobby?" in text and "3-1-101,Ann,Yes" in text
    xlsx_name, xlsx = api.upload(xlsx_call)
    assert xlsx_name == "P-1.xlsx" and xlsx[:2] == b"PK"
    done = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert done.text == "P-1 的投票记录已私聊发给你。"
    mark = api.mark()
    await tg.say(group, people["Ann"], "/export P-1")
    refused = await api.wait_for("sendMessage", after=mark)
    assert refused.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"


@pytest.fixture
def burst_settings(api, db_path):
    return make_settings(api, db_path, polls={"tally_refresh_seconds": 5})


async def test_a_burst_of_300_votes_is_counted_exactly(api, tg, clock, burst_settings):
    bot = RunningBot(api, burst_settings, clock)
    await bot.start()
    try:
        rows = [(f"9-{n // 100 + 1}-{n % 100 + 100}", f"R{n}", "owner", 60 + n % 40)
                for n in range(300)]
        group, owner, stored, people = await _building(bot, api, tg, rows, say_hello=False)
        post, _c, _p = await _create(api, tg, group, owner, stored.id)
        poll_id = _poll_id(post)
        mark = api.mark()
        started = time.monotonic()
        for n, person in enumerate(people.values()):
            await tg.press(person, post, poll_buttons.VOTE.data(poll_id, n % 3))
        answers = await api.wait_count("answerCallbackQuery", 300, after=mark, timeout=120)
        elapsed = time.monotonic() - started
        assert len(answers) == 300
        assert sum(1 for a in answers if a.get("text", "").startswith("Recorded")) == 300
        _p, counted = await _poll(bot, poll_id)
        assert len(counted) == 300
        assert sorted(b.choice[0] for b in counted).count(0) == 100
        edits = [c for c in api.sent("editMessageText", after=mark) if c.chat_id == group.id]
        # One edit at once, then at most one per 5 seconds: never one per vote.
        assert 1 <= len(edits) <= 1 + int(elapsed // 5) + 1
    finally:
        await bot.stop()
    assert api.violations == []


async def test_a_secret_poll_names_nobody(bot, api, tg, clock, caplog):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, preview = await _create(api, tg, group, owner, stored.id,
                                      question="Should we hire a new cleaner?",
                                      settings=("secret",))
    assert "Ballot: secret" in preview.text
    poll_id = _poll_id(post)
    for name, option in (("Ann", 0), ("Bob", 1), ("Cal", 0)):
        assert (await _vote(api, tg, people[name], post, option)).startswith("Recorded")
    assert await _vote(api, tg, people["Ann"], post, 1) == "Recorded for P-1: No"
    async with bot.services.db.transaction() as conn:
        rows = await store.ballot_rows(conn, poll_id)
        links = await store.chain(conn, poll_id)
        took_part = await store.participants(conn, poll_id)
    ids = {str(p.id) for p in people.values()}
    assert len(rows) == 3 and all(r["user_id"] is None for r in rows)
    assert all(r["voter_key"].startswith("s:") for r in rows)
    assert not any(i in json_text(link.entry) for link in links for i in ids)
    assert sorted(took_part) == sorted(people[n].id for n in ("Ann", "Bob", "Cal"))

    # Export: who took part, not what they chose.
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    text = api.upload(csv_call)[1].decode("utf-8-sig")
    assert "参与人（无记名投票）" in text and "Ann" in text
    assert "Ann,Yes" not in text and "Ann,No" not in text
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)

    clock.advance(timedelta(days=3))
    mark = api.mark()
    await bot.tick()
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "No：2 票" in result.text
    async with bot.services.db.transaction() as conn:
        assert await store.key(conn, poll_id) is None  # the key is gone: nobody can link now
    mark = api.mark()
    await tg.say(group, people["Bob"], "/audit P-1")
    audit = await api.wait_for("editMessageText", after=mark)
    assert audit.text.startswith("P-1：投票记录完整（4 条），选票与记录一致。\n链头 ")
    assert audit.text.endswith("与截止时群里公布的一致：此后记录未被改动。")
    group_texts = " ".join(c.text or "" for c in api.sent(chat_id=group.id))
    for name in ("Ann", "Bob", "Cal"):
        assert f"{name}: " not in group_texts
    assert not any(i in caplog.text for i in ids)


def json_text(entry):
    import json

    return json.dumps(entry)


async def test_paper_ballots_for_units_off_telegram_refuse_a_second_entry_and_void(
        bot, api, tg, clock):
    """A paper ballot can be entered for any unit on the register (here one whose owner is
    not on Telegram); a unit that voted cannot vote twice, online or on paper; a moderator
    voids a ballot only with a reason, which the log, the audit and the minutes keep."""
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    mark = api.mark()
    await tg.send_document(owner, owner, "register.csv", (
        "unit,area,name,user,relation\n3-2-202,75,王秀英,,owner\n").encode())
    assert (await api.wait_for("sendMessage", after=mark)).text.startswith("Imported 1 rows")
    post, controls, _p = await _create(api, tg, group, owner, stored.id,
                                       settings=("audience", "audience"))  # owners
    poll_id = _poll_id(post)
    await _vote(api, tg, people["Ann"], post, 0)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731

    async def paper(unit, signer=None, option=None):
        mark = api.mark()
        await tg.press(owner, controls, poll_buttons.MANAGE.data(poll_id, "proxy"))
        await api.wait_for("sendMessage", after=mark, where=to_owner)
        mark = api.mark()
        await tg.say(owner, owner, unit)
        asked = await api.wait_for("sendMessage", after=mark, where=to_owner)
        if signer is None:
            return asked.text
        mark = api.mark()
        await tg.say(owner, owner, signer)
        choices = await api.wait_for("sendMessage", after=mark, where=to_owner)
        assert choices.text == f"What did {unit} choose?"
        mark = api.mark()
        await tg.press(owner, choices, poll_buttons.PROXY_OPTION.data(option))
        return (await api.wait_for("editMessageText", after=mark, where=to_owner)).text

    entered = await paper("3-2-202", "王秀英", 1)
    assert entered.startswith("Recorded for P-1: No for 3-2-202, a paper ballot signed by "
                              "王秀英, entered by you. Receipt: ")
    # A second entry for the same unit is refused with what stands; so is one for a unit
    # that voted online.
    assert await paper("3-2-202") == (
        "3-2-202 has already voted in P-1: “No”, a paper ballot signed by 王秀英, entered "
        "2026-11-23 10:00. A household has one ballot; if that one is wrong, void it first "
        "with /void P-1 3-2-202 and the reason.")
    assert (await paper("3-1-101")).startswith(
        "3-1-101 has already voted in P-1: “Yes”, voted online by Ann 2026-11-23 10:00.")
    assert (await paper("9-9-999")).startswith("9-9-999 is not on the building's register.")
    _p, counted = await _poll(bot, poll_id)
    assert sorted(b.choice for b in counted) == [(0,), (1,)]
    actions = [e.action for e in await audit_log(bot, stored.id)]
    assert "poll.paper_ballot" in actions

    # Voiding needs a reason and a moderator; then the household may vote again.
    mark = api.mark()
    await tg.say(group, people["Ann"], "/void P-1 3-2-202 wrong unit")
    refused = await api.wait_for("sendMessage", after=mark)
    assert "only the group's moderators" in refused.text or "管理员" in refused.text
    mark = api.mark()
    await tg.say(group, owner, "/void P-1 3-2-202")
    assert (await api.wait_for("sendMessage", after=mark)).text.startswith("用法：/void")
    mark = api.mark()
    await tg.say(group, owner, "/void P-1 3-2-202 签名与房号不符")
    assert (await api.wait_for("sendMessage", after=mark)).text == (
        "P-1 中 3-2-202 的选票已作废。原因：签名与房号不符。该户可以重新投票。")
    _p, counted = await _poll(bot, poll_id)
    assert [b.choice for b in counted] == [(0,)]
    entered = await paper("3-2-202", "王秀英", 0)
    assert entered.startswith("Recorded for P-1: Yes for 3-2-202")
    # The minutes mark the paper ballot and list the voided one with its reason.
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    text = api.upload(csv_call)[1].decode("utf-8-sig")
    assert "3-2-202,王秀英（纸质选票）,Yes" in text
    assert "3-2-202,王秀英（纸质选票）,No,签名与房号不符" in text
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    mark = api.mark()
    await tg.say(group, owner, "/audit P-1")
    assert "投票记录完整（4 条）" in (await api.wait_for("sendMessage", after=mark)).text


async def test_a_secret_civil_code_poll_weighs_by_area_and_keeps_no_household_link(
        bot, api, tg, clock):
    rows = [("1-101", "A1", "owner", 120), ("1-102", "A2", "owner", 80),
            ("1-103", "A3", "owner", 100)]
    group, owner, stored, people = await _building(bot, api, tg, rows)
    post, controls, preview = await _create(api, tg, group, owner, stored.id,
                                            question="Use the fund to fix the roof?",
                                            settings=("rule", "rule", "secret"))
    assert "Civil Code, ordinary matter" in preview.text and "Ballot: secret" in preview.text
    assert all(b["callback_data"].split(":")[-1] != "proxy" for b in controls.buttons)
    poll_id = _poll_id(post)
    await _vote(api, tg, people["A1"], post, 0)
    await _vote(api, tg, people["A2"], post, 1)
    await _vote(api, tg, people["A3"], post, 0)
    async with bot.services.db.transaction() as conn:
        rows_stored = await store.ballot_rows(conn, poll_id)
        links = await store.chain(conn, poll_id)
    assert all(r["user_id"] is None and r["unit_id"] is None for r in rows_stored)
    assert all(r["unit_key"].startswith("k:") for r in rows_stored)
    assert all(str(link.entry["unit"]).startswith("k:") for link in links)
    clock.advance(timedelta(days=3))
    mark = api.mark()
    await bot.tick()
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    # 220 of 300 m² and 2 of 3 owners said yes: passed; the area came from the roster.
    assert ("通过：参与表决的 300 平方米中 220 平方米、3 位业主中 2 位同意（需要：超过 150 "
            "平方米，且 2 位业主）；300 平方米中 300 平方米、3 位业主中 3 位参与表决。"
            ) in result.text
    async with bot.services.db.transaction() as conn:
        assert await store.key(conn, poll_id) is None
    # Closed: the frozen result still renders although the key is gone.
    mark = api.mark()
    await tg.say(group, owner, "/polls")
    listing = await api.wait_for("sendMessage", after=mark)
    assert "已截止：通过" in listing.text


async def test_forgetme_leaves_votes_counted_and_the_voter_unnamed(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _p = await _create(api, tg, group, owner, stored.id)
    poll_id = _poll_id(post)
    ann = people["Ann"]
    await _vote(api, tg, ann, post, 0)
    await _vote(api, tg, people["Bob"], post, 1)
    await _forgotten(bot, api, tg, ann)
    async with bot.services.db.transaction() as conn:
        rows = await store.ballot_rows(conn, poll_id)
    assert len(rows) == 2 and ann.id not in [r["user_id"] for r in rows]
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    text = api.upload(csv_call)[1].decode("utf-8-sig")
    assert "Ann" not in text and ",Yes," in text  # her vote, without her name
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    clock.advance(timedelta(days=3))
    mark = api.mark()
    await bot.tick()
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "Yes：1 票" in result.text and "No：1 票" in result.text
    mark = api.mark()
    await tg.say(group, owner, "/audit P-1")
    audit = await api.wait_for("editMessageText", after=mark)
    assert "投票记录完整" in audit.text and "与截止时群里公布的一致" in audit.text


@pytest.mark.expect_handler_errors
async def test_a_vote_is_a_vote_mid_flow_and_a_failing_one_is_answered_once(bot, api, tg,
                                                                             monkeypatch):
    """Vote buttons are handled before every feature: a person half-way through another
    flow still votes; and a vote that fails gets one apology (not also "out of date"
    from the fallback), nothing is stored, and the update still leaves the inbox."""
    import handlers.polls.ballots

    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _controls, _preview = await _create(api, tg, group, owner, stored.id)
    # The owner starts another poll's draft in private and leaves it at the question.
    mark = api.mark()
    await tg.say(owner, owner, "/poll")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    # Their press on the group's poll reaches the vote (they are not on the roster) ...
    assert await _vote(api, tg, owner, post, 0) == (
        "This poll is for residents on the roster. Send /join to me in private to join it.")
    # ... and the draft is where they left it.
    mark = api.mark()
    await tg.say(owner, owner, "Bike racks?")
    asked = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    assert "option" in asked.text.lower()

    assert await _vote(api, tg, people["Ann"], post, 1) == "Recorded for P-1: No"

    async def broken(conn, settings, presses, now):
        raise RuntimeError("database on fire")

    # Both ways of recording fail: on arrival (the press then goes the usual way) and
    # the usual way.
    monkeypatch.setattr(handlers.polls.ballots, "record", broken)
    mark = api.mark()
    await tg.press(people["Dee"], post, poll_buttons.VOTE.data(_poll_id(post), 0))
    apology = await api.wait_for("answerCallbackQuery", after=mark)
    assert apology.get("text") == "抱歉，我这边出了点问题，没有任何改动。请过一分钟再试。"
    assert apology.get("show_alert") is True
    await bot.settled()
    assert len(api.sent("answerCallbackQuery", after=mark)) == 1
    from storage import inbox

    async with bot.services.db.transaction() as conn:
        rows = await store.ballot_rows(conn, _poll_id(post))
        assert await inbox.pending(conn) == []
    assert [row["user_id"] for row in rows] == [people["Ann"].id]


async def test_a_deadline_typed_in_words(bot, api, tg, clock):
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # Monday 10:00 in Shanghai
    group, owner, stored, _people = await _building(bot, api, tg, ROWS)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    ask = await _ask_deadline(api, tg, owner, stored.id, "Plant a tree by the gate?")
    # The examples are a week from today, never a day already past.
    assert ask.text == ("Until when can people vote? Press one, or type a time (e.g. 3d, "
                        "tomorrow 8pm, next friday, 30/11 or 2026-11-30 20:00).")
    for typed, answer in (
            ("some day", "I could not read that as a time. Type it like this: e.g. 3d, "
                         "tomorrow 8pm, next friday, 30/11 or 2026-11-30 20:00."),
            ("昨天晚上8点", "A poll must stay open at least 10 minutes.")):
        mark = api.mark()
        await tg.say(owner, owner, typed)
        refused = await api.wait_for("sendMessage", after=mark, where=to_owner)
        assert refused.text == answer
    mark = api.mark()
    await tg.say(owner, owner, "下周五晚上8点")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert "2026-12-04 20:00" in preview.text


async def test_a_post_an_admin_deleted_does_not_stop_the_result(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _p = await _create(api, tg, group, owner, stored.id, deadline="1d")
    assert await _vote(api, tg, people["Ann"], post, 0) == "Recorded for P-1: Yes"
    await bot.settled()
    tg.delete(post)  # an admin tidies the group; Telegram does not tell the bot
    clock.advance(timedelta(days=1, minutes=1))
    mark = api.mark()
    await bot.tick()
    result = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                and "已截止" in (c.text or ""))
    assert result.text.startswith("P-1 已截止：Repaint the lobby?")
    refused = [c for c in api.calls[mark:] if c.method == "editMessageText" and c.error]
    assert refused and "message to edit not found" in refused[0].error
    poll, counted = await _poll(bot, _poll_id(post))
    assert poll.status is PollStatus.CLOSED and len(counted) == 1
    assert await bot.tick() == 0  # nothing left trying to edit the vanished post


async def test_a_poll_weighed_by_area_names_the_units_with_no_area(bot, api, tg):
    """Outside the Civil Code a poll weighed by floor area can be published with units
    whose area is not recorded, but their ballots weigh 0 m²: the preview says which."""
    group, owner, stored, _people = await _building(bot, api, tg, ROWS)
    # Counting: each vote once → each household once → floor area.
    preview = await prepare_poll(api, tg, owner, stored.id, settings=("weighting",) * 2)
    assert "Counting: votes weigh by floor area" in preview.text
    assert ("⚠️ Units in scope with no recorded area weigh 0 m² in this poll (1): 3-1-103. "
            "Record their area with /residents area if they should count."
            ) in preview.text.splitlines()
    assert [b["text"] for b in preview.buttons][-3] == "Publish"
