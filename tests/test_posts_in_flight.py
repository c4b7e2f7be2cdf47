"""A resident acts on a post while Telegram's answer to it is still on its way back, so the
bot does not know yet where the post is: when the answer arrives, the post is brought up to
date at once. (On PostgreSQL the two go one after the other; storage row locks, tested in
tests/test_storage.py.)"""

from __future__ import annotations

import asyncio

from bot.fakeapi.server import Fault
from storage import decisions as decision_store
from tests.test_polls import ROWS, _building, _create, _vote


def _late(api, group, text: str) -> asyncio.Event:
    """Telegram's answer to the next message to ``group`` containing ``text`` is held
    back until the event is set."""
    release = asyncio.Event()
    api.faults.append(Fault("sendMessage", "late", release=release, where=lambda params: (
        str(params.get("chat_id")) == str(group.id) and text in str(params.get("text", "")))))
    return release


async def test_a_vote_cast_while_the_post_is_on_its_way_shows_on_it(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    release = _late(api, group, "Repaint the lobby?")
    post, _controls, _preview = await _create(api, tg, group, owner, stored.id)
    assert await _vote(api, tg, people["Ann"], post, 0) == "Recorded for P-1: Yes"
    assert api.sent("editMessageText", chat_id=group.id) == []  # nowhere to show it yet
    mark = api.mark()
    release.set()
    shown = await api.wait_for("editMessageText", after=mark,
                               where=lambda c: c.chat_id == group.id)
    assert shown.params["message_id"] == post.result["message_id"]
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
    mark = api.mark()
    release.set()
    shown = await api.wait_for("editMessageText", after=mark,
                               where=lambda c: c.chat_id == group.id)
    assert shown.params["message_id"] == post.result["message_id"]
    assert shown.text.splitlines()[2:] == ["目前异议：1 条", "• White shows every mark"]
