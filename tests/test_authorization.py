"""The authorization sweep: every privileged command and button, tried by a plain
resident, by a resident of another building, and by a handler of another category, is
refused, and nothing stored changes."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.topics import TopicStatus
from bot.fakeapi.harness import make_settings
from handlers.reports import callbacks as report_buttons
from storage import announcements, decisions, inspection, reports, topics
from tests.helpers import group_with_bot, introduce
from tests.test_polls import _create, _poll_id

# What a refused press or command may still touch: who the bot has met, the flows'
# own bookkeeping, and timers.
UNWATCHED = {"people", "due_work", "conversation_states", "user_data", "chat_data",
             "update_inbox", "update_progress"}


async def _snapshot(bot):
    async with bot.services.db.transaction() as conn:
        tables = await inspection.every_row(conn, skip=frozenset(UNWATCHED))
    return {name: sorted(tuple(map(repr, row.values())) for row in rows)
            for name, rows in tables.items()}


async def _seed(bot, community_id, ann_id, now):
    async with bot.services.db.transaction() as conn:
        pending = await topics.create(conn, community_id=community_id, title="Paint the gate",
                                      details="", category="facilities", photo_file_id=None,
                                      author_id=ann_id, now=now)
        other = await topics.create(conn, community_id=community_id, title="Gate colour",
                                    details="", category="facilities", photo_file_id=None,
                                    author_id=ann_id, now=now)
        await topics.move(conn, other.id, from_status=TopicStatus.PENDING,
                          to_status=TopicStatus.OPEN, now=now)
        report = await reports.create(
            conn, community_id=community_id, now=now, photos=[], category="water",
            description="Leak", voice_file_id=None, where_text="Lobby", unit_id=None,
            latitude=None, longitude=None, reporter_id=ann_id, anonymous=False)
        decision = await decisions.create(conn, community_id=community_id, title="Fix the gate",
                                          now=now, milestones=["Order parts"])
        steps = await decisions.milestones(conn, decision.id)
        notice = await announcements.create(
            conn, community_id=community_id, author_id=None, text="Bins", photo_file_id=None,
            cron="0 8 * * 1", run_at=now + timedelta(days=1), pin=False, in_quiet_hours=False,
            now=now)
    return pending, other, report, decision, steps[0], notice


@pytest.fixture
def settings(api, db_path):
    """Ann tries every command in a row: more than flood control lets one person send
    (tests/test_flood.py checks that); here every one must be refused on its merits."""
    return make_settings(api, db_path, telegram={"flood_commands": 1000})


async def test_every_privileged_command_and_button_is_refused_and_changes_nothing(
        bot, api, tg, clock):
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    ann = tg.person("Ann", username="ann", language_code="en")
    lee = tg.person("Lee", username="lee", language_code="en")
    await introduce(bot, tg, group, ann, lee)
    other, other_owner, _other = await group_with_bot(bot, api, tg, "Oak Court")
    zed = tg.person("Zed", username="zed", language_code="en")
    await introduce(bot, tg, other, zed)
    start_replies = {}
    for person in (owner, ann, lee, zed):
        mark = api.mark()
        await tg.say(person, person, "/start")
        start_replies[person.id] = await api.wait_for(
            "sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    mark = api.mark()
    await tg.say(group, owner, "/role @lee handler lift")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    post, _controls, _preview = await _create(api, tg, group, owner, stored.id)
    poll = _poll_id(post)
    pending, merge_into, report, decision, step, notice = await _seed(
        bot, stored.id, ann.id, clock.now())

    buttons = [
        f"set:{stored.id}:lang:en", f"set:{stored.id}:qh:0", f"set:{stored.id}:lb:off",
        f"set:{stored.id}:mc:link", f"set:{stored.id}:hc:link",
        f"tp:{pending.id}:ok", f"tp:{pending.id}:no", f"tp:{pending.id}:mg",
        f"tm:{pending.id}:{merge_into.id}", f"ts:{merge_into.id}:vote",
        f"ts:{merge_into.id}:urgent", f"ts:{merge_into.id}:close", f"ts:{merge_into.id}:meet",
        f"pm:{poll}:close", f"pm:{poll}:extend", f"pm:{poll}:cancel", f"pm:{poll}:proxy",
        f"rh:{report.id}:ack", f"rh:{report.id}:start", f"rh:{report.id}:resolve",
        f"rh:{report.id}:reject", f"rh:{report.id}:pass", f"ra:{report.id}:{lee.id}",
        f"an:{notice.id}:pause", f"an:{notice.id}:delete",
        f"dm:{decision.id}:{step.id}",
    ]
    group_commands = [
        "/settings language en", "/settings quiet off", "/settings leaderboard off",
        "/role @ann moderator", "/residents", "/export P-1", "/export reports",
        "/announcements", "/decisions new", "/decision D-1 owner @ann",
        "/decision D-1 due 2026-12-31", "/decision D-1 cancel no reason", "/announce",
    ]
    private_commands = ["/announce", "/decisions new", "/poll", "/announcements",
                        "/progress D-1"]
    before = await _snapshot(bot)
    refusals = 0
    for attacker in (ann, lee, zed):
        for data in buttons:
            mark = api.mark()
            await tg.press(attacker, start_replies[attacker.id], data)
            answer = await api.wait_for("answerCallbackQuery", after=mark)
            refusals += bool(answer.get("text"))
        if attacker is ann:
            for data in buttons:
                mark = api.mark()
                await tg.press(attacker, post, data)  # pressed under a group message
                await api.wait_for("answerCallbackQuery", after=mark)
        if attacker is not zed:
            # A group takes 20 messages a minute: the handler tries a few, Ann all of them.
            for command in group_commands if attacker is ann else group_commands[::4]:
                mark = api.mark()
                await tg.say(group, attacker, command)
                reply = await api.wait_for("sendMessage", after=mark,
                                           where=lambda c: c.chat_id == group.id)
                assert not reply.buttons or "url" in reply.buttons[0], (command, reply.text)
        for command in private_commands:
            mark = api.mark()
            await tg.say(attacker, attacker, command)
            await api.wait_for("sendMessage", after=mark,
                               where=lambda c, a=attacker: c.chat_id == a.id)
            mark = api.mark()
            await tg.say(attacker, attacker, "/cancel")
            await api.wait_for("sendMessage", after=mark,
                               where=lambda c, a=attacker: c.chat_id == a.id)
    assert refusals == 3 * len(buttons)
    after = await _snapshot(bot)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == set(), {name: (before[name], after[name]) for name in changed}
    # The same button pressed by the moderator does change things: the check can fail.
    mark = api.mark()
    await tg.press(owner, start_replies[owner.id], report_buttons.HANDLE.data(report.id, "ack"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert (await _snapshot(bot))["reports"] != after["reports"]
