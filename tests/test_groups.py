"""The bot joining, leaving and following a group through a supergroup migration."""

from tests.helpers import audit_log, community, eventually


async def test_added_to_a_group_creates_the_community_and_greets_in_its_language(bot, api, tg):
    owner = tg.person("Wang", username="wang")
    group = tg.group("阳光花园3号楼")
    mark = api.mark()
    await tg.add_bot(group, owner)
    greeting = await api.wait_for("sendMessage", after=mark)
    assert greeting.chat_id == group.id
    assert "大家好" in greeting.text and "/settings" in greeting.text
    [button] = greeting.buttons
    stored = await community(bot, group.id)
    assert stored is not None and stored.active and stored.language == "zh"
    assert stored.title == "阳光花园3号楼" and stored.timezone == "Asia/Shanghai"
    assert button["url"] == f"https://t.me/yishi_bot?start=group_{stored.id}"
    [entry] = await audit_log(bot, stored.id)
    assert entry.action == "community.added" and entry.details["by"] == owner.id


async def test_removed_marks_inactive_and_readding_keeps_everything(bot, api, tg):
    owner = tg.person("Li")
    group = tg.group("Building 5")
    mark = api.mark()
    await tg.add_bot(group, owner)
    await api.wait_for("sendMessage", after=mark)
    created = await community(bot, group.id)
    await tg.remove_bot(group, owner)

    async def inactive():
        found = await community(bot, group.id)
        return found if not found.active else None

    removed = await eventually(inactive)
    assert removed.id == created.id and not removed.active
    mark = api.mark()
    await tg.add_bot(group, owner, as_admin=True)
    await api.wait_for("sendMessage", after=mark)
    back = await community(bot, group.id)
    assert back.id == created.id and back.active
    actions = [e.action for e in await audit_log(bot, created.id)]
    assert actions == ["community.added", "community.removed", "community.added"]


async def test_supergroup_migration_moves_the_community_with_nothing_lost(bot, api, tg):
    owner = tg.person("Zhao")
    group = tg.group("Old basic group", kind="group")
    mark = api.mark()
    await tg.add_bot(group, owner)
    await api.wait_for("sendMessage", after=mark)
    before = await community(bot, group.id)
    bot.app.chat_data[group.id]["draft"] = "kept"
    new = await tg.migrate(group, owner)
    mark = api.mark()
    # Once moved, the group answers under its new id.
    await tg.say(new, owner, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.chat_id == new.id
    after = await community(bot, new.id)
    assert after is not None and after.id == before.id and after.active
    assert await community(bot, group.id) is None
    assert bot.app.chat_data[new.id]["draft"] == "kept"
    assert "community.migrated" in [e.action for e in await audit_log(bot, before.id)]
