"""Points: the ledger's rules against a real database, and /me and /top as people see them."""

import json
from datetime import timedelta

from bot.domain.points import Action
from bot.points import award, revoke
from handlers.me import FORGET, PUBLIC_NAME
from handlers.settings import SETTING
from storage import points as ledger
from tests.helpers import audit_log, group_with_bot, introduce


async def _award(bot, community, user_id, action, ref):
    async with bot.services.db.transaction() as conn:
        return await award(conn, bot.services.settings.points, community, user_id=user_id,
                           action=action, ref=ref, now=bot.clock.now())


async def _earned(bot, community, user_id, **kwargs):
    async with bot.services.db.transaction() as conn:
        return await ledger.earned(conn, community.id, user_id, **kwargs)


async def test_an_act_earns_once_within_the_daily_cap(bot, api, tg, clock):
    group, owner, stored = await group_with_bot(bot, api, tg)
    assert await _award(bot, stored, owner.id, Action.VOTE, "poll:1") == 5
    assert await _award(bot, stored, owner.id, Action.VOTE, "poll:1") == 0  # same act
    for n in range(2, 7):
        await _award(bot, stored, owner.id, Action.VOTE, f"poll:{n}")
    assert await _earned(bot, stored, owner.id) == 25  # the daily cap for votes
    assert await _award(bot, stored, owner.id, Action.REPORT, "report:1") == 3  # other acts
    clock.advance(timedelta(days=1))
    assert await _award(bot, stored, owner.id, Action.VOTE, "poll:7") == 5
    assert await _award(bot, stored, owner.id, Action.VOTE, "poll:6") == 0  # never twice


async def test_a_revoked_act_stops_counting_and_is_audited(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg)
    await _award(bot, stored, owner.id, Action.TOPIC_ADOPTED, "topic:9")
    async with bot.services.db.transaction() as conn:
        taken = await revoke(conn, stored, user_id=owner.id, action=Action.TOPIC_ADOPTED,
                             ref="topic:9", by=777, now=bot.clock.now())
        again = await revoke(conn, stored, user_id=owner.id, action=Action.TOPIC_ADOPTED,
                             ref="topic:9", by=777, now=bot.clock.now())
    assert (taken, again) == (20, 0)
    assert await _earned(bot, stored, owner.id) == 0
    entry = (await audit_log(bot, stored.id))[0]
    assert entry.action == "points.revoke" and entry.actor_id == 777
    assert entry.details == {"user": owner.id, "act": "topic_adopted", "ref": "topic:9",
                             "points": 20}


async def test_me_shows_unit_role_points_and_the_next_level(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    mei = tg.person("梅", language_code="zh-hans")
    tom = tg.person("Tom", username="tom", language_code="en")
    await introduce(bot, tg, group, mei, tom)
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(owner, owner, "/residents add 3-2-501 @tom tenant")
    await api.wait_for("sendMessage", after=mark)
    await _award(bot, stored, tom.id, Action.VOLUNTEER, "event:1")
    await _award(bot, stored, tom.id, Action.REPORT, "report:1")
    mark = api.mark()
    await tg.say(tom, tom, "/me")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.splitlines() == [
        "Elm House",
        "Unit: 3-2-501 (tenant, verified)",
        "Role: resident",
        "Points: 13 this month, 13 in all",
        "Level: Resident",
        "37 more points to reach Active neighbour: vote, report problems, support topics, "
        "help out.",
    ]
    mark = api.mark()
    await tg.say(mei, mei, "/me")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.splitlines()[1:5] == [
        "房号：还没有房号——发送 /join 登记", "角色：居民", "积分：本月 0，累计 0", "等级：居民"]


async def test_top_ranks_the_month_with_names_as_people_chose(bot, api, tg, clock):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    wang = tg.person("王芳", language_code="zh-hans")
    alice = tg.person("Alice Smith", language_code="en")
    await introduce(bot, tg, group, wang, alice)
    await _award(bot, stored, wang.id, Action.TOPIC_ADOPTED, "topic:1")
    await _award(bot, stored, alice.id, Action.VOLUNTEER, "event:1")
    # Alice chooses to show her full name.
    mark = api.mark()
    await tg.say(alice, alice, "/me")
    panel = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(alice, panel, PUBLIC_NAME.data("name"))
    await api.wait_for("editMessageReplyMarkup", after=mark)
    mark = api.mark()
    await tg.say(group, wang, "/top")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.splitlines() == ["本月最活跃的邻居", "1. 王* — 20 分",
                                       "2. Alice Smith — 10 分"]
    # Last month's points do not count this month.
    clock.advance(timedelta(days=31))
    mark = api.mark()
    await tg.say(group, wang, "/top")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("本月还没有人获得积分")


async def test_top_in_english_and_switched_off(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    mark = api.mark()
    await tg.say(group, owner, "/settings language en")
    await api.wait_for("sendMessage", after=mark)
    await _award(bot, stored, owner.id, Action.VOTE, "poll:1")
    mark = api.mark()
    await tg.say(group, owner, "/top")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.splitlines() == ["Most active neighbours this month", "1. O. — 5 points"]
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark)
    assert "Leaderboard (/top): on" in panel.text
    mark = api.mark()
    await tg.press(owner, panel, SETTING.data(stored.id, "lb", "off"))
    edited = await api.wait_for("editMessageText", after=mark)
    assert "Leaderboard (/top): off" in edited.text
    mark = api.mark()
    await tg.say(group, owner, "/top")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "The leaderboard is turned off in this group."


async def test_mydata_sends_everything_and_forgetme_leaves_records_unnamed(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    tom = tg.person("Tom", username="tom", language_code="en")
    await introduce(bot, tg, group, tom)
    mark = api.mark()
    await tg.say(group, owner, "/role @tom handler")
    await api.wait_for("sendMessage", after=mark)
    async with bot.services.db.transaction() as conn:
        from bot.domain.households import Relation
        from bot.domain.units import UnitAddress
        from storage import residents, units

        unit = await units.ensure(conn, stored.id, UnitAddress.parse("1-101"), bot.clock.now())
        await residents.request(conn, community_id=stored.id, user_id=tom.id, unit_id=unit.id,
                                relation=Relation.OWNER, area_claimed=80.0,
                                now=bot.clock.now())
    await _award(bot, stored, tom.id, Action.REPORT, "report:5")

    mark = api.mark()
    await tg.say(tom, tom, "/mydata")
    sent = await api.wait_for("sendDocument", after=mark)
    name, content = api.upload(sent)
    export = json.loads(content)
    assert name == "yishi-my-data.json"
    assert export["person"]["name"] == "Tom" and export["person"]["username"] == "tom"
    assert export["units"][0]["unit"] == "1-101" and export["units"][0]["status"] == "pending"
    assert [p["points"] for p in export["points"]] == [3]

    mark = api.mark()
    await tg.say(tom, tom, "/forgetme")
    confirm = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(tom, confirm, FORGET.data("no"))
    kept = await api.wait_for("editMessageText", after=mark)
    assert kept.text == "Nothing was removed."
    mark = api.mark()
    await tg.say(tom, tom, "/forgetme")
    confirm = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(tom, confirm, FORGET.data("yes"))
    done = await api.wait_for("editMessageText", after=mark)
    assert done.text.startswith("Done. I have forgotten you.")

    async with bot.services.db.transaction() as conn:
        from storage import people, residents

        assert await people.get(conn, tom.id) is None
        assert await residents.of_person(conn, tom.id) == []
        assert await ledger.history(conn, tom.id) == []
    entries = await audit_log(bot, stored.id)
    grant = next(e for e in entries if e.action == "role.grant")
    assert grant.details["target"] is None  # what happened is kept, not who
    assert entries[0].action == "person.forgotten"
    assert all(tom.id not in (e.actor_id, *e.details.values()) for e in entries)
