"""The weekly summary end to end: it fires once at the moved clock's Sunday 20:00 local,
with the figures of a seeded week and a chart that is a real PNG; quiet hours move it; an
empty week is one line; /summary shows the last one or, for moderators, this week now."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.domain.reports import ReportStatus
from bot.domain.topics import TopicStatus
from handlers.summary import chart_weeks
from storage import due_work, summaries
from storage import reports as report_store
from storage import topics as topic_store
from tests.conftest import make_settings
from tests.helpers import community, group_with_bot
from tests.test_polls import ROWS, _building, _create, _vote

MONDAY = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def settings(api, db_path):
    return make_settings(api, db_path, summary={"enabled": True})


async def _seed_reports_and_topic(bot, community_id, reporter_id, supporter_id):
    """Three reports (two resolved after 10 h and 20 h, rated 4 and 5; one lift report
    left new, past its 4-hour limit) and an open topic with two supporters."""
    at = MONDAY + timedelta(days=1)
    async with bot.services.db.transaction() as conn:
        made = []
        for n, category in enumerate(("water", "cleaning", "lift")):
            made.append(await report_store.create(
                conn, community_id=community_id, now=at + timedelta(hours=n), photos=[],
                category=category, description=f"Problem {n}", voice_file_id=None,
                where_text="Lobby", unit_id=None, latitude=None, longitude=None,
                reporter_id=reporter_id, anonymous=False))
        for report, hours, stars in ((made[0], 10, 4), (made[1], 20, 5)):
            done = report.created_at + timedelta(hours=hours)
            await report_store.move(conn, report.id, from_status=ReportStatus.NEW,
                                    to_status=ReportStatus.RESOLVED, actor_id=None, now=done)
            await report_store.record_note(conn, report.id, actor_id=reporter_id,
                                           note=f"rating:{stars}", now=done)
        topic = await topic_store.create(conn, community_id=community_id,
                                         title="Bike racks by the gate", details="",
                                         category="facilities", photo_file_id=None,
                                         author_id=reporter_id, now=at)
        await topic_store.move(conn, topic.id, from_status=TopicStatus.PENDING,
                               to_status=TopicStatus.OPEN, now=at)
        for user_id in (reporter_id, supporter_id):
            await topic_store.add_support(conn, topic.id, user_id, at)
        # A duplicate, merged into it: not a new topic of the week.
        twin = await topic_store.create(conn, community_id=community_id,
                                        title="Bike racks at the gate", details="",
                                        category="facilities", photo_file_id=None,
                                        author_id=supporter_id, now=at)
        await topic_store.move(conn, twin.id, from_status=TopicStatus.PENDING,
                               to_status=TopicStatus.MERGED, now=at)


async def test_the_weekly_summary_fires_once_with_the_weeks_figures_and_a_chart(
        bot, api, tg, clock):
    clock.set(MONDAY)
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob = people["Ann"], people["Bob"]
    post, _c, _p = await _create(api, tg, group, owner, stored.id, deadline="3d")
    for voter in (ann, bob):
        await _vote(api, tg, voter, post, 0)
    await _seed_reports_and_topic(bot, stored.id, ann.id, bob.id)
    clock.set(datetime(2026, 11, 19, 3, 0, tzinfo=UTC))  # Thursday: the poll closes
    await bot.tick()

    clock.set(datetime(2026, 11, 22, 11, 59, tzinfo=UTC))  # Sunday 19:59 local
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday 20:00 local
    mark = api.mark()
    await bot.tick()
    text = (await api.wait_for("sendMessage", after=mark,
                               where=lambda c: c.chat_id == group.id)).text
    lines = text.splitlines()
    assert lines[0] == "Elm House 本周概况（11-15 – 11-22）"
    assert "议题：新提出 1 个。支持最多：T-1 Bike racks by the gate (2)" in lines
    assert any(line.startswith("• P-1 “Repaint the lobby?”：结果：“Yes”胜出。") for line in lines)
    assert ("问题报告：新增 3 件，处理完 2 件，处理用时中位数 15.0 小时，逾期 1 件，"
            "满意度 ★ 4.5（2 个评分）。") in lines
    assert "• D-1 Repaint the lobby?——决定：Yes · 0%" in lines
    # D-1 was made this week; its making is not a progress update.
    assert "决议：本周进展更新 0 条。" in lines
    # Listed the Chinese way: 、 between names, full-width brackets.
    assert "感谢 A.（5）、B.（5）" in lines
    chart = await api.wait_for("sendPhoto", after=mark, where=lambda c: c.chat_id == group.id)
    png = api.upload(chart)[1]
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG" and image.size == (1000, 560)
    # The chart's turnout counts the one-vote-per-person poll: 2 of the 5 on the roster.
    weeks = await chart_weeks(bot.app, await community(bot, group.id),
                              datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    assert weeks[-1].turnout == pytest.approx(0.4)

    # Once: not again on the next tick, nor after a restart.
    await bot.tick()
    await bot.restart()
    await bot.tick()
    assert len([c for c in api.sent(chat_id=group.id, after=mark) if "本周概况" in c.text]) == 1
    async with bot.services.db.transaction() as conn:
        assert await summaries.sent_count(conn, stored.id) == 1

    # A resident's /summary shows the last one; a moderator's makes a fresh one now.
    mark = api.mark()
    await tg.say(group, bob, "/summary")
    again = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert again.text == text
    await api.wait_for("sendPhoto", after=mark, where=lambda c: c.chat_id == group.id)
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    mark = api.mark()
    await tg.say(group, owner, "/summary")
    fresh = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert fresh.text.startswith("Elm House 本周概况（11-16 – 11-23）")


async def test_an_empty_week_is_one_line_and_quiet_hours_move_it(bot, api, tg, clock):
    clock.set(MONDAY)
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    for typed in ("/settings language en", "/settings quiet 19:00-07:00"):
        mark = api.mark()
        await tg.say(group, owner, typed)
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday 20:00, quiet
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    clock.set(datetime(2026, 11, 22, 23, 0, tzinfo=UTC))  # Monday 07:00
    mark = api.mark()
    await bot.tick()
    quiet = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert quiet.text == ("A quiet week in Elm House (11-15 – 11-22): no new topics, polls, "
                          "reports or decisions.")
    await bot.tick()
    assert api.sent("sendPhoto", chat_id=group.id, after=mark) == []
    assert len(api.sent(chat_id=group.id, after=mark)) == 1
    # The next week's is armed for the next Sunday.
    clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []  # quiet again until 07:00


async def test_a_new_time_zone_moves_the_summary_and_the_roundup(bot, api, tg, clock):
    clock.set(MONDAY)
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    await bot.tick()  # everything armed for Shanghai
    mark = api.mark()
    await tg.say(group, owner, "/settings timezone Europe/Berlin")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    async with bot.services.db.transaction() as conn:
        roundup = await due_work.pending(conn, kind="topic_roundup", key=str(stored.id))
    # It is 03:00 on Monday in Berlin: the roundup is at 09:00 there today (in Shanghai it
    # was a week away).
    assert roundup.due_at == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    # Sunday 20:00 in Shanghai is 13:00 in Berlin: nothing.
    clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    assert api.sent(chat_id=group.id, after=mark) == []
    # Sunday 20:00 in Berlin: the week's summary, once.
    clock.set(datetime(2026, 11, 22, 19, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    sent = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert sent.text == ("Elm House 本周很平静（11-15 – 11-22）：没有新的议题、投票、"
                         "问题报告或决议。")
    async with bot.services.db.transaction() as conn:
        assert await summaries.sent_count(conn, stored.id) == 1
