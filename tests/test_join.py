"""/join: from the group's link, through the moderators' decision, to the roster."""

from datetime import UTC, datetime

from bot.domain.households import Relation
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.fakeapi.server import Fault
from handlers.residents import callbacks as resident_buttons
from handlers.settings import SETTING
from storage import communities, flow_state, residents, units
from tests.helpers import audit_log, eventually, group_with_bot, introduce


async def _resident_rows(bot, community_id):
    async with bot.services.db.transaction() as conn:
        return await residents.roster(conn, community_id), await residents.pending(
            conn, community_id)


async def _moderator_ready(api, tg, owner):
    """The group's owner has a private chat with the bot, so requests can reach them."""
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)


async def _join(bot, api, tg, group, stored, who, unit="3-2-501", relation="owner",
                area="89.5"):
    """``who`` follows the group's link and answers each step; returns the request shown
    to the (first) moderator."""
    mark = api.mark()
    await tg.say(group, who, "/join")
    handover = await api.wait_for("sendMessage", after=mark)
    assert handover.buttons[0]["url"].endswith(f"?start=join_{stored.id}")
    mark = api.mark()
    await tg.say(who, who, f"/start join_{stored.id}")
    ask_unit = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == who.id)
    mark = api.mark()
    await tg.say(who, who, unit)
    ask_relation = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(who, ask_relation, resident_buttons.RELATION.data(relation))
    if relation == "owner":
        ask_area = await api.wait_for("editMessageText", after=mark)
        assert ask_area.buttons == [{"text": "跳过", "callback_data": "jn:a:skip"}] or \
            ask_area.buttons == [{"text": "Skip", "callback_data": "jn:a:skip"}]
        mark = api.mark()
        await tg.say(who, who, area)
    return ask_unit, await api.wait_for("sendMessage", after=mark,
                                        where=lambda c: c.buttons and c.buttons[0].get(
                                            "callback_data", "").startswith("jr:"))


async def test_a_join_request_is_approved_and_the_resident_told(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    await _moderator_ready(api, tg, owner)
    wang = tg.person("王芳", username="wangfang", language_code="zh-hans")
    ask_unit, request = await _join(bot, api, tg, group, stored, wang)
    assert ask_unit.text.startswith("你住在哪个房号？")
    assert request.chat_id == owner.id
    assert request.text.startswith("Join request for Elm House")
    assert "王芳 (@wangfang) asks to join as owner of 3-2-501." in request.text
    assert "89.5 m²" in request.text
    [approve, reject] = request.buttons
    mark = api.mark()
    await tg.press(owner, request, approve["callback_data"])
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == wang.id)
    assert told.text == "欢迎！你已登记为 Elm House 3-2-501 的住户。"
    closed = await api.wait_for("editMessageText", after=mark)
    assert closed.text.endswith("✅ Approved by Owner") and closed.buttons == []
    roster, waiting = await _resident_rows(bot, stored.id)
    assert [(r.address.code, r.relation.value, r.area_m2) for r in roster] == [
        ("3-2-501", "owner", 89.5)]
    assert waiting == []
    assert (await audit_log(bot, stored.id))[0].action == "resident.approve"

    # A second press (a double tap, or another moderator's copy) changes nothing.
    mark = api.mark()
    await tg.press(owner, request, approve["callback_data"])
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "Another moderator already decided this request."


async def test_a_rejected_request_is_told_and_not_on_the_roster(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    await _moderator_ready(api, tg, owner)
    tom = tg.person("Tom", language_code="en")
    _, request = await _join(bot, api, tg, group, stored, tom, unit="7-101",
                             relation="tenant")
    mark = api.mark()
    await tg.press(owner, request, request.buttons[1]["callback_data"])
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == tom.id)
    assert "was not approved" in told.text
    roster, waiting = await _resident_rows(bot, stored.id)
    assert roster == [] and waiting == []
    assert (await audit_log(bot, stored.id))[0].action == "resident.reject"


async def test_a_unit_that_does_not_parse_gets_a_clear_message(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg)
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)  # noted before they write in private
    mark = api.mark()
    await tg.say(ann, ann, "/join")
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(ann, ann, "the flat above the shop")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("I could not read “the flat above the shop” as a unit.")
    # Still at the same step: a good answer now moves on.
    mark = api.mark()
    await tg.say(ann, ann, "3栋2单元501")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "Unit 3-2-501. How do you live there?"
    assert [b["callback_data"] for b in reply.buttons] == ["jn:r:owner", "jn:r:tenant",
                                                          "jn:r:family"]


async def test_units_from_the_list_are_buttons_and_others_are_refused(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg)
    async with bot.services.db.transaction() as conn:
        for code in ("1-101", "1-102"):
            await units.ensure(conn, stored.id, UnitAddress.parse(code), bot.clock.now())
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)  # noted before they write in private
    mark = api.mark()
    await tg.say(ann, ann, "/join")
    ask = await api.wait_for("sendMessage", after=mark)
    assert [b["text"] for b in ask.buttons] == ["1-101", "1-102"]
    mark = api.mark()
    await tg.say(ann, ann, "1-103")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("1-103 is not on this building's list of units.")
    mark = api.mark()
    await tg.press(ann, ask, ask.buttons[1]["callback_data"])
    # The list is above the refusal: the next step comes at the bottom, the list's
    # buttons go.
    step = await api.wait_for("sendMessage", after=mark)
    assert step.text == "Unit 1-102. How do you live there?"
    cleared = await api.wait_for("editMessageReplyMarkup", after=mark)
    assert cleared.params["message_id"] == ask.result["message_id"]


async def test_someone_from_another_community_cannot_join_or_see_it(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    other, other_owner, other_stored = await group_with_bot(bot, api, tg, "Oak House")
    outsider = tg.person("Outsider", language_code="en")
    await introduce(bot, tg, other, outsider)
    # A link to Elm House, used by someone who is not in that group.
    mark = api.mark()
    await tg.say(outsider, outsider, f"/start join_{stored.id}")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("Only members of Elm House can join its roster.")
    # /join offers only the groups they are in: Oak House alone, so no choice at all.
    mark = api.mark()
    await tg.say(outsider, outsider, "/join")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "Which unit" in reply.text
    # A forged community button is refused.
    mark = api.mark()
    await tg.press(outsider, reply, resident_buttons.JOIN_FOR.data(stored.id))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "This button is out of date. Send /join to start again."
    assert answer.get("show_alert") is True
    # And nobody but a moderator of Elm House can decide its requests.
    async with bot.services.db.transaction() as conn:
        unit = await units.ensure(conn, stored.id, UnitAddress.parse("1-101"), bot.clock.now())
        request = await residents.request(conn, community_id=stored.id,
                                          user_id=outsider.id, unit_id=unit.id,
                                          relation=Relation.TENANT, area_claimed=None,
                                          now=bot.clock.now())
    mark = api.mark()
    await tg.press(outsider, reply, resident_buttons.DECIDE.data(request.id, "ok"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == ("Sorry, only the group's moderators can do that. "
                                  "Nothing was changed.")
    async with bot.services.db.transaction() as conn:
        assert (await residents.get(conn, request.id)).status is ResidentStatus.PENDING


async def test_cancel_and_a_restart_in_the_middle(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)  # noted before they write in private
    mark = api.mark()
    await tg.say(ann, ann, "/join")
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(ann, ann, "2-301")
    ask_relation = await api.wait_for("sendMessage", after=mark)
    async def saved():
        async with bot.services.db.transaction() as conn:
            return await flow_state.conversation_state(conn, "join", (ann.id, ann.id)) == 2

    await eventually(saved)
    await bot.restart()
    mark = api.mark()
    await tg.press(ann, ask_relation, resident_buttons.RELATION.data("family"))
    done = await api.wait_for("editMessageText", after=mark)
    assert "went to the moderators" in done.text and "family member of 2-301" in done.text
    mark = api.mark()
    await tg.say(ann, ann, "/join")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    mark = api.mark()
    await tg.say(ann, ann, "/cancel")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert reply.text == "Stopped asking to join the roster (/join). Nothing from it was sent."


async def test_with_no_reachable_moderator_the_group_is_asked_without_details(bot, api, tg,
                                                                              clock):
    """Nobody who moderates has a private chat with the bot: the group is asked to have one
    start it, with nothing about the request, and not in its quiet hours."""
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai: quiet
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)  # noted before they write in private
    mark = api.mark()
    await tg.say(ann, ann, "/join")
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(ann, ann, "2-301")
    ask_relation = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(ann, ask_relation, resident_buttons.RELATION.data("tenant"))
    done = await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == ann.id)
    assert "went to the moderators" in done.text
    await bot.settled()
    assert api.sent(chat_id=group.id, after=mark) == []  # the night is quiet
    clock.set(datetime(2026, 11, 23, 23, 31, tzinfo=UTC))  # 07:31: the quiet hours are over
    await bot.tick()
    notice = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "2-301" not in notice.text and "Ann" not in notice.text
    assert "/residents" in notice.text


async def test_requests_go_to_a_linked_moderators_chat(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    await _moderator_ready(api, tg, owner)
    mods = tg.group("Elm House committee")
    tg.set_status(mods, owner, "creator")
    mark = api.mark()
    await tg.add_bot(mods, owner)
    await api.wait_for("sendMessage", after=mark)

    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark)
    assert "管理员群（接收入住申请）：未关联" in panel.text
    mark = api.mark()
    await tg.press(owner, panel, SETTING.data(stored.id, "mc", "link"))
    alert = await api.wait_for("answerCallbackQuery", after=mark)
    assert alert.get("show_alert") is True
    code = alert.get("text").rsplit(" ", 1)[-1]
    assert code.startswith(f"{stored.id}-")

    # A wrong code, or a resident with the right one, changes nothing.
    eve = tg.person("Eve", language_code="en")
    await introduce(bot, tg, group, eve)  # noted before they write in private
    for who, text in ((owner, f"/settings link {stored.id}-aaaaaaaa"),
                      (eve, f"/settings link {code}")):
        mark = api.mark()
        await tg.say(mods, who, text)
        reply = await api.wait_for("sendMessage", after=mark)
        assert "已关联" not in reply.text
    mark = api.mark()
    await tg.say(mods, owner, f"/settings link {code}")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "本群今后接收 Elm House 的入住申请。"
    assert (await audit_log(bot, stored.id))[0].action == "moderators_chat.link"
    # The code is spent.
    mark = api.mark()
    await tg.say(mods, owner, f"/settings link {code}")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("这个关联码无效")

    ann = tg.person("Ann", language_code="en")
    before_join = api.mark()
    _, request = await _join(bot, api, tg, group, stored, ann, unit="2-301",
                             relation="tenant")
    assert request.chat_id == mods.id
    assert request.text.startswith("入住登记申请：Elm House")
    assert api.sent(chat_id=owner.id, after=before_join) == []  # nothing in private
    mark = api.mark()
    await tg.press(owner, request, request.buttons[0]["callback_data"])
    closed = await api.wait_for("editMessageText", after=mark)
    assert closed.chat_id == mods.id and closed.text.endswith("✅ 已由 Owner 通过")


async def test_a_moderators_chat_that_refuses_the_bot_has_the_request_go_in_private(
        bot, api, tg, clock):
    """The linked moderators' chat no longer takes the bot's messages (it was removed while
    the bot was down): the request reaches each moderator in private instead, and that
    copy is the one noted, so the decision closes it."""
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    await _moderator_ready(api, tg, owner)
    mods = tg.group("Elm House committee")
    async with bot.services.db.transaction() as conn:
        await communities.link_moderators_chat(conn, stored.id, mods.id, clock.now())
    api.faults.append(Fault("sendMessage", "403", times=1000,
                            where=lambda params: str(params.get("chat_id")) == str(mods.id)))
    ann = tg.person("Ann", language_code="en")
    _, request = await _join(bot, api, tg, group, stored, ann, unit="2-301", relation="tenant")
    assert request.chat_id == owner.id
    assert request.text.startswith("Join request for Elm House")
    await bot.settled()
    async with bot.services.db.transaction() as conn:
        [pending] = await residents.pending(conn, stored.id)
    assert pending.notices == [[owner.id, request.result["message_id"]]]
    mark = api.mark()
    await tg.press(owner, request, request.buttons[-1]["callback_data"])  # Reject
    closed = await api.wait_for("editMessageText", after=mark)
    assert closed.chat_id == owner.id and closed.text.endswith("❌ Rejected by Owner")
