"""/start with and without a deep link, /help per role and place, and unknown input."""

from storage import memberships, people
from tests.helpers import community, group_with_bot


async def _group_with_bot(bot, api, tg, title="Building 1"):
    group, owner, _ = await group_with_bot(bot, api, tg, title)
    return group, owner


async def test_start_registers_the_person_and_answers_in_their_language(bot, api, tg):
    mei = tg.person("梅", language_code="zh-hans")
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(mei, mei, "/start")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == mei.id)
    assert reply.text.startswith("你好，梅！")
    mark = api.mark()
    await tg.say(tom, tom, "/start")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("Hello, Tom!")
    async with bot.services.db.transaction() as conn:
        stored = await people.get(conn, tom.id)
    assert stored.started and stored.name == "Tom"


async def test_start_with_a_group_link_connects_the_person(bot, api, tg):
    group, _ = await _group_with_bot(bot, api, tg, "Maple Court")
    stored = await community(bot, group.id)
    ann = tg.person("Ann", language_code="en")
    mark = api.mark()
    await tg.say(ann, ann, f"/start group_{stored.id}")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "You are connected with Maple Court" in reply.text
    async with bot.services.db.transaction() as conn:
        assert await memberships.get(conn, stored.id, ann.id) is not None


async def test_start_with_a_bad_or_stale_link_is_polite(bot, api, tg):
    ann = tg.person("Ann", language_code="en")
    for payload in ["group_999999", "nonsense", "report_1; drop table"]:
        mark = api.mark()
        await tg.say(ann, ann, f"/start {payload}")
        reply = await api.wait_for("sendMessage", after=mark)
        assert "That link is not valid any more" in reply.text


async def test_help_in_a_group_depends_on_the_role(bot, api, tg):
    group, owner = await _group_with_bot(bot, api, tg)
    resident = tg.person("Resident")
    mark = api.mark()
    await tg.say(group, resident, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "/help" in reply.text and "/settings" not in reply.text
    assert reply.get("reply_parameters") is not None  # a reply to the person who asked

    mark = api.mark()
    await tg.say(group, owner, "/help")  # the group's creator is an admin
    reply = await api.wait_for("sendMessage", after=mark)
    assert "/settings" in reply.text and "/role" in reply.text and "管理员" in reply.text


async def test_an_anonymous_admin_is_a_moderator(bot, api, tg):
    group, _ = await _group_with_bot(bot, api, tg)
    mark = api.mark()
    await tg.say_as_group(group, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "/settings" in reply.text
    # No getChatMember was needed: posting as the group is something only admins can do.
    assert not api.sent("getChatMember", after=mark)


async def test_help_in_private_and_unknown_input(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "/lang" in reply.text and "/settings" not in reply.text
    mark = api.mark()
    await tg.say(tom, tom, "/frobnicate")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "I do not know that command" in reply.text
    mark = api.mark()
    await tg.say(tom, tom, "hello?")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "commands and buttons" in reply.text
    mark = api.mark()
    await tg.say(tom, tom, "/cancel")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "nothing to cancel" in reply.text


async def test_commands_are_published_per_language_and_scope(bot, api):
    scopes = {"all_private_chats", "all_group_chats", "all_chat_administrators"}
    for scope in scopes:
        for language in ("", "zh", "en"):
            assert (scope, language) in api.commands, (scope, language)
    admin_zh = {c["command"]: c["description"] for c in
                api.commands[("all_chat_administrators", "zh")]}
    group_en = {c["command"] for c in api.commands[("all_group_chats", "en")]}
    assert admin_zh["settings"] == "群设置：语言、时区、免打扰时段"
    assert "settings" not in group_en and "help" in group_en


async def test_private_commands_in_the_group_and_unknown_ones_addressed_to_the_bot(bot, api,
                                                                                     tg):
    from tests.helpers import group_with_bot, introduce

    group, owner, stored = await group_with_bot(bot, api, tg)
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)
    for command in ("/me", "/mydata", "/reports"):
        mark = api.mark()
        await tg.say(group, ann, command)
        reply = await api.wait_for("sendMessage", after=mark,
                                   where=lambda c: c.chat_id == group.id)
        assert reply.text == f"{command} 我只在私聊中回复，只有你自己能看到。"
        assert reply.buttons[0]["url"].endswith(f"start=group_{stored.id}")
    mark = api.mark()
    await tg.say(group, ann, "/foo@yishi_bot")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert reply.text == "我不认识这个命令。发送 /help 看看我能做什么。"
    mark = api.mark()
    await tg.say(group, ann, "/foo")  # perhaps another bot's: not answered
    await tg.say(group, ann, "/decision D-9")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert reply.text == "找不到 D-9。/decisions 列出所有决定。"
