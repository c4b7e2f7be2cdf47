"""Neighbours helping neighbours and the time bank, end to end: a request from its post to
confirmed hours and credits at the kind's rate; paying with one's own credits; giving
credits to one's household; a moderator taking a piece of help back; and every press
that does not fit refused, changing nothing."""

import asyncio
import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from pdfminer.high_level import extract_text

from bot.domain.helping import EntryKind
from bot.fakeapi.harness import POSTGRES
from handlers import outgoing
from handlers.helping import callbacks as help_buttons
from handlers.me import FORGET
from storage import DatabaseError, inspection
from storage import helping as store
from storage import outbox as outbox_store
from storage import points as points_store
from storage.postgres import lock_waits
from tests.helpers import group_with_bot, introduce
from tests.test_polls import ROWS, _building

EITHER = ("sendMessage", "editMessageText")  # a flow's answer edits the pressed message


def _to(person):
    return lambda c: c.chat_id == person.id


async def _started(api, tg, people):
    for person in people:
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=_to(person))


async def _pressed(api, tg, who, message, data, method="answerCallbackQuery"):
    """Press a button; the bot's answer to that very press (an earlier press may still be
    answered after it), or the first ``method`` call after it."""
    mark = api.mark()
    query_id = await tg.press(who, message, data)
    if method == "answerCallbackQuery":
        return await api.wait_for(method, after=mark,
                                  where=lambda c: c.get("callback_query_id") == query_id)
    return await api.wait_for(method, after=mark)


async def _post(api, tg, group, author, *, command="/needhelp", kind="elderly",
                text="Someone to carry groceries up for my mother", when="2026-11-25 10:00",
                half_hours=4, audience="group"):
    """``author`` goes through /needhelp (or /offerhelp) in private; returns the group post
    and the author's last message."""
    mark = api.mark()
    await tg.say(author, author, command)
    kinds = await api.wait_for("sendMessage", after=mark, where=_to(author))
    mark = api.mark()
    await tg.press(author, kinds, help_buttons.KIND.data(kind))
    await api.wait_for(EITHER, after=mark, where=_to(author))
    mark = api.mark()
    await tg.say(author, author, text)
    await api.wait_for("sendMessage", after=mark, where=_to(author))
    mark = api.mark()
    await tg.say(author, author, when)
    lengths = await api.wait_for("sendMessage", after=mark, where=_to(author))
    mark = api.mark()
    await tg.press(author, lengths, help_buttons.LENGTH.data(half_hours))
    audiences = await api.wait_for(EITHER, after=mark, where=_to(author))
    mark = api.mark()
    await tg.press(author, audiences, help_buttons.AUDIENCE.data(audience))
    done = await api.wait_for(EITHER, after=mark, where=_to(author))
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id) \
        if audience == "group" else None
    return post, done, lengths


async def _answered_and_chosen(api, tg, post, author, helper, help_id):
    mark = api.mark()
    await tg.press(helper, post, help_buttons.ANSWER.data(help_id))
    asked = await api.wait_for("sendMessage", after=mark, where=_to(author))
    mark = api.mark()
    await tg.press(author, asked, help_buttons.CHOOSE.data(help_id, helper.id))
    told = await api.wait_for("sendMessage", after=mark, where=_to(helper))
    return asked, told


async def _claimed_and_confirmed(bot, api, tg, clock, helped, helper, help_id, half_hours,
                                 answer="yes"):
    found = await _help(bot, help_id)
    clock.set(found.ends_at + timedelta(minutes=31))
    mark = api.mark()
    await bot.tick()
    how = await api.wait_for("sendMessage", after=mark, where=_to(helper))
    mark = api.mark()
    await tg.press(helper, how, help_buttons.CLAIM.data(help_id, half_hours))
    confirm = await api.wait_for("sendMessage", after=mark, where=_to(helped))
    mark = api.mark()
    await tg.press(helped, confirm, help_buttons.CONFIRM.data(help_id, answer))
    told = await api.wait_for("sendMessage", after=mark, where=_to(helper))
    return how, confirm, told


async def _help(bot, help_id):
    async with bot.services.db.transaction() as conn:
        return await store.get(conn, help_id)


async def _balance(bot, community_id, person):
    async with bot.services.db.transaction() as conn:
        return await store.balance(conn, community_id, person.id)


async def test_a_request_from_its_post_to_credits_at_the_kinds_rate(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, bob, cal, dee = people["Ann"], people["Bob"], people["Cal"], people["Dee"]
    await _started(api, tg, [ann, bob, cal, dee])
    post, done, _lengths = await _post(api, tg, group, ann)
    assert done.text.startswith("Posted to the group as H-1.")
    assert post.text.splitlines() == [
        "🤝 H-1 · 求助 · 照顾老人",
        "Someone to carry groceries up for my mother",
        "时间：2026-11-25 10:00，约 2 小时",
        "发布人：Ann",
    ]
    assert [b["text"] for b in post.buttons] == ["我能帮忙"]
    help_id = int(post.buttons[0]["callback_data"].split(":")[1])

    # Her own post: she cannot answer it.
    own = await _pressed(api, tg, ann, post, help_buttons.ANSWER.data(help_id))
    assert own.get("text") == "This is your own post; you will be told when neighbours answer."
    # Someone who never started a chat with the bot could not be told if chosen.
    stranger = tg.person("Eve", language_code="en")
    await introduce(bot, tg, group, stranger)
    unstarted = await _pressed(api, tg, stranger, post, help_buttons.ANSWER.data(help_id))
    assert unstarted.get("text").startswith("Please start a private chat with me first")
    # Two neighbours answer; she is asked about each, in private.
    mark = api.mark()
    await tg.press(dee, post, help_buttons.ANSWER.data(help_id))
    thanked = await api.wait_for("answerCallbackQuery", after=mark)
    assert thanked.get("text") == ("Thank you! H-1's author will choose, and I will tell you "
                                   "in private.")
    asked_dee = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert asked_dee.text == "Dee can help with H-1. Choose them?"
    assert [b["text"] for b in asked_dee.buttons] == ["Choose Dee"]
    mark = api.mark()
    await tg.press(bob, post, help_buttons.ANSWER.data(help_id))
    asked_bob = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert asked_bob.text == "Bob can help with H-1. Choose them?"
    edited = await api.wait_for("editMessageText", after=mark,
                                where=lambda c: c.chat_id == group.id and "2 位" in c.text)
    assert edited.text.endswith("已有 2 位邻居回应。")
    assert [b["text"] for b in edited.buttons] == ["我能帮忙"]
    # Someone who did not answer cannot be chosen; nobody but Ann chooses.
    forged = await _pressed(api, tg, ann, asked_bob, help_buttons.CHOOSE.data(help_id, cal.id))
    assert forged.get("text") == "This neighbour has not answered this post."
    not_hers = await _pressed(api, tg, bob, asked_bob, help_buttons.CHOOSE.data(help_id, bob.id))
    assert not_hers.get("text") == "Only the person who posted this can do that."
    mark = api.mark()
    await tg.press(ann, asked_bob, help_buttons.CHOOSE.data(help_id, dee.id))
    told = await api.wait_for("sendMessage", after=mark, where=_to(dee))
    assert told.text == ("Ann chose you for H-1, 2026-11-25 10:00. Please get in touch. "
                         "Afterwards I will ask you how long it took.")
    thanks = await api.wait_for("sendMessage", after=mark, where=_to(bob))
    assert thanks.text == ("Thank you for answering H-1; another neighbour was chosen this "
                           "time.")
    matched = await api.wait_for("editMessageText", after=mark,
                                 where=lambda c: c.chat_id == group.id and "邻居正在帮忙" in c.text)
    assert matched.buttons == []
    # Too early to say how long it took; then the time passes and Dee is asked.
    early = await _pressed(api, tg, dee, told, help_buttons.CLAIM.data(help_id, 4))
    assert early.get("text") == "It has not started yet; tell me afterwards."
    clock.set((await _help(bot, help_id)).ends_at + timedelta(minutes=31))
    mark = api.mark()
    await bot.tick()
    how = await api.wait_for("sendMessage", after=mark, where=_to(dee))
    assert how.text == "How did H-1 with Ann go? How long did it take?"
    assert [b["text"] for b in how.buttons] == ["0.5 h", "1 h", "1.5 h", "2 h", "3 h", "4 h",
                                                "It did not happen"]
    wrong = await _pressed(api, tg, ann, how, help_buttons.CLAIM.data(help_id, 4))
    assert wrong.get("text") == "Only the neighbour who helped can say how long it took."
    mark = api.mark()
    await tg.press(dee, how, help_buttons.CLAIM.data(help_id, 4))
    confirm = await api.wait_for("sendMessage", after=mark, where=_to(ann))
    assert confirm.text == ("Dee says helping you with H-1 took 2 h. Is that right? "
                            "Confirming puts 3 credits in their time bank.")
    # Ann has no credits: no button to pay with them. Nobody confirms their own help.
    assert [b["text"] for b in confirm.buttons] == ["Yes, thank you", "No, that is not right"]
    own_help = await _pressed(api, tg, dee, confirm, help_buttons.CONFIRM.data(help_id, "yes"))
    assert own_help.get("text").startswith("Only the person who was helped can confirm it")
    unpaid = await _pressed(api, tg, ann, confirm, help_buttons.CONFIRM.data(help_id, "pay"))
    assert unpaid.get("text").startswith("Your time bank does not hold enough credits")
    assert await _balance(bot, stored.id, dee) == 0
    mark = api.mark()
    await tg.press(ann, confirm, help_buttons.CONFIRM.data(help_id, "yes"))
    deposited = await api.wait_for("sendMessage", after=mark, where=_to(dee))
    assert deposited.text == ("Ann confirmed H-1: 2 h. 3 credits are in your time bank (now 3). "
                              "Thank you!")
    closed = await api.wait_for("editMessageText", after=mark,
                                where=lambda c: c.chat_id == group.id and "已完成" in c.text)
    assert closed.text.endswith("已完成：付出 2 小时。谢谢！")
    assert await _balance(bot, stored.id, dee) == 300  # 2 h × 1.5, in hundredths
    async with bot.services.db.transaction() as conn:
        earned = await points_store.earned(conn, stored.id, dee.id, action="neighbour_help")
    assert earned == 2
    again = await _pressed(api, tg, ann, confirm, help_buttons.CONFIRM.data(help_id, "yes"))
    assert again.get("text") == "There is nothing to confirm now."
    assert await _balance(bot, stored.id, dee) == 300
    # Dee's time bank, in private.
    mark = api.mark()
    await tg.say(dee, dee, "/timebank")
    bank = await api.wait_for("sendMessage", after=mark, where=_to(dee))
    assert bank.text.splitlines() == ["Time bank in Elm House: 3 credits",
                                      "2026-11-25 +3 for helping (H-1)"]
    mark = api.mark()
    await tg.say(dee, dee, "/timebank certificate")
    document = await api.wait_for("sendDocument", after=mark, where=_to(dee))
    assert document.params["caption"] == "Your volunteer hours in Elm House for 2026: 2 h."
    text = " ".join(extract_text(io.BytesIO(api.upload(document)[1])).split())
    assert "2026-11-25 H-1 Caring for an elderly neighbour 2" in text, text
    # The week's summary counts it (a moderator's /summary: the last seven days, now).
    clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # Sunday 20:00 in Shanghai
    mark = api.mark()
    await tg.say(group, owner, "/summary")
    summary = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                 and "本周" in c.text)
    assert "邻里互助：1 次，付出 2 小时。" in summary.text.splitlines()


async def test_paying_giving_to_ones_household_and_a_moderator_taking_help_back(
        bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    bob, bea, cal, dee = people["Bob"], people["Bea"], people["Cal"], people["Dee"]
    await _started(api, tg, [bob, bea, cal, dee])
    # H-1: Bob mediates for Dee for an hour: 2 credits.
    post, _d, _l = await _post(api, tg, group, dee, kind="mediation", text="A dispute",
                               half_hours=2)
    first = int(post.buttons[0]["callback_data"].split(":")[1])
    await _answered_and_chosen(api, tg, post, dee, bob, first)
    await _claimed_and_confirmed(bot, api, tg, clock, dee, bob, first, 2)
    assert await _balance(bot, stored.id, bob) == 200
    # H-2: Cal runs an errand for Bob for an hour (1 credit), and Bob pays for it.
    clock.advance(timedelta(hours=1))
    when = "2026-11-27 10:00"
    post, _d, _l = await _post(api, tg, group, bob, kind="errands", text="A parcel", when=when,
                               half_hours=2)
    second = int(post.buttons[0]["callback_data"].split(":")[1])
    await _answered_and_chosen(api, tg, post, bob, cal, second)
    _how, confirm, told = await _claimed_and_confirmed(bot, api, tg, clock, bob, cal, second, 2,
                                                       answer="pay")
    assert [b["text"] for b in confirm.buttons] == [
        "Yes, thank you", "Yes, and pay 1 from my time bank", "No, that is not right"]
    assert told.text.startswith("Bob confirmed H-2: 1 h. 1 credits are in your time bank")
    assert (await _balance(bot, stored.id, bob), await _balance(bot, stored.id, cal)) == (100, 100)

    # Bob gives his last credit to Bea, of his household; she accepts.
    mark = api.mark()
    await tg.say(bob, bob, "/timebank")
    bank = await api.wait_for("sendMessage", after=mark, where=_to(bob))
    assert bank.text.splitlines()[0] == "Time bank in Elm House: 1 credits"
    assert "2026-11-27 −1 paid for help (H-2)" in bank.text
    assert [b["text"] for b in bank.buttons] == ["Give credits to Bea"]
    # Dee is not of his household: a forged button gives her nothing.
    not_family = await _pressed(api, tg, bob, bank, help_buttons.GIVE_SURE.data(
        stored.id, dee.id, 100))
    assert not_family.get("text").startswith("Credits can be given only to a member of your "
                                              "household")
    how_much = await _pressed(api, tg, bob, bank, help_buttons.GIVE_TO.data(stored.id, bea.id),
                              "editMessageText")
    assert [b["text"] for b in how_much.buttons] == ["1"]
    sure = await _pressed(api, tg, bob, bank, help_buttons.GIVE_AMOUNT.data(
        stored.id, bea.id, 100), "editMessageText")
    assert sure.text == "Give 1 credits to Bea? They will be asked to accept."
    mark = api.mark()
    await tg.press(bob, bank, help_buttons.GIVE_SURE.data(stored.id, bea.id, 100))
    offered = await api.wait_for("sendMessage", after=mark, where=_to(bea))
    assert offered.text == ("Bob would like to give you 1 credits from their time bank in "
                            "Elm House. Accept them?")
    # Only Bea accepts it.
    transfer = offered.buttons[0]["callback_data"]
    not_hers = await _pressed(api, tg, bob, offered, transfer)
    assert not_hers.get("text") == "This button is out of date."
    mark = api.mark()
    await tg.press(bea, offered, transfer)
    accepted = await api.wait_for("sendMessage", after=mark, where=_to(bob))
    assert accepted.text.startswith("Bea accepted the 1 credits you gave (T-")
    assert (await _balance(bot, stored.id, bob), await _balance(bot, stored.id, bea)) == (0, 100)
    # Nothing left to give: nobody spends what they do not have.
    broke = await _pressed(api, tg, bob, bank, help_buttons.GIVE_SURE.data(stored.id, bea.id,
                                                                          100))
    assert broke.get("text") == "You do not have that many credits."
    twice = await _pressed(api, tg, bea, offered, transfer)
    assert twice.get("text") == "This was settled before."
    assert await _balance(bot, stored.id, bea) == 100

    # The moderators take help back. H-1's credits are spent: refused, nothing changed.
    mark = api.mark()
    await tg.say(group, cal, "/timebank undo H-2 not real")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert refused.text.startswith("抱歉，只有本群管理员")
    mark = api.mark()
    await tg.say(group, owner, "/timebank undo H-1 counted twice")
    spent = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert spent.text == "H-1 的时间积分已被用掉或转赠，无法收回。未做任何更改。"
    assert await _balance(bot, stored.id, bob) == 0
    mark = api.mark()
    await tg.say(group, owner, "/timebank undo H-2 the errand was a mistake")
    undone = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert undone.text == "已收回 H-2：1 时间积分及其积分。已告知双方原因。"
    to_cal = await api.wait_for("sendMessage", after=mark, where=_to(cal))
    assert to_cal.text == ("The moderators of Elm House took back H-2: 1 credits and 2 points. "
                           "Their reason: the errand was a mistake")
    await api.wait_for("sendMessage", after=mark, where=_to(bob))
    assert (await _balance(bot, stored.id, cal), await _balance(bot, stored.id, bob)) == (0, 100)
    async with bot.services.db.transaction() as conn:
        assert await points_store.earned(conn, stored.id, cal.id) == 0
    mark = api.mark()
    await tg.say(group, owner, "/timebank undo H-2 again")
    again = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert again.text == "H-2 未经确认，没有可收回的。"
    # Bob's gift to Bea, reversed: the credit goes back to him.
    ref = accepted.text.split("(")[-1].rstrip(").")
    mark = api.mark()
    await tg.say(group, owner, f"/timebank undo {ref} given by mistake")
    reversed_ = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id ==
                                   group.id)
    assert reversed_.text == f"已撤销 {ref}：1 时间积分已退回转赠人。已告知双方原因。"
    to_bea = await api.wait_for("sendMessage", after=mark, where=_to(bea))
    assert to_bea.text == (f"The moderators of Elm House reversed the transfer {ref} of 1 "
                           "credits. Their reason: given by mistake")
    assert (await _balance(bot, stored.id, bob), await _balance(bot, stored.id, bea)) == (200, 0)
    mark = api.mark()
    await tg.say(group, owner, f"/timebank undo {ref} again")
    twice = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert twice.text == f"{ref} 已经撤销过了。"


async def test_the_ledger_cannot_be_edited_nor_a_balance_go_below_zero(bot, api, tg):
    """The database itself refuses to change an entry (a mistake is reversed, never
    rewritten) and a balance below zero, whatever the code above it does."""
    group, _owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)
    now = bot.services.clock.now()
    async with bot.services.db.transaction() as conn:
        entry = await store.enter(conn, community_id=stored.id, user_id=ann.id,
                                  kind=EntryKind.DEPOSIT, amount=150, ref="H-9", now=now)
    with pytest.raises(DatabaseError):
        async with bot.services.db.transaction() as conn:
            await inspection.rewrite_time_entry(conn, entry.id, 15000)
    with pytest.raises(DatabaseError):
        async with bot.services.db.transaction() as conn:
            await inspection.set_time_balances(conn, -1)
    with pytest.raises(store.Overdrawn):
        async with bot.services.db.transaction() as conn:
            await store.enter(conn, community_id=stored.id, user_id=ann.id,
                              kind=EntryKind.WITHDRAWAL, amount=-151, ref="H-10", now=now)
    async with bot.services.db.transaction() as conn:
        assert [(e.amount, e.ref) for e in await store.history(conn, stored.id, ann.id)] == [
            (150, "H-9")]
        assert await store.balance(conn, stored.id, ann.id) == 150


async def _dee_helped_ann(bot, api, tg, clock):
    """Ann asked for help, chose Dee, and confirmed two hours; returns Dee and the help."""
    group, _owner, stored, people = await _building(bot, api, tg, ROWS)
    ann, dee = people["Ann"], people["Dee"]
    await _started(api, tg, [ann, dee])
    post, _d, _l = await _post(api, tg, group, ann)
    help_id = int(post.buttons[0]["callback_data"].split(":")[1])
    await _answered_and_chosen(api, tg, post, ann, dee, help_id)
    await _claimed_and_confirmed(bot, api, tg, clock, ann, dee, help_id, 2)
    await bot.settled()
    return people["Dee"], help_id


async def test_mydata_shows_the_help_and_the_time_bank_and_forgetme_clears_them(
        bot, api, tg, clock):
    import json

    from tests.test_privacy_and_exports import _everything_stored, _forgotten

    dee, help_id = await _dee_helped_ann(bot, api, tg, clock)
    mark = api.mark()
    await tg.say(dee, dee, "/mydata")
    sent = await api.wait_for("sendDocument", after=mark, where=_to(dee))
    data = json.loads(api.upload(sent)[1])
    assert [h["help_id"] for h in data["help_answered"]] == [help_id]
    assert [(h["number"], h["status"]) for h in data["help_chosen_for"]] == [(1, "done")]
    assert [(e["kind"], e["amount"], e["ref"]) for e in data["time_bank_entries"]] == [
        ("deposit", 150, "H-1")]
    assert [b["balance"] for b in data["time_bank_balances"]] == [150]

    await _forgotten(bot, api, tg, dee)
    stored_text = await _everything_stored(bot)
    assert str(dee.id) not in stored_text, [line for line in stored_text.splitlines()
                                            if str(dee.id) in line][:3]
    # Ann's request stays, without who helped her.
    found = await _help(bot, help_id)
    assert (found.number, found.partner_id) == (1, None)



@pytest.mark.skipif(not os.environ.get(POSTGRES),
                    reason="no PostgreSQL server named (YISHI_TEST_POSTGRES); .ci/run gives one")
async def test_on_postgresql_forgetme_beside_a_message_being_noted_sent_does_not_deadlock(
        bot, api, tg, clock):
    """The outbox notes a message sent (its row) and then takes the feature's row (here
    the request Dee helped with). /forgetme takes the outbox rows before any feature's
    row, so the two never wait for each other in a circle: before, /forgetme cleared the
    request's helper first and PostgreSQL ended one of them as a deadlock."""
    dee, help_id = await _dee_helped_ann(bot, api, tg, clock)
    later = clock.now() + timedelta(days=30)
    db = bot.services.db
    async with db.transaction() as conn:
        await outbox_store.queue(conn, [outgoing.message("test:later", dee.id, "Later")],
                                 later)
    mark = api.mark()
    await tg.say(dee, dee, "/forgetme")
    confirm = await api.wait_for("sendMessage", after=mark, where=_to(dee))
    mark = api.mark()
    async with db.transaction() as runner:  # as the outbox's runner noting it sent
        claimed = await outbox_store.claim_next(runner, later, later + timedelta(minutes=5))
        assert claimed is not None and claimed.key == "test:later"
        await outbox_store.mark_sent(runner, claimed.id, later, "sent")
        await tg.press(dee, confirm, FORGET.data("yes"))
        async with asyncio.timeout(10):
            while await lock_waits(runner) < 1:  # noqa: ASYNC110 (the server's lock table)
                await asyncio.sleep(0.01)
        # /forgetme waits for the outbox row; the request's row is free to take.
        assert (await store.get(runner, help_id, lock=True)).partner_id == dee.id
    done = await api.wait_for("editMessageText", after=mark, where=_to(dee))
    assert done.text.startswith("Done. I have forgotten you.")
    await bot.settled()
    assert (await _help(bot, help_id)).partner_id is None
