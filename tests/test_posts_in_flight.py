"""A resident acts on a post while Telegram's answer to it is still on its way back, so the
bot does not know yet where the post is: when the answer arrives, the post is brought up to
date at once. (On PostgreSQL the two go one after the other; storage row locks, tested in
tests/test_storage.py.)"""

from __future__ import annotations

import asyncio

from bot.fakeapi.server import Fault
from handlers.topics import callbacks as topic_buttons
from storage import decisions as decision_store
from storage import topics as topic_store
from tests.helpers import audit_log, back_after_outage
from tests.test_polls import ROWS, _building, _create, _vote
from tests.test_topics import _building as _topic_building
from tests.test_topics import _propose, _topic_id


def _late(api, group, text: str) -> asyncio.Event:
    """Telegram's answer to the next message to ``group`` containing ``text`` is held
    back until the event is set."""
    release = asyncio.Event()
    api.faults.append(Fault("sendMessage", "late", release=release, where=lambda params: (
        str(params.get("chat_id")) == str(group.id) and text in str(params.get("text", "")))))
    return release


async def _answered(api, group, release: asyncio.Event, post):
    """Telegram's answer about ``post`` reaches the bot: the edit that follows, of that
    very post."""
    mark = api.mark()
    release.set()
    shown = await api.wait_for("editMessageText", after=mark,
                               where=lambda c: c.chat_id == group.id)
    assert shown.params["message_id"] == post.result["message_id"]
    return shown


async def test_a_vote_cast_while_the_post_is_on_its_way_shows_on_it(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    release = _late(api, group, "Repaint the lobby?")
    post, _controls, _preview = await _create(api, tg, group, owner, stored.id)
    assert await _vote(api, tg, people["Ann"], post, 0) == "Recorded for P-1: Yes"
    assert api.sent("editMessageText", chat_id=group.id) == []  # nowhere to show it yet
    shown = await _answered(api, group, release, post)
    assert shown.text.splitlines()[-5:] == ["参与：1 票", "", "Yes：1 票（100%）",
                                            "No：0 票（0%）", "Abstain：0 票（0%）"]


async def test_an_objection_made_while_the_notice_is_on_its_way_shows_on_it(bot, api, tg,
                                                                            clock):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    ann = people["Ann"]
    for person in (owner, ann):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    async with bot.services.db.transaction() as conn:
        await decision_store.create(conn, community_id=stored.id,
                                    title="Repaint the lobby white", now=clock.now())
    release = _late(api, group, "公示 · D-1")
    mark = api.mark()
    await tg.say(group, owner, "/decision D-1 notice 5")
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and "公示 · D-1" in c.text)
    payload = post.buttons[0]["url"].split("=", 1)[1]
    mark = api.mark()
    await tg.say(ann, ann, f"/start {payload}")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    mark = api.mark()
    await tg.say(ann, ann, "White shows every mark")
    recorded = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert recorded.text.startswith("Your objection is recorded")
    assert api.sent("editMessageText", chat_id=group.id) == []  # nowhere to show it yet
    shown = await _answered(api, group, release, post)
    assert shown.text.splitlines()[2:] == ["目前异议：1 条", "• White shows every mark"]


async def test_support_given_while_the_topic_post_is_on_its_way_shows_on_it(bot, api, tg):
    group, owner, _stored, people = await _topic_building(bot, api, tg)
    _done, review = await _propose(api, tg, people["Ann"], title="Bike racks by the gate")
    topic_id = _topic_id(review)
    release = _late(api, group, "Bike racks by the gate")
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert post.buttons == [{"text": "👍 支持（0）", "callback_data": f"sp:{topic_id}"}]
    mark = api.mark()
    await tg.press(people["Bob"], post, topic_buttons.SUPPORT.data(topic_id))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "You support T-1. Supporters: 1."
    shown = await _answered(api, group, release, post)
    assert shown.buttons == [{"text": "👍 支持（1）", "callback_data": f"sp:{topic_id}"}]


async def test_an_approved_topic_is_posted_once_after_a_crash_before_it_went_out(bot, api,
                                                                                tg, clock):
    """Approving writes the topic's opening, the audit line and its post in one
    transaction: the bot dying before the post went out loses nothing."""
    group, owner, stored, people = await _topic_building(bot, api, tg)
    _done, review = await _propose(api, tg, people["Ann"], title="Bike racks by the gate")
    topic_id = _topic_id(review)
    down = Fault("sendMessage", "500", times=1000,
                 where=lambda params: str(params.get("chat_id")) == str(group.id))
    api.faults.append(down)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
    assert (await api.wait_for("answerCallbackQuery", after=mark)).get("text") == "Approved."
    await bot.settled()  # the press handled; the post still waits for Telegram
    assert [c for c in api.sent("sendMessage", chat_id=group.id)
            if c.text.startswith("T-1")] == []
    await back_after_outage(bot, clock, down)
    posts = [c for c in api.sent("sendMessage", chat_id=group.id)
             if c.text.startswith("T-1 · Bike racks by the gate")]
    assert len(posts) == 1
    async with bot.services.db.transaction() as conn:
        topic = await topic_store.get(conn, topic_id)
    assert topic.post_message_id == posts[0].result["message_id"]
    assert [e.action for e in await audit_log(bot, stored.id)].count("topic.approve") == 1
    told = [c for c in api.sent("sendMessage", chat_id=people["Ann"].id)
            if "was approved and posted in the group" in c.text]
    assert len(told) == 1


async def test_a_proposed_topic_reaches_the_moderators_once_after_a_crash_before_it_went_out(
        bot, api, tg, clock):
    """The topic and its copies for the moderators are one transaction: Telegram failing
    and the bot dying right after Ann was thanked still puts it in front of them, once,
    and the copy is noted so the decision brings it up to date."""
    _group, owner, _stored, people = await _topic_building(bot, api, tg)
    down = Fault("sendMessage", "500", times=1000, where=lambda params: (
        str(params.get("chat_id")) == str(owner.id) and "New topic" in str(params.get("text"))))
    api.faults.append(down)
    done, _review = await _propose(api, tg, people["Ann"], title="Bike racks by the gate",
                                   reviewed=False)
    assert done.text.startswith("Thank you! T-1 “Bike racks by the gate” went to the "
                                "moderators.")
    await bot.settled()
    assert _copies(api, owner) == []
    await back_after_outage(bot, clock, down)
    copies = _copies(api, owner)
    assert [c.text.splitlines()[0] for c in copies] == ["New topic for Elm House"]
    async with bot.services.db.transaction() as conn:
        topic = await topic_store.get(conn, _topic_id(copies[0]))
    assert topic.notices == [[owner.id, copies[0].result["message_id"]]]


def _copies(api, moderator):
    return [c for c in api.sent("sendMessage", chat_id=moderator.id)
            if c.text.startswith("New topic")]


async def test_a_rejected_topics_author_is_told_once_after_a_crash_before_it_went_out(
        bot, api, tg, clock):
    """The rejection, its audit line and the word to the author are one transaction."""
    _group, owner, stored, people = await _topic_building(bot, api, tg)
    ann = people["Ann"]
    _done, review = await _propose(api, tg, ann, title="Paint the lobby pink")
    topic_id = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "no"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    down = Fault("sendMessage", "500", times=1000,
                 where=lambda params: str(params.get("chat_id")) == str(ann.id))
    api.faults.append(down)
    mark = api.mark()
    await tg.say(owner, owner, "The assembly chose the colours last year.")
    done = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    assert done.text == "Done: T-1 is not accepted."
    await bot.settled()
    await back_after_outage(bot, clock, down)
    told = [c.text for c in api.sent("sendMessage", chat_id=ann.id) if "not accepted" in c.text]
    assert told == ["Your topic T-1 “Paint the lobby pink” was not accepted. Reason: The "
                    "assembly chose the colours last year."]
    assert [e.action for e in await audit_log(bot, stored.id)].count("topic.reject") == 1
