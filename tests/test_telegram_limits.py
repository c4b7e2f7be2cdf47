"""Messages Telegram would refuse are never sent: long texts are split (or, in an edit,
shortened); a flow whose state is gone and a file that is not a register get a clear
answer instead of an error. The fake Bot API refuses what Telegram refuses, and the
bot fixture fails a test on any refused call."""

from handlers.reports import callbacks as report_buttons
from tests.helpers import group_with_bot, introduce


async def test_a_long_text_is_sent_in_parts_and_an_edit_is_shortened(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg)
    lines = [f"{n:03d} · " + "某某小区 3 栋 2 单元的住户反映问题。" * 4 for n in range(120)]
    text = "\n".join(lines)
    assert len(text) > 2 * 4096
    mark = api.mark()
    last = await bot.app.bot.send_message(group.id, text)
    sent = api.sent(chat_id=group.id, after=mark)
    assert len(sent) == 3 and all(len(c.params["text"]) <= 4096 for c in sent)
    assert "\n".join(c.params["text"] for c in sent) == text  # nothing lost, split at lines
    assert last.message_id == sent[-1].result["message_id"]
    mark = api.mark()
    await bot.app.bot.edit_message_text(text, chat_id=group.id, message_id=last.message_id)
    edited = await api.wait_for("editMessageText", after=mark)
    assert len(edited.params["text"]) <= 4096 and edited.params["text"].endswith("\n…")


async def test_a_report_whose_draft_is_gone_says_so(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, owner_language="en")
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)
    mark = api.mark()
    await tg.say(ann, ann, f"/start report_{stored.id}")
    kinds = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    mark = api.mark()
    await tg.press(ann, kinds, report_buttons.CATEGORY.data("lift"))
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == ann.id)
    bot.app.user_data[ann.id].clear()  # the draft is lost while the flow goes on
    mark = api.mark()
    await tg.send_photo(ann, ann)
    answer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert answer.text == ("I lost the report you were writing, sorry. Nothing was filed. "
                           "Send /report to start again.")
    mark = api.mark()
    await tg.say(ann, ann, f"/start report_{stored.id}")  # and a new one starts cleanly
    kinds = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert kinds.buttons


async def test_a_file_that_is_not_a_register_gets_an_answer(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)
    for name, content, expected in (
            ("roster.csv", b"", "That file is empty: send the register with a row per "
                                "unit."),
            ("roster.csv", b"\x00\x01\x02\xff\xfe binary", "I could not read that file. Send "
             "the register as a CSV file or an Excel workbook (.xlsx)."),
            ("roster.xlsx", b"PK\x03\x04 not really a workbook", "I could not read that file. "
             "Send the register as a CSV file or an Excel workbook (.xlsx).")):
        mark = api.mark()
        await tg.send_document(owner, owner, name, content)
        answer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                    owner.id)
        assert answer.text == expected, name


async def test_a_sticker_mid_flow_is_answered_and_a_blank_description_refused(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, owner_language="en")
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)
    to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
    mark = api.mark()
    await tg.say(ann, ann, f"/start report_{stored.id}")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.send_sticker(ann, ann)  # where a button is wanted
    answer = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert answer.text == ("I cannot use that at this step. Please answer my last question "
                           "(with text or a button), or send /cancel to stop /report.")
    mark = api.mark()
    await tg.press(ann, kinds, report_buttons.CATEGORY.data("lift"))  # still at that step
    # The question is above the answer to the sticker: the next step comes below it.
    step = await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, step, report_buttons.PHOTOS_DONE.data())
    await api.wait_for("editMessageText", after=mark, where=to_ann)
    for blank in ("\u2800", " \u200b ", "\u3164"):
        mark = api.mark()
        await tg.say(ann, ann, blank)
        answer = await api.wait_for("sendMessage", after=mark, where=to_ann)
        assert answer.text == ("That message shows nothing. What is wrong? A sentence or two, "
                               "or a voice message.")
    mark = api.mark()
    await tg.say(ann, ann, "The lift door sticks.")
    where = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert where.text.startswith("Where is it?")
