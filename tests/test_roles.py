"""/role: moderators hand out roles; every grant is audited; others are refused."""

from tests.helpers import audit_log, community, group_with_bot, role


async def _group(api, tg, bot):
    return await group_with_bot(bot, api, tg, "Pine Court")


async def test_a_moderator_grants_a_role_by_username_and_it_is_audited(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    fixer = tg.person("Fixer", username="fixer_li", language_code="en")
    mark = api.mark()
    await tg.say(group, fixer, "/help")  # the bot meets Fixer in the group
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(group, owner, "/role @Fixer_Li handler")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "Fixer 现在是本群的处理人。"
    assert await role(bot, stored.id, fixer.id) == "handler"
    grant = (await audit_log(bot, stored.id))[0]
    assert grant.action == "role.grant" and grant.actor_id == owner.id
    assert grant.details == {"target": fixer.id, "role": "handler", "previous": "resident"}


async def test_a_granted_moderator_can_use_moderator_commands(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    lead = tg.person("Lead")
    original = await tg.say(group, lead, "I can help with building 2")
    mark = api.mark()
    await tg.say(group, owner, "/role moderator", reply_to=original)
    await api.wait_for("sendMessage", after=mark)
    assert await role(bot, stored.id, lead.id) == "moderator"
    mark = api.mark()
    await tg.say(group, lead, "/settings quiet off")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "免打扰时段：关闭" in reply.text
    assert not (await community(bot, group.id)).quiet_hours.enabled


async def test_a_resident_cannot_grant_roles(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    eve = tg.person("Eve", username="eve")
    await tg.say(group, eve, "hello")
    mark = api.mark()
    await tg.say(group, eve, "/role @eve moderator")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"
    assert await role(bot, stored.id, eve.id) == "resident"
    assert [e.action for e in await audit_log(bot, stored.id)] == ["community.added"]


async def test_unknown_people_and_bad_usage_get_clear_answers(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    mark = api.mark()
    await tg.say(group, owner, "/role @nobody handler")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "我还不认识这个人" in reply.text
    mark = api.mark()
    await tg.say(group, owner, "/role @nobody king")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("用法：/role")


async def test_an_anonymous_admin_grants_a_role(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    helper = tg.person("Helper", username="helper")
    await tg.say(group, helper, "hi all")
    mark = api.mark()
    await tg.say_as_group(group, "/role @helper building_lead")
    await api.wait_for("sendMessage", after=mark)
    assert await role(bot, stored.id, helper.id) == "building_lead"
    grant = (await audit_log(bot, stored.id))[0]
    # Nobody's identity is recorded for an anonymous admin: Telegram does not reveal it.
    assert grant.actor_id is None and grant.details["anonymous_admin"] is True


async def test_admin_status_is_cached_briefly_then_asked_again(bot, api, tg, clock):
    from datetime import timedelta

    group, owner, stored = await _group(api, tg, bot)
    first = api.mark()
    for _ in range(2):
        mark = api.mark()
        await tg.say(group, owner, "/help")
        await api.wait_for("sendMessage", after=mark)
    asked = len(api.sent("getChatMember", after=first))
    tg.set_status(group, owner, "member")  # demoted in Telegram
    clock.advance(timedelta(minutes=6))
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    reply = await api.wait_for("sendMessage", after=mark)
    assert asked == 1
    assert reply.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"
