"""/settings: moderators change the group's language, time zone and quiet hours."""

from handlers.settings import SETTING
from tests.helpers import audit_log, community, group_with_bot


async def _group(api, tg, bot):
    return await group_with_bot(bot, api, tg, "Elm House")


async def test_a_moderator_changes_the_language_with_a_button(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark)
    assert "Elm House 的设置" in panel.text and "免打扰时段：22:00-07:30" in panel.text
    assert "当地现在 10:00" in panel.text
    mark = api.mark()
    await tg.press(owner, panel, SETTING.data(stored.id, "lang", "en"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "Saved."
    edited = await api.wait_for("editMessageText", after=mark)
    assert "Settings for Elm House" in edited.text and "Language: English" in edited.text
    assert (await community(bot, group.id)).language == "en"
    change = (await audit_log(bot, stored.id))[0]
    assert change.action == "settings.change" and change.actor_id == owner.id
    assert change.details == {"field": "lang", "old": "zh", "new": "en"}

    # Pressing the current value changes nothing and edits nothing.
    mark = api.mark()
    await tg.press(owner, panel, SETTING.data(stored.id, "lang", "en"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "That is already the setting."
    assert api.sent("editMessageText", after=mark) == []


async def test_quiet_hours_and_time_zone_by_button_and_typed(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(owner, panel, SETTING.data(stored.id, "qh", "0"))
    await api.wait_for("editMessageText", after=mark)
    assert not (await community(bot, group.id)).quiet_hours.enabled
    mark = api.mark()
    await tg.say(group, owner, "/settings timezone Europe/Berlin")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "Europe/Berlin" in reply.text and "当地现在 03:00" in reply.text
    mark = api.mark()
    await tg.say(group, owner, "/settings quiet 23:00-06:30")
    await api.wait_for("sendMessage", after=mark)
    changed = await community(bot, group.id)
    assert changed.timezone == "Europe/Berlin" and str(changed.quiet_hours) == "23:00-06:30"


async def test_bad_values_are_refused_and_change_nothing(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    for command, expected in [("/settings timezone Mars/Base", "我不认识这个时区"),
                              ("/settings quiet late", "免打扰时段的格式"),
                              ("/settings colour red", "用法")]:
        mark = api.mark()
        await tg.say(group, owner, command)
        reply = await api.wait_for("sendMessage", after=mark)
        assert expected in reply.text
    assert await community(bot, group.id) == stored
    assert [e.action for e in await audit_log(bot, stored.id)] == ["community.added"]


async def test_a_resident_is_refused_politely(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    neighbour = tg.person("Neighbour", language_code="en")
    mark = api.mark()
    await tg.say(group, neighbour, "/settings language en")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "抱歉，只有本群管理员可以这样做。没有任何改动。"
    # A resident pressing the moderator's panel gets an alert in their own language.
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.press(neighbour, panel, SETTING.data(stored.id, "lang", "en"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == ("Sorry, only the group's moderators can do that. "
                                  "Nothing was changed.")
    assert answer.get("show_alert") is True
    assert (await community(bot, group.id)).language == "zh"


async def test_forged_and_stale_buttons_change_nothing(bot, api, tg):
    group, owner, stored = await _group(api, tg, bot)
    mark = api.mark()
    await tg.say(group, owner, "/settings")
    panel = await api.wait_for("sendMessage", after=mark)
    for data in [f"set:{stored.id + 1}:lang:en", f"set:{stored.id}:tz:99",
                 f"set:{stored.id}:lang:xx", "set:garbage", f"set:{stored.id}:qh:-1"]:
        mark = api.mark()
        await tg.press(owner, panel, data)
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert answer.get("text") == "这个按钮已经过期了。", data
    assert await community(bot, group.id) == stored


async def test_settings_in_private_points_to_the_group(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/settings")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "This works in the building's group chat."
