"""Vote presses recorded as they are fetched (bot/inbox.py, handlers/polls/lane.py): in
the order people pressed, with the answers they would get the usual way, counted once in
the metrics, and never recorded twice when Telegram delivers them again after a crash."""

import asyncio

from handlers.polls import callbacks as poll_buttons
from handlers.polls.lane import VoteLane
from storage import inbox
from tests.test_polls import ROWS, _building, _create, _poll, _poll_id


async def _market(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _preview = await _create(
        api, tg, group, owner, stored.id, question="Which days for the market?",
        options=["Mon", "Wed", "Fri", "Sun"], settings=("audience", "multiple", "multiple"))
    return post, people


def _handled(bot) -> float:
    return bot.services.metrics.registry.get_sample_value("yishi_updates_handled_total")


async def test_a_batch_of_presses_is_recorded_on_arrival_in_the_order_pressed(
        bot, api, tg, monkeypatch):
    post, people = await _market(bot, api, tg)
    poll_id = _poll_id(post)
    bea, ann = people["Bea"], people["Ann"]
    taken: list[int] = []
    original = VoteLane.take

    async def counting(self, items, write_also):
        await original(self, items, write_also)
        taken.extend(item["update_id"] for item in items)

    monkeypatch.setattr(VoteLane, "take", counting)
    await bot.settled()
    handled_before = _handled(bot)
    mark = api.mark()
    # Pushed without a pause: one getUpdates batch. Bea changes her mind twice.
    pressed = [await tg.press(who, post, poll_buttons.VOTE.data(poll_id, option))
               for who, option in ((bea, 0), (ann, 3), (bea, 1), (bea, 0))]
    answers = await api.wait_count("answerCallbackQuery", 4, after=mark)
    await bot.settled()
    by_query = {a.params["callback_query_id"]: a.get("text").split("\nReceipt: ")[0]
                for a in answers}
    assert [by_query[q] for q in pressed] == [
        "Recorded for P-1: Mon (for 3-1-102)", "Recorded for P-1: Sun (for 3-1-101)",
        "Recorded for P-1: Mon, Wed (for 3-1-102)", "Recorded for P-1: Wed (for 3-1-102)"]
    assert len(taken) == 4  # all four on arrival, none the usual way
    _p, counted = await _poll(bot, poll_id)
    assert sorted(b.choice for b in counted) == [(1,), (3,)]
    assert _handled(bot) - handled_before == 4  # the batch's confirmation is not counted
    async with bot.services.db.transaction() as conn:
        assert await inbox.pending(conn) == []


async def test_a_press_recorded_on_arrival_is_not_recorded_again_after_a_crash(
        bot, api, tg, monkeypatch):
    """Killed after the press was recorded but before getUpdates confirmed it: Telegram
    delivers it again, and it must not count again (a second press of Mon would take Mon
    back off a multiple-choice ballot)."""
    post, people = await _market(bot, api, tg)
    poll_id = _poll_id(post)
    original = VoteLane.take
    recorded = asyncio.Event()

    async def then_die(self, items, write_also):
        await original(self, items, write_also)
        recorded.set()
        await asyncio.Event().wait()  # the process is killed here: the batch unconfirmed

    monkeypatch.setattr(VoteLane, "take", then_die)
    mark = api.mark()
    query_id = await tg.press(people["Bea"], post, poll_buttons.VOTE.data(poll_id, 0))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text").startswith("Recorded for P-1: Mon (for 3-1-102)")
    await recorded.wait()
    await bot.crash()
    monkeypatch.setattr(VoteLane, "take", original)
    mark = api.mark()
    await bot.start()
    # Telegram delivers the press again; the bot fetches it, and skips it.
    again = await api.wait_for("getUpdates", after=mark)
    assert [u["callback_query"]["id"] for u in again.result] == [query_id]
    await bot.settled()
    _p, counted = await _poll(bot, poll_id)
    assert [b.choice for b in counted] == [(0,)]
    assert api.sent("answerCallbackQuery", after=mark) == []
