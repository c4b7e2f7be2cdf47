"""/lang: a person picks the language the bot speaks with them."""

from handlers.lang import LANGUAGE
from storage import people


async def _language(bot, user_id):
    async with bot.services.db.transaction() as conn:
        person = await people.get(conn, user_id)
    return person.language if person else None


async def test_lang_with_an_argument_switches_at_once(bot, api, tg):
    mei = tg.person("Mei", language_code="zh-hans")
    mark = api.mark()
    await tg.say(mei, mei, "/lang en")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("I will speak English with you from now on.")
    assert await _language(bot, mei.id) == "en"
    mark = api.mark()
    await tg.say(mei, mei, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("Commands in our private chat:")


async def test_lang_buttons_and_a_forged_button(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/lang")
    panel = await api.wait_for("sendMessage", after=mark)
    assert [b["callback_data"] for b in panel.buttons] == ["lang:zh", "lang:en"]
    mark = api.mark()
    await tg.press(tom, panel, LANGUAGE.data("zh"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "从现在起我会用中文和你交流。"
    edited = await api.wait_for("editMessageText", after=mark)
    assert edited.text == "从现在起我会用中文和你交流。"
    assert await _language(bot, tom.id) == "zh"

    mark = api.mark()
    await tg.press(tom, panel, "lang:fr")  # forged: no such language
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "这个按钮已经过期了。" and answer.get("show_alert") is True
    assert await _language(bot, tom.id) == "zh"


async def test_unknown_language_offers_the_choice(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/lang klingon")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "I speak 中文 (zh) and English (en)." in reply.text and len(reply.buttons) == 2
    assert await _language(bot, tom.id) is None
