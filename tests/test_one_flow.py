"""One flow at a time per person: starting another asks whether to leave the first (the
question and the held start survive a restart); /cancel names what it stopped; a finished
flow's buttons are taken away; a step answered on an older message lands at the bottom."""

from bot.domain.topics import TopicStatus
from handlers.flows import SWITCH
from handlers.reports import callbacks as report_buttons
from storage import flow_state, topics
from storage import reports as store
from tests.helpers import eventually, group_with_bot, introduce


async def _state(bot, name, person):
    async with bot.services.db.transaction() as conn:
        return await flow_state.conversation_state(conn, name, (person.id, person.id))


async def _resident(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House", owner_language="en")
    ann = tg.person("Ann", username="ann", language_code="en")
    await introduce(bot, tg, group, ann)
    return stored, ann


async def test_starting_a_second_flow_asks_to_leave_the_first(bot, api, tg):
    stored, ann = await _resident(bot, api, tg)
    to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
    mark = api.mark()
    await tg.say(ann, ann, "/report")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert kinds.text == "What kind of problem is it?"
    # A sticker is answered below the question, so the question is no longer the newest
    # message: pressing one of its buttons answers at the bottom and clears it.
    mark = api.mark()
    await tg.send_sticker(ann, ann)
    await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, kinds, report_buttons.CATEGORY.data("lift"))
    photos = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert photos.text.startswith("Send one or more photos of it")
    cleared = api.sent("editMessageReplyMarkup", chat_id=ann.id)
    assert [c.params["message_id"] for c in cleared] == [kinds.result["message_id"]]
    assert not api.sent("editMessageText", chat_id=ann.id)

    # Another flow: asked first, and going on keeps the report where it was.
    mark = api.mark()
    await tg.say(ann, ann, "/topic Parcel lockers are too few")
    question = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert question.text == ("You are in the middle of reporting a problem (/report). "
                             "Leave it and start /topic?")
    assert [b["text"] for b in question.buttons] == ["Leave it and start /topic",
                                                     "Go on with /report"]
    mark = api.mark()
    await tg.press(ann, question, SWITCH.data("stay"))
    stayed = await api.wait_for("editMessageText", after=mark, where=to_ann)
    assert stayed.text == ("Going on with reporting a problem: answer my last question "
                           "above, or send /cancel to stop it.")
    assert not stayed.buttons
    assert await _state(bot, "report", ann) is not None
    assert await _state(bot, "topic", ann) is None

    # Asked again; the bot restarts before the answer; leaving starts the held /topic.
    mark = api.mark()
    await tg.say(ann, ann, "/topic Parcel lockers are too few")
    question = await api.wait_for("sendMessage", after=mark, where=to_ann)
    await bot.restart()
    mark = api.mark()
    await tg.press(ann, question, SWITCH.data("leave"))
    left = await api.wait_for("editMessageText", after=mark, where=to_ann)
    assert left.text == ("Stopped reporting a problem (/report). Nothing from it was "
                         "sent.")
    topic_step = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert topic_step.text.startswith("Describe it in a few sentences")
    assert await eventually(lambda: _state(bot, "topic", ann)) is not None
    assert await _state(bot, "report", ann) is None
    # The report's last prompt lost its Done button; pressed anyway, it is out of date.
    assert await api.wait_for("editMessageReplyMarkup", after=mark,
                              where=lambda c: c.params["message_id"]
                              == photos.result["message_id"])
    mark = api.mark()
    await tg.press(ann, photos, report_buttons.PHOTOS_DONE.data())
    stale = await api.wait_for("answerCallbackQuery", after=mark)
    assert stale.params.get("text") == "This button is out of date. Send /report to start again."

    # /cancel says what it stopped, once.
    mark = api.mark()
    await tg.say(ann, ann, "/cancel")
    cancelled = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert cancelled.text == "Stopped proposing a topic (/topic). Nothing from it was sent."
    mark = api.mark()
    await tg.say(ann, ann, "/cancel")
    nothing = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert nothing.text == "There is nothing to cancel."
    async with bot.services.db.transaction() as conn:
        assert await store.by_number(conn, stored.id, 1) is None
        assert await topics.listed(conn, stored.id, list(TopicStatus)) == []


async def test_a_stale_leave_button_changes_nothing(bot, api, tg):
    stored, ann = await _resident(bot, api, tg)
    to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
    mark = api.mark()
    await tg.say(ann, ann, "/report")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, kinds, SWITCH.data("leave"))
    stale = await api.wait_for("answerCallbackQuery", after=mark)
    assert stale.params.get("text") == "This button is out of date."
    assert await _state(bot, "report", ann) is not None
