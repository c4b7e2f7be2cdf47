"""Owners' decisions a building can put before its assembly, end to end over the fake Bot
API: the register with owners who are not on Telegram and a unit without an area, the
interpretation's headcount, exact figures beside the verdict, the household and
membership rules, the not-voted list for a building lead, a notice period that opens
voting by itself across a restart, the printable result notice, secret ballots that
cannot be linked to anyone, and a vote log checked against the head posted in the group.

The clock starts on Monday 2026-11-23 10:00 in Shanghai (conftest.START); the group
speaks Chinese, the moderator and residents read English in private."""

import asyncio
import io
import json
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook
from pdfminer.high_level import extract_text

from bot.fakeapi.harness import create_poll, poll_id_of, prepare_poll
from handlers.polls import callbacks as poll_buttons
from handlers.residents import callbacks as resident_buttons
from storage import inspection
from storage import polls as store
from storage.database import VOTE_TRACES
from tests.helpers import community, introduce


async def _moderated_group(bot, api, tg):
    """A group whose owner moderates it; the bot is an administrator (it pins notices)."""
    owner = tg.person("Owner", language_code="en")
    group = tg.group("Elm House")
    mark = api.mark()
    await tg.add_bot(group, owner, as_admin=True)
    await api.wait_for("sendMessage", after=mark)
    stored = await community(bot, group.id)
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)
    return group, owner, stored


def _xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _import(api, tg, owner, filename, content):
    """The moderator sends the register; the bot's first answer."""
    mark = api.mark()
    await tg.send_document(owner, owner, filename, content)
    return (await api.wait_for("sendMessage", after=mark,
                               where=lambda c: c.chat_id == owner.id)).text


async def _preview(api, tg, owner, stored, question, settings):
    """A Yes / No / Abstain poll for three days, up to its preview (not published)."""
    return await prepare_poll(api, tg, owner, stored.id, question=question, settings=settings)


async def _vote(api, tg, who, post, option):
    mark = api.mark()
    await tg.press(who, post, poll_buttons.VOTE.data(poll_id_of(post), option))
    return (await api.wait_for("answerCallbackQuery", after=mark)).get("text")


async def _paper(api, tg, owner, controls, poll_id, unit, signer, option):
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.press(owner, controls, poll_buttons.MANAGE.data(poll_id, "proxy"))
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, unit)
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, signer)
    choices = await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, choices, poll_buttons.PROXY_OPTION.data(option))
    return (await api.wait_for("editMessageText", after=mark, where=to_owner)).text


async def _close(bot, api, clock, group, days=3):
    """The deadline passes; the result in the group (and the mark before it)."""
    clock.advance(timedelta(days=days))
    mark = api.mark()
    await bot.tick()
    return await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and "已截止" in (c.text or "")), mark


async def test_a_real_register_counts_every_unit_and_blocks_a_poll_until_areas_are_known(
        bot, api, tg, clock):
    group, owner, stored = await _moderated_group(bot, api, tg)
    ann, bob = tg.person("Ann", language_code="en"), tg.person("Bob", language_code="en")
    await introduce(bot, tg, group, ann, bob)
    # The committee's register, as an Excel workbook: an owner of two flats, a flat of two
    # co-owners not on Telegram, the developer's two unsold flats, and a flat whose area
    # nobody recorded.
    reply = await _import(api, tg, owner, "register.xlsx", _xlsx([
        ["unit", "area", "name", "user", "relation"],
        ["1-101", 100, "Ann Li", ann.id, "owner"],
        ["1-102", 120, "Ann Li", ann.id, "owner"],
        ["1-103", 90, "王芳", None, "owner"],
        ["1-103", None, "李强", None, "owner"],
        ["1-104", 80, "开发商", None, "developer"],
        ["1-105", 80, "开发商", None, "developer"],
        ["1-106", None, "赵六", None, "owner"],
        ["1-107", 110, "Bob", bob.id, "owner"],
    ]))
    assert reply == "Imported 8 rows into the roster of Elm House."

    mark = api.mark()
    await tg.say(owner, owner, "/residents")
    roster = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    lines = roster.text.splitlines()
    # Two owners on Telegram (Ann for two flats); 王芳 and 李强 one; the developer one; 赵六.
    assert "Owners counted for votes: 5 (3 on the register but not on Telegram)." in lines
    assert "• 1: 7 units, 580 m², 5 owners, 2 residents on Telegram" in lines
    assert lines[lines.index("Units without an area (a Civil Code poll cannot be "
                             "published until each has one; /residents area 3-2-501 "
                             "89.5):") + 1] == "1-106"
    assert {"1-103 王芳", "1-103 李强", "1-106 赵六"} <= set(lines)

    # A Civil Code poll cannot be published while 1-106 has no area: the preview says
    # which unit and how to fix it, and Publish changes nothing.
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    preview = await _preview(api, tg, owner, stored, "Replace the lifts?", ("rule", "rule"))
    warning = ("⚠️ This poll cannot be published while 1 units in its scope have no recorded "
               "area")
    assert warning in preview.text and "• 1-106: /residents area 1-106 …" in preview.text
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.PUBLISH.data())
    refused = await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert refused.text.startswith(warning)
    assert not [c for c in api.sent(chat_id=group.id) if "Replace the lifts?" in (c.text or "")]
    mark = api.mark()
    await tg.say(owner, owner, "/residents area 1-106 70")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, refused, poll_buttons.PUBLISH.data())
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    # The refusal kept the preview's buttons; pressed after the answer to /residents, the
    # result comes as a new message at the bottom.
    controls = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert controls.text.startswith("P-1 is posted in Elm House.")
    poll_id = poll_id_of(post)
    # The whole register is the base: 650 m² and 5 owners, whoever is on Telegram.
    assert ("参与：总面积 650 平方米中 0 平方米、5 位业主中 0 位参与表决（两者均需 2/3："
            "433.34 平方米、4 位业主）") in post.text
    assert "距法定参与还差：4 位业主和433.34 平方米。" in post.text

    # The owner of two flats votes once for both; paper ballots for the co-owned flat and
    # the developer's (one entry each counts their owner once).
    assert await _vote(api, tg, ann, post, 0) == (
        f"Recorded for P-1: Yes (for 1-101, 1-102)\nReceipt: "
        f"{(await _last_receipt(bot, poll_id))} (check it with /audit P-1 "
        f"{(await _last_receipt(bot, poll_id))})")
    assert (await _paper(api, tg, owner, controls, poll_id, "1-103", "王芳", 0)).startswith(
        "Recorded for P-1: Yes for 1-103, a paper ballot signed by 王芳")
    await _paper(api, tg, owner, controls, poll_id, "1-104", "开发商代表", 1)
    edited = await api.wait_for("editMessageText", where=lambda c: c.chat_id == group.id
                                and "1 位业主和43.34 平方米" in c.text)
    assert "参与：总面积 650 平方米中 390 平方米、5 位业主中 3 位参与表决" in edited.text
    await _vote(api, tg, bob, post, 0)
    await api.wait_for("editMessageText", where=lambda c: c.chat_id == group.id
                       and "已达法定参与：结果取决于业主如何表决。" in c.text)

    result, closed = await _close(bot, api, clock, group)
    # 420 of 500 m² and 3 of 4 owners approve: more than half of each.
    assert ("通过：参与表决的 500 平方米中 420 平方米、4 位业主中 3 位同意（需要：超过 250 平方米，"
            "且 3 位业主）；650 平方米中 500 平方米、5 位业主中 4 位参与表决。") in result.text
    # The printable result notice: PDF (Chinese text, read back) and XLSX, without names.
    pdf = await api.wait_for("sendDocument", after=closed,
                             where=lambda c: c.chat_id == group.id)
    xlsx = await api.wait_for("sendDocument", after=closed,
                              where=lambda c: c.chat_id == group.id and c is not pdf)
    name, content = api.upload(pdf)
    assert name == "P-1-notice.pdf"
    text = extract_text(io.BytesIO(content))
    for expected in ("表决结果公告：P-1", "表决事项：Replace the lifts?", "1-101", "1-103",
                     "Yes（纸质）", "No（纸质）", "650", "420"):
        assert expected in text, expected
    for name_ in ("Ann", "Bob", "王芳", "李强", "开发商代表"):
        assert name_ not in text
    name, content = api.upload(xlsx)
    assert name == "P-1-notice.xlsx"
    book = load_workbook(io.BytesIO(content))
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for c in row if c is not None]
    assert ["1-101", "100", "Yes"] == cells[cells.index("1-101"):cells.index("1-101") + 3]
    assert not any(n in c for c in cells for n in ("Ann", "Bob", "王芳", "李强"))


async def _last_receipt(bot, poll_id):
    async with bot.services.db.transaction() as conn:
        links = await store.chain(conn, poll_id)
    return links[-1].hash[:12]


async def test_figures_at_the_threshold_never_contradict_the_verdict(bot, api, tg, clock):
    group, owner, stored = await _moderated_group(bot, api, tg)
    ann, bob = tg.person("Ann", language_code="en"), tg.person("Bob", language_code="en")
    await introduce(bot, tg, group, ann, bob)
    await _import(api, tg, owner, "register.csv", (
        f"unit,area,name,user,relation\n1-101,799.99,Ann,{ann.id},owner\n"
        f"1-102,400.01,Bob,{bob.id},owner\n").encode())
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id,
                                     settings=("rule", "rule"))
    await _vote(api, tg, ann, post, 0)
    result, _mark = await _close(bot, api, clock, group)
    # 66.66% would have been shown as "66.7%", above 2/3, beside "no quorum".
    assert ("未达法定参与：1,200 平方米中 799.99 平方米参与，需要 800 平方米；2 位业主中 1 位参与，"
            "需要 2 位。") in result.text
    assert "66.7%" not in result.text and "Yes：1 票，799.99 m²（100%）" in result.text


async def test_each_household_counts_once_and_refusals_say_what_is_true(bot, api, tg):
    group, owner, stored = await _moderated_group(bot, api, tg)
    ann, amy, bob, bea = (tg.person(n, language_code="en") for n in ("Ann", "Amy", "Bob", "Bea"))
    await introduce(bot, tg, group, ann, amy, bob, bea)
    await _import(api, tg, owner, "roster.csv", "\n".join([
        f"3-1-101,{ann.id},owner,90", f"3-1-101,{amy.id},family,",
        f"3-1-102,{bob.id},owner,80", f"3-1-102,{bea.id},owner,"]).encode())
    mark = api.mark()
    await tg.say(owner, owner, f"/residents voter 3-1-102 {bob.id}")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    # Residents on the roster, each household counted once.
    post, _c, preview = await create_poll(api, tg, group, owner, stored.id,
                                          settings=("weighting",))
    assert "Counting: each household counts once" in preview.text
    assert await _vote(api, tg, ann, post, 0) == "Recorded for P-1: Yes (for 3-1-101)" + \
        (await _receipt_tail(bot, post))
    assert await _vote(api, tg, amy, post, 1) == (
        "Another member of your household already voted for 3-1-101; a household has one "
        "ballot.")
    # Nobody voted for 3-1-102 yet: Bea is told the truth (Bob votes for it), not that
    # someone else already voted.
    assert await _vote(api, tg, bea, post, 0) == (
        "Your household named another owner to vote for 3-1-102.")
    shown = await api.wait_for("editMessageText", where=lambda c: c.chat_id == group.id
                               and "参与：2 户中 1 户" in c.text)
    assert "Yes：1 票（100%）" in shown.text and "No：0 票（0%）" in shown.text


async def _receipt_tail(bot, post):
    return f"\nReceipt: {await _last_receipt(bot, poll_id_of(post))} (check it with " \
        f"/audit P-1 {await _last_receipt(bot, poll_id_of(post))})"


async def test_anyone_in_the_group_means_someone_in_it_now(bot, api, tg):
    group, owner, stored = await _moderated_group(bot, api, tg)
    stays, goes = tg.person("Stays", language_code="en"), tg.person("Goes", language_code="en")
    quiet = tg.person("Quiet", language_code="en")
    await introduce(bot, tg, group, stays, goes, quiet)
    # Who votes: residents on the roster → one per household → owners → anyone in the group.
    post, _c, preview = await create_poll(api, tg, group, owner, stored.id,
                                          settings=("audience",) * 3)
    assert "Who votes: anyone in the group" in preview.text
    assert (await _vote(api, tg, goes, post, 0)).startswith("Recorded for P-1: Yes")
    await tg.leave(group, goes)
    await bot.settled()
    assert await _vote(api, tg, goes, post, 1) == "Only members of this group can vote."
    # Left without the bot being told (Telegram does not always say): Telegram is asked.
    tg.set_status(group, quiet, "left")
    assert await _vote(api, tg, quiet, post, 0) == "Only members of this group can vote."
    assert (await _vote(api, tg, stays, post, 1)).startswith("Recorded for P-1: No")


async def test_a_building_lead_gets_the_doors_to_knock_on(bot, api, tg):
    group, owner, stored = await _moderated_group(bot, api, tg)
    lead, ann, cal = (tg.person(n, language_code="en") for n in ("Lead", "Ann", "Cal"))
    await introduce(bot, tg, group, lead, ann, cal)
    await _import(api, tg, owner, "register.csv", "\n".join([
        "unit,area,name,user,relation",
        f"1-101,90,Lead,{lead.id},owner", f"1-102,80,Ann,{ann.id},owner",
        "1-103,70,孙丽,,owner", f"2-101,60,Cal,{cal.id},owner"]).encode())
    mark = api.mark()
    await tg.say(group, owner, f"/role {lead.id} building_lead")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    for person in (lead, cal):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id, settings=("rule", "rule"))
    await _vote(api, tg, ann, post, 0)
    mark = api.mark()
    await tg.say(group, lead, "/notvoted P-1")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == lead.id)
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert told.text == "名单已私聊发给你。"
    assert listing.text.splitlines() == [
        "P-1: households that have not voted (2)",
        "1-101 · 90 m² · Lead", "1-103 · 70 m² · 孙丽 · not on Telegram: a paper ballot"]
    mark = api.mark()
    await tg.say(group, cal, "/notvoted P-1")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert refused.text == "只有管理员和楼栋长可以查看哪些住户尚未投票。"
    # The reminder names what is still missing for the quorum.


async def _question_answered(api, tg, group, owner, ann, payload):
    """Ann asks about the announced poll through the notice's link; a moderator answers;
    the group sees both without her name, and she is told."""
    from handlers import questions

    to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
    mark = api.mark()
    await tg.say(ann, ann, f"/start {payload}")
    asked = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert asked.text.startswith("What is your question about P-1 “Use the fund to fix the "
                                 "roof?”?")
    mark = api.mark()
    await tg.say(ann, ann, "Why not the cheapest quote?")
    sent = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert sent.text.startswith("Sent to the committee.")
    to_owner = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                  owner.id)
    assert to_owner.text == ("A question about P-1 “Use the fund to fix the roof?” in Elm "
                             "House: Why not the cheapest quote?")
    answer = to_owner.buttons[0]["callback_data"]
    mark = api.mark()
    await tg.press(ann, to_owner, answer)  # not a moderator
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == "This button is out of date."
    mark = api.mark()
    await tg.press(owner, to_owner, answer)
    await api.wait_for(("sendMessage", "editMessageText"), after=mark,
                       where=lambda c: c.chat_id == owner.id)
    mark = api.mark()
    await tg.say(owner, owner, "It leaves out the gutters; the second one includes them.")
    posted = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert posted.text.splitlines() == [
        "关于 P-1 的提问“Use the fund to fix the roof?”",
        "❓ 问：Why not the cheapest quote?",
        "💬 业委会答：It leaves out the gutters; the second one includes them."]
    assert "Ann" not in posted.text
    told = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert told.text == ("Your question about P-1 was answered in Elm House: It leaves out "
                         "the gutters; the second one includes them.")
    mark = api.mark()
    await tg.press(owner, to_owner, answer)
    again = await api.wait_for("answerCallbackQuery", after=mark)
    assert again.get("text") == "This question was answered before."
    mark = api.mark()
    await tg.say(owner, owner, "/answer")
    waiting = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                 owner.id)
    assert waiting.text == "No questions are waiting for an answer."
    assert questions.ANSWER.parse(answer) is not None


async def test_a_notice_period_opens_voting_by_itself_across_a_restart(bot, api, tg, clock):
    group, owner, stored = await _moderated_group(bot, api, tg)
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)
    await _import(api, tg, owner, "register.csv",
                  f"unit,area,name,user,relation\n1-101,90,Ann,{ann.id},owner\n".encode())
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    preview = await _preview(api, tg, owner, stored, "Use the fund to fix the roof?",
                             ("rule", "rule", "notice"))
    assert "Notice: announced now, 15 days before voting (公示)" in preview.text
    assert "Voting opens 2026-12-08 10:00 and closes 2026-12-11 10:00" in preview.text
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.SETTING.data("material"))
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "Three quotes: 118,000 / 126,500 / 131,000 yuan.")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert "Background: text" in preview.text
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.PUBLISH.data())
    notice = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert notice.text.startswith("<b>公示 · P-1</b>：Use the fund to fix the roof?") or \
        notice.text.startswith("公示 · P-1：Use the fund to fix the roof?")
    assert ("投票时间：2026-12-08 10:00 开始，2026-12-11 10:00 截止（Asia/Shanghai）。"
            in notice.text)
    assert "Three quotes: 118,000 / 126,500 / 131,000 yuan." in notice.text
    # Nothing to vote with yet; a link to ask a question in private.
    assert [b["text"] for b in notice.buttons] == ["提问"]
    link = notice.buttons[0]["url"]
    assert link.startswith(f"https://t.me/{bot.services.bot_username}?start=question_")
    pinned = await api.wait_for("pinChatMessage", after=mark)
    assert pinned.params["message_id"] == notice.result["message_id"]
    await _question_answered(api, tg, group, owner, ann, link.split("=", 1)[1])
    mark = api.mark()
    await tg.say(group, ann, "/polls")
    listing = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert "公示中：2026-12-08 10:00 开始投票" in listing.text

    await bot.restart()
    clock.advance(timedelta(days=14))
    mark = api.mark()
    await bot.tick()
    reminder = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert reminder.text == ("提醒：P-1“Use the fund to fix the roof?”将于 2026-12-08 10:00 "
                             "开始投票。公示已置顶。")
    await bot.restart()
    clock.advance(timedelta(days=1))
    mark = api.mark()
    await bot.tick()
    opened = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert opened.text == "公示期已满，P-1 现在开始投票。"
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and bool(c.buttons))
    assert "投票截止：2026-12-11 10:00（Asia/Shanghai）。" in post.text
    assert (await _vote(api, tg, ann, post, 0)).startswith("Recorded for P-1: Yes (for 1-101)")


async def test_a_secret_poll_leaves_nothing_that_links_a_person_to_a_choice(
        bot, api, tg, clock, caplog):
    group, owner, stored = await _moderated_group(bot, api, tg)
    voters = [tg.person(n, language_code="en") for n in ("Ann", "Bob", "Cal")]
    await introduce(bot, tg, group, *voters)
    await _import(api, tg, owner, "roster.csv", "\n".join(
        f"1-10{i},{p.id},owner,{80 + i}" for i, p in enumerate(voters, start=1)).encode())
    caplog.set_level("DEBUG")
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id, settings=("secret",))
    poll_id = poll_id_of(post)
    pressed = []
    for person, option in zip(voters, (0, 1, 0), strict=True):
        mark = api.mark()
        pressed.append(await tg.press(person, post, poll_buttons.VOTE.data(poll_id, option)))
        await api.wait_for("answerCallbackQuery", after=mark)
        clock.advance(timedelta(minutes=7))
    await bot.settled()
    async with bot.services.db.transaction() as conn:
        created = (await store.get(conn, poll_id)).created_at
        entries = [link_.entry for link_ in await store.chain(conn, poll_id)]
        rows = await inspection.every_row(conn)
    kept = [r for r in rows["ballots"] if r["poll_id"] == poll_id]
    took = [r for r in rows["poll_participants"] if r["poll_id"] == poll_id]
    earned = [r for r in rows["points_ledger"] if r["ref"] == f"poll:{poll_id}"]
    raw = rows["update_inbox"]
    # No time that could be matched: ballots carry the poll's creation, participants none,
    # the log none; no points row dated by a press; no raw update left.
    assert {row["at"] for row in kept} == {created} and all(r["user_id"] is None for r in kept)
    assert [row["at"] for row in took] == [None, None, None]
    assert all("at" not in entry for entry in entries)
    assert earned == [] and raw == []

    await _close(bot, api, clock, group)
    async with bot.services.db.transaction() as conn:
        earned = [r for r in (await inspection.every_row(conn))["points_ledger"]
                  if r["ref"] == f"poll:{poll_id}"]
        assert await store.key(conn, poll_id) is None
    assert len(earned) == 3 and len({r["at"] for r in earned}) == 1  # all at the close
    # Neither the database nor its journal holds the presses any more (SQLite's
    # secure_delete and the checkpoint at closing); no log line carries a vote.
    # SQLite: its file and journal; PostgreSQL: the files of the tables a press could
    # leave a trace in (old row versions stay there until the tables are rewritten).
    if bot.settings.storage.url.startswith("sqlite"):
        path = Path(bot.settings.storage.url.split("///", 1)[1])
        journal = path.with_name(path.name + "-wal")
        stored_bytes = await asyncio.to_thread(
            lambda: path.read_bytes() + (journal.read_bytes() if journal.exists() else b""))
    else:
        async with bot.services.db.transaction() as conn:
            stored_bytes = await inspection.table_files(conn, VOTE_TRACES)
    assert b"chat_instance" not in stored_bytes
    for query_id in pressed:
        assert f'"id": "{query_id}"'.encode() not in stored_bytes
        assert query_id.encode() not in stored_bytes
    for record in caplog.records:
        text = record.getMessage() + json.dumps(getattr(record, "__dict__", {}), default=str)
        assert f"v:{poll_id}:" not in text, record.name


async def test_a_rewritten_log_fails_the_audit_against_the_posted_head_and_receipts_hold(
        bot, api, tg, clock):
    group, owner, stored = await _moderated_group(bot, api, tg)
    ann, bob = tg.person("Ann", language_code="en"), tg.person("Bob", language_code="en")
    await introduce(bot, tg, group, ann, bob)
    await _import(api, tg, owner, "roster.csv",
                  f"1-101,{ann.id},owner,90\n1-102,{bob.id},owner,80".encode())
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id)
    poll_id = poll_id_of(post)
    first = (await _vote(api, tg, ann, post, 1)).split("Receipt: ")[1].split(" ")[0]
    second = (await _vote(api, tg, ann, post, 0)).split("Receipt: ")[1].split(" ")[0]
    await _vote(api, tg, bob, post, 1)
    mark = api.mark()
    await tg.say(group, ann, f"/audit P-1 {second}")
    answer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert answer.text.splitlines()[1] == (
        f"回执 {second}：这张选票是投票记录第 2 条，已按所投计入。")
    mark = api.mark()
    await tg.say(group, ann, f"/audit P-1 {first}")
    answer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert answer.text.splitlines()[1] == (
        f"回执 {first}：这张选票（第 1 条）已被同一票位后来的选票（第 2 条）取代，以后者为准。")

    result, _mark = await _close(bot, api, clock, group)
    async with bot.services.db.transaction() as conn:
        links = await store.chain(conn, poll_id)
    assert f"链头为 <code>{links[-1].hash}</code>" in result.params["text"]
    mark = api.mark()
    await tg.say(group, bob, "/audit P-1")
    intact = await api.wait_for("editMessageText", after=mark)
    assert intact.text.splitlines()[-1] == (
        f"链头 {links[-1].hash[:16]} 与截止时群里公布的一致：此后记录未被改动。")

    # Someone with the database turns Bob's No into a Yes, and rewrites the log to match,
    # every hash recomputed, the stored head too.
    async with bot.services.db.transaction() as conn:
        bobs = await inspection.change_ballot(conn, poll_id, bob.id, [0])
        previous = await inspection.rewrite_log(conn, poll_id, links, bobs, [0])
    mark = api.mark()
    await tg.say(group, bob, "/audit P-1")
    caught = await api.wait_for("editMessageText", after=mark)
    assert caught.text.splitlines()[0] == "P-1：投票记录完整（3 条），选票与记录一致。"
    assert caught.text.splitlines()[-1] == (
        f"链头 {previous[:16]} 与截止时群里公布的（{links[-1].hash[:16]}）不一致：投票截止后记录"
        "被改写过。")


async def test_an_owner_on_the_register_who_joins_is_linked_not_counted_twice(bot, api, tg):
    from tests.test_join import _join

    group, owner, stored = await _moderated_group(bot, api, tg)
    await _import(api, tg, owner, "register.csv", (
        "unit,area,name,user,relation\n1-101,90,王芳,,owner\n1-102,80,王芳,,owner\n"
        "1-103,70,李强,,owner\n").encode())
    wang = tg.person("Fang", language_code="en")
    await introduce(bot, tg, group, wang)
    _ask, request = await _join(bot, api, tg, group, stored, wang, unit="1-101")
    assert [b["text"] for row in request.params["reply_markup"]["inline_keyboard"]
            for b in row] == ["Approve as 王芳 (on the register)", "Approve as a new owner",
                              "Reject"]
    entry_button = request.buttons[0]["callback_data"]
    assert resident_buttons.LINK.parse(entry_button) is not None
    mark = api.mark()
    await tg.press(owner, request, entry_button)
    await api.wait_for("answerCallbackQuery", after=mark)
    mark = api.mark()
    await tg.say(owner, owner, "/residents")
    roster = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    # 王芳's two flats are one owner, now on Telegram; 李强 is still off it.
    assert "Owners counted for votes: 2 (1 on the register but not on Telegram)." in \
        roster.text.splitlines()
