"""Several `yishi run` processes sharing one bot on PostgreSQL, behind one webhook URL
(bot/sharing.py): each update handled once and each chat's in order whoever receives it,
each message sent once, Telegram's limits kept by all of them together, and one of them
killed with SIGKILL in the middle of a vote burst without a vote lost or counted twice.

PostgreSQL only (YISHI_TEST_POSTGRES): SQLite is one process's database.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

import pytest

from bot.fakeapi.deployment import START, Deployment, database
from bot.fakeapi.harness import POSTGRES, create_poll, poll_id_of
from bot.sharing import LOOK, SharedBudget
from handlers.polls import callbacks as poll_buttons
from storage import instances as instance_store
from storage import polls as poll_store
from storage import reports as report_store
from storage.postgres import fresh_database

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES),
                                reason="several instances need PostgreSQL (YISHI_TEST_POSTGRES)")


@pytest.fixture
async def postgres_url() -> Any:
    async with fresh_database(os.environ[POSTGRES]) as url:
        yield url


@pytest.mark.real_limits
async def test_three_instances_one_killed_mid_burst_count_every_vote_once(
        api, tg, tmp_path, postgres_url):
    deployment = Deployment(api, postgres_url, tmp_path)
    try:
        await deployment.start()
        for instance in deployment.instances:
            health = await instance.health()
            assert health["instance"] == instance.name and health["database"] == "ok"
        owner = tg.person("Owner", language_code="en")
        group = tg.group("Elm House")
        mark = api.mark()
        await tg.add_bot(group, owner)
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id,
                           timeout=30)
        mark = api.mark()
        await tg.say(owner, owner, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id,
                           timeout=30)
        voters = [tg.person(f"Voter{i}", language_code="en") for i in range(40)]
        for voter in voters:
            await tg.say(group, voter, "hello")
        await deployment.settled()
        # A conversation over several updates in the owner's private chat, which may
        # be handled by a different instance at each step, then the post in the group.
        post, _controls, _preview = await create_poll(
            api, tg, group, owner, 1, deadline="3d", settings=("audience",) * 3)
        poll = poll_id_of(post)

        # A report filed step by step in private; each step may reach another instance,
        # which must know where the resident is (the flow's state, from the database).
        ann = tg.person("Ann", language_code="en")
        await tg.say(group, ann, "hello")
        mark = api.mark()
        await tg.say(group, ann, "/report")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id,
                           timeout=30)
        to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
        mark = api.mark()
        await tg.say(ann, ann, "/start report_1")
        prompt = await api.wait_for("sendMessage", after=mark, where=to_ann, timeout=30)
        album: list[str] = []
        for step in ("rp:c:lift", "album", "rp:p:done", "Lift doors stick on floor 3",
                     "rp:w:a:0", "rp:go"):
            await deployment.settled()
            await asyncio.sleep(LOOK * 2)  # the chat is given up, free for any instance
            mark = api.mark()
            if step == "album":
                sent = await tg.send_album(ann, ann, 3)
                album = [m["photo"][-1]["file_id"] for m in sent]
            elif step.startswith("rp:"):
                await tg.press(ann, prompt, step)
            else:
                await tg.say(ann, ann, step)
            answer = await api.wait_for(("sendMessage", "editMessageText"), after=mark,
                                        where=to_ann, timeout=30)
            prompt = answer if answer.buttons else prompt

        # The burst: half the presses, the instance holding the group killed, the rest.
        expected: dict[int, int] = {}
        for n, voter in enumerate(voters[:20]):
            await tg.press(voter, post, poll_buttons.VOTE.data(poll, n % 3))
            expected[voter.id] = n % 3
        await asyncio.sleep(0.3)
        victim = await deployment.holder_of(group.id)
        victim = victim or deployment.instances[0]
        await victim.kill()
        for n, voter in enumerate(voters[20:]):
            await tg.press(voter, post, poll_buttons.VOTE.data(poll, (n + 1) % 3))
            expected[voter.id] = (n + 1) % 3
        # A voter changes their mind: counted once, as the last choice.
        await tg.press(voters[0], post, poll_buttons.VOTE.data(poll, 0))
        await tg.press(voters[0], post, poll_buttons.VOTE.data(poll, 2))
        expected[voters[0].id] = 2
        await deployment.settled()
        # The killed instance is started again under its name.
        await victim.start(api.token)

        # A week of scheduled work: reminders, the poll's close, the weekly summary (due
        # Sunday 20:00, it waits out the quiet hours the clock jumps into, to Monday 07:30).
        for hours in range(6, 24 * 7 + 12, 6):
            deployment.set_clock(START + timedelta(hours=hours))
            await asyncio.sleep(0.5)
        await api.wait_for("sendMessage", timeout=60, where=lambda c: c.chat_id == group.id
                           and "已截止" in (c.text or ""))
        await api.wait_for("sendMessage", timeout=60,
                           where=lambda c: c.chat_id == group.id and "本周" in (c.text or ""))
        await asyncio.sleep(2)  # ten more ticks each: nothing more may come
        await deployment.settled()
        served = dict(deployment.balancer.served)
        # One stopped cleanly (SIGTERM) leaves at once, holding no chat, rather than
        # being taken for alive until it has not beaten for 20 s.
        leaving = deployment.instances[1]
        async with database(postgres_url) as db, db.transaction() as conn:
            runs = dict(await instance_store.alive(conn, timedelta(seconds=20)))
        await leaving.stop()
        async with database(postgres_url) as db, db.transaction() as conn:
            alive = await instance_store.alive(conn, timedelta(seconds=20))
            held = await instance_store.held(conn, runs[leaving.name])
        assert sorted(name for name, _run in alive) == sorted(
            i.name for i in deployment.instances if i is not leaving)
        assert held == set()
    finally:
        await deployment.stop()

    group_texts = [c.text for c in api.sent(chat_id=group.id)]
    assert len([t for t in group_texts if t.startswith("P-1 已截止")]) == 1
    reminders = [t for t in group_texts if t.startswith("提醒")]
    assert len(reminders) == len(set(reminders)) >= 1
    assert len([t for t in group_texts if "本周" in t and "Elm House" in t]) == 1
    async with database(postgres_url) as db, db.transaction() as conn:
        ballots = await poll_store.ballot_rows(conn, poll)
        closed = await poll_store.get(conn, poll)
        report = await report_store.by_number(conn, 1, 1)
        photos = await report_store.photos(conn, report.id) if report else []
    assert report is not None
    assert report.description == "Lift doors stick on floor 3" and photos == album
    assert closed.status.value == "closed"
    assert {row["user_id"]: row["choice"] for row in ballots} == {
        voter: [option] for voter, option in expected.items()}
    # Every instance received updates; Telegram's limits were kept by all together (the
    # fake counts as Telegram does: any 30 in a second, any 20 to a group in a minute).
    assert all(count > 0 for count in served.values()), served
    assert [v for v in api.violations
            if "answered twice" not in v and "identical content" not in v] == []


async def test_the_send_budget_is_one_for_all_instances(postgres_url):
    """Two processes' reservations share the windows: the 31st message in a second, or
    the 21st to a group in a minute, waits, whichever process asks."""
    async with database(postgres_url) as first, database(postgres_url) as second:
        from storage.migrate import upgrade
        await upgrade(first)
        budgets = [SharedBudget(first), SharedBudget(second)]
        waits = [await budgets[n % 2].reserve(-100) for n in range(20)]
        assert waits == [0.0] * 20
        to_group = await budgets[0].reserve(-100)
        assert 59 < to_group <= 61  # the group's 21st waits for its first to leave
        waits = [await budgets[n % 2].reserve(n + 1) for n in range(10)]
        assert waits == [0.0] * 10  # 30 in this second, in private chats and the group
        overall = await budgets[1].reserve(77)
        assert 0 < overall <= 1.15
