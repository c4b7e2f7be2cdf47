"""One noisy person cannot drown the group: their commands beyond a burst are ignored
(they are told once, in private; the moderators once), others' commands and votes are
still answered, and answers to button presses never wait behind group messages."""

from bot.fakeapi.harness import create_poll, poll_id_of
from handlers.polls import callbacks as poll_buttons
from tests.helpers import group_with_bot, introduce


async def test_a_flood_of_commands_is_cut_short_and_others_are_still_answered(bot, api, tg):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    mallory, ann = tg.person("Mallory", language_code="en"), tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, mallory, ann)
    for person in (owner, mallory):
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c, p=person: c.chat_id == p.id)
    post, _c, _p = await create_poll(api, tg, group, owner, stored.id,
                                     settings=("audience",) * 3)  # anyone in the group
    mark = api.mark()
    for n in range(60):
        await tg.say(group, mallory, "/polls")
        if n == 30:  # Ann votes in the middle of it
            await tg.press(ann, post, poll_buttons.VOTE.data(poll_id_of(post), 0))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text").startswith("Recorded for P-1: Yes")
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == mallory.id)
    assert told.text == ("You are sending commands faster than I can answer, so I am ignoring "
                         "yours for 30 seconds. Everyone else's still get answered.")
    moderators = await api.wait_for("sendMessage", after=mark,
                                    where=lambda c: c.chat_id == owner.id)
    assert moderators.text == ("Mallory sent more than 10 commands within 30 seconds in Elm "
                               "House; I am ignoring theirs for now. Nothing else changed.")
    await bot.settled()
    # Ten answers to Mallory in the group, no more; everyone else is still answered.
    listings = [c for c in api.sent(chat_id=group.id, after=mark)
                if c.text and c.text.startswith("Elm House 的投票")]
    assert len(listings) == 10
    before = api.mark()
    await tg.say(group, ann, "/polls")
    reply = await api.wait_for("sendMessage", after=before, where=lambda c: c.chat_id == group.id)
    assert "P-1" in reply.text
    assert len([c for c in api.sent(chat_id=mallory.id, after=mark)]) == 1  # told once
    assert len([c for c in api.sent(chat_id=owner.id, after=mark)]) == 1
