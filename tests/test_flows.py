"""Durable conversations: a small two-step flow survives a restart and times out politely.

The flow here exists only in the tests; feature flows (joining, reports, polls) are built
with the same ``bot.flows.flow`` helper.
"""

from datetime import timedelta

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from handlers.flows import flow
from storage import due_work, flow_state
from tests.helpers import eventually

ASK_UNIT, ASK_NOTE = range(2)


async def _begin(update: Update, context) -> int:
    await update.effective_message.reply_text("Which unit?")
    return ASK_UNIT


async def _unit(update: Update, context) -> int:
    context.user_data["unit"] = update.effective_message.text
    await update.effective_message.reply_text("Any note?")
    return ASK_NOTE


async def _note(update: Update, context) -> int:
    unit = context.user_data.pop("unit")
    await update.effective_message.reply_text(f"Saved: {unit} / {update.effective_message.text}")
    return ConversationHandler.END


def add_questionnaire(app) -> None:
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(flow(
        app, name="questionnaire", command="questionnaire", doing="filling in a questionnaire",
        entry_points=[CommandHandler("questionnaire", _begin, filters=filters.ChatType.PRIVATE)],
        states={ASK_UNIT: [MessageHandler(text, _unit)],
                ASK_NOTE: [MessageHandler(text, _note)]},
    ))


async def _state(bot, user):
    async with bot.services.db.transaction() as conn:
        return await flow_state.conversation_state(conn, "questionnaire", (user.id, user.id))


async def _state_is(bot, user, expected):
    return await _state(bot, user) == expected


async def test_a_flow_continues_after_a_restart(bot, api, tg):
    await bot.restart(add_questionnaire)
    ann = tg.person("Ann", language_code="en")
    mark = api.mark()
    await tg.say(ann, ann, "/questionnaire")
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(ann, ann, "3-2-501")
    await api.wait_for("sendMessage", after=mark)
    # Written through as soon as the update is handled, not on the persistence interval:
    # a killed process would lose nothing either.
    assert await eventually(lambda: _state(bot, ann)) == ASK_NOTE
    await bot.restart(add_questionnaire)
    mark = api.mark()
    await tg.say(ann, ann, "the lift squeaks")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == "Saved: 3-2-501 / the lift squeaks"
    assert await eventually(lambda: _state_is(bot, ann, None))


async def test_cancel_ends_a_flow(bot, api, tg):
    await bot.restart(add_questionnaire)
    mei = tg.person("Mei", language_code="en")
    mark = api.mark()
    await tg.say(mei, mei, "/questionnaire")
    await api.wait_for("sendMessage", after=mark)
    mark = api.mark()
    await tg.say(mei, mei, "/cancel")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text == ("Stopped filling in a questionnaire (/questionnaire). Nothing from "
                          "it was sent.")
    assert await eventually(lambda: _state_is(bot, mei, None))
    async with bot.services.db.transaction() as conn:
        assert await due_work.pending(conn, kind="flow_idle",
                                      key=f"{mei.id}:{mei.id}:questionnaire") is None


async def test_an_idle_flow_is_closed_with_a_friendly_message_even_across_a_restart(
        bot, api, tg, clock):
    await bot.restart(add_questionnaire)
    ann = tg.person("Ann", language_code="en")
    mark = api.mark()
    await tg.say(ann, ann, "/questionnaire")
    await api.wait_for("sendMessage", after=mark)

    clock.advance(timedelta(minutes=20))
    mark = api.mark()
    await tg.say(ann, ann, "3-2-501")  # activity pushes the timeout back
    await api.wait_for("sendMessage", after=mark)
    await eventually(lambda: _state_is(bot, ann, ASK_NOTE))
    clock.advance(timedelta(minutes=20))
    assert await bot.tick() == 0
    assert await _state(bot, ann) == ASK_NOTE

    await bot.restart(add_questionnaire)
    clock.advance(timedelta(minutes=11))
    mark = api.mark()
    assert await bot.tick() == 1
    notice = await api.wait_for("sendMessage", after=mark)
    assert notice.chat_id == ann.id
    assert notice.text == ("You left /questionnaire unfinished for 30 minutes, so I set it aside. "
                           "Send /questionnaire to start again whenever you like.")
    assert await _state(bot, ann) is None
    assert await bot.tick() == 0  # done once, never again

    # The flow is really over: text now gets the ordinary answer, not the next step.
    mark = api.mark()
    await tg.say(ann, ann, "a late note")
    reply = await api.wait_for("sendMessage", after=mark)
    assert "commands and buttons" in reply.text


async def test_updates_that_touch_no_data_write_none(bot, api, tg):
    from tests.helpers import group_with_bot

    group, owner, _ = await group_with_bot(bot, api, tg)
    for _ in range(3):
        mark = api.mark()
        await tg.say(group, owner, "/help")
        await api.wait_for("sendMessage", after=mark)
    async with bot.services.db.transaction() as conn:
        assert await flow_state.all_user_data(conn) == {}
        assert await flow_state.all_chat_data(conn) == {}
