"""/residents: the roster in private, typed changes, CSV import, and refusals."""

from bot.domain.units import UnitAddress
from storage import residents, units
from tests.helpers import audit_log, group_with_bot, introduce


async def _moderator_in_private(api, tg, owner):
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)


async def _roster(bot, community_id):
    async with bot.services.db.transaction() as conn:
        return await residents.roster(conn, community_id)


CSV = (
    "unit,user,relation,area\n"
    "1-1-101,@li_lei,owner,88.5\n"
    "1-1-102,{han_id},tenant,\n"
    "1-1-1O3,@li_lei,owner,70\n"  # the letter O, not a zero: not a unit
    "1-2-201,,,95\n"  # a unit with its area, nobody registered yet
    "1-2-202,@ghost,owner,60\n"
    "2-1-301,@li_lei,landlord,60\n"
)


async def test_csv_import_reports_bad_rows_and_imports_the_rest(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Maple Court",
                                                owner_language="en")
    await _moderator_in_private(api, tg, owner)
    li = tg.person("Li Lei", username="li_lei")
    han = tg.person("Han Meimei")
    await introduce(bot, tg, group, li, han)  # known before the owner names them in private
    mark = api.mark()
    await tg.send_document(owner, owner, "roster.csv",
                           CSV.format(han_id=han.id).encode("utf-8"))
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.splitlines() == [
        "Imported 3 rows into the roster of Maple Court.", "", "Skipped 3 rows:",
        "row 4: “1-1-1O3” is not a unit like 3-2-501",
        "row 6: I do not know @ghost yet",
        "row 7: the relation must be owner, tenant, family or developer",
    ]
    roster = await _roster(bot, stored.id)
    assert [(r.address.code, r.name, r.relation.value, r.area_m2) for r in roster] == [
        ("1-1-101", "Li Lei", "owner", 88.5), ("1-1-102", "Han Meimei", "tenant", None)]
    async with bot.services.db.transaction() as conn:
        empty = await units.find(conn, stored.id, UnitAddress.parse("1-2-201"))
    assert empty.area_m2 == 95
    assert (await audit_log(bot, stored.id))[0].details == {"rows": 3, "skipped": 3}


async def test_the_roster_is_sent_in_private_with_totals(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Maple Court",
                                                owner_language="en")
    await _moderator_in_private(api, tg, owner)
    li = tg.person("Li Lei", username="li_lei")
    await introduce(bot, tg, group, li)  # known before the owner names them in private
    for command in ("/residents add 1-1-101 @li_lei owner 88.5",
                    "/residents add 1-1-102 @li_lei owner 70",
                    "/residents voter 1-1-101 @li_lei"):
        mark = api.mark()
        await tg.say(owner, owner, command)
        reply = await api.wait_for("sendMessage", after=mark)
        assert reply.text.startswith("Done:"), reply.text
    mark = api.mark()
    await tg.say(group, owner, "/residents")
    in_group = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == group.id)
    assert in_group.text == "名册已私聊发给你。"  # the group speaks Chinese
    roster = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    lines = roster.text.splitlines()
    assert lines[0] == "Roster of Maple Court"
    assert lines[1] == "1 verified residents; 2 units, 158.5 m² in all (0 units without an area)."
    # One person owning two units counts once (the Civil Code interpretation).
    assert lines[2] == "Owners counted for votes: 1 (0 on the register but not on Telegram)."
    assert "1-1-101 · Li Lei @li_lei — owner, 88.5 m² ★" in lines
    assert "1-1-102 · Li Lei @li_lei — owner, 70 m²" in lines

    mark = api.mark()
    await tg.say(owner, owner, "/residents remove 1-1-102 @li_lei")
    await api.wait_for("sendMessage", after=mark)
    assert [r.address.code for r in await _roster(bot, stored.id)] == ["1-1-101"]
    actions = [e.action for e in await audit_log(bot, stored.id)]
    assert actions[:4] == ["roster.remove", "roster.voter", "roster.add", "roster.add"]


async def test_bad_roster_commands_change_nothing(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, owner_language="en")
    await _moderator_in_private(api, tg, owner)
    for command, expected in [
        ("/residents add 1-1-101 @nobody owner", "I do not know that person yet."),
        ("/residents add the-flat @nobody owner", "Usage: /residents add"),
        ("/residents area 9-9-999 80", "9-9-999 is not on the roster."),
        ("/residents frobnicate 1-1-101", "Usage: /residents add"),
    ]:
        mark = api.mark()
        await tg.say(owner, owner, command)
        reply = await api.wait_for("sendMessage", after=mark)
        assert reply.text.startswith(expected), (command, reply.text)
    assert await _roster(bot, stored.id) == []
    assert [e.action for e in await audit_log(bot, stored.id)] == ["community.added"]


async def test_residents_cannot_use_moderator_commands(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, owner_language="en")
    eve = tg.person("Eve", username="eve", language_code="en")
    await tg.say(group, eve, "hi")
    mark = api.mark()
    await tg.say(group, eve, "/residents")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"
    for command in ("/residents", "/residents add 1-101 @eve owner"):
        mark = api.mark()
        await tg.say(eve, eve, command)
        reply = await api.wait_for("sendMessage", after=mark)
        assert reply.text == "You are not a moderator of any group I am in."
    mark = api.mark()
    await tg.send_document(eve, eve, "roster.csv", b"1-101,@eve,owner,500\n")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "Only moderators can send me files, to import the roster."
    assert await _roster(bot, stored.id) == []


async def test_a_moderator_of_two_groups_chooses_and_sees_only_that_roster(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    other = tg.group("Oak House")
    tg.set_status(other, owner, "creator")
    mark = api.mark()
    await tg.add_bot(other, owner)
    await api.wait_for("sendMessage", after=mark)
    await tg.say(other, owner, "hello Oak")
    await _moderator_in_private(api, tg, owner)
    li = tg.person("Li", username="li")
    await tg.say(other, li, "hi")
    mark = api.mark()
    await tg.say(owner, owner, "/residents")
    choice = await api.wait_for("sendMessage", after=mark)
    assert [b["text"] for b in choice.buttons] == ["Elm House", "Oak House"]
    oak = choice.buttons[1]["callback_data"]
    mark = api.mark()
    await tg.press(owner, choice, oak)
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(owner, owner, "/residents add 5-501 @li tenant")
    await api.wait_for("sendMessage", after=mark)
    assert await _roster(bot, stored.id) == []
    oak_id = int(oak.rsplit(":", 1)[1])
    assert [r.name for r in await _roster(bot, oak_id)] == ["Li"]


async def test_help_in_private_shows_a_moderator_the_roster_command(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "/residents" in reply.text and "/me" in reply.text
    neighbour = tg.person("Neighbour", language_code="en")
    await introduce(bot, tg, group, neighbour)  # a member before asking in private
    mark = api.mark()
    await tg.say(neighbour, neighbour, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "/residents" not in reply.text and "/join" in reply.text
