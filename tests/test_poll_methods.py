"""Ways to decide beyond one choice, end to end: the moderator picks the way in the
preview, the group's post carries one "Vote" button, each ballot is filled in privately
with buttons, and the result shows the method's count (rounds, slots, objections)."""

from datetime import timedelta

from bot.deeplinks import DeepLink
from bot.fakeapi.harness import prepare_poll
from handlers.polls import private
from storage import communities
from storage import polls as store
from tests.helpers import group_with_bot, introduce


async def _english_group(bot, api, tg):
    """A group whose moderator set it to speak English (/settings)."""
    group, owner, stored = await group_with_bot(bot, api, tg, "Maple Court",
                                                owner_language="en")
    async with bot.services.db.transaction() as conn:
        await communities.update_settings(conn, stored.id, bot.services.clock.now(),
                                          language="en")
    return group, owner, stored


async def _publish(api, tg, group, owner, community_id, method, options, *, question,
                   settings=("audience",) * 3):
    """The moderator prepares a poll (open to anyone in the group unless ``settings`` say
    otherwise), chooses ``method`` as the way of deciding, and publishes it; returns the
    preview and the group post."""
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    await _started(api, tg, owner)
    preview = await prepare_poll(api, tg, owner, community_id, question=question,
                                 options=options, settings=settings)
    mark = api.mark()
    await tg.press(owner, preview, "pc:s:method")
    chooser = await api.wait_for("editMessageText", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, chooser, f"pc:c:method:{method}")
    preview = await api.wait_for("editMessageText", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, preview, "pc:go")
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    return preview, post


async def _with_ann_and_bo(bot, api, tg):
    """The English group, and Ann and Bo in it, each with a private chat with the bot."""
    group, owner, stored = await _english_group(bot, api, tg)
    ann, bo = tg.person("Ann", language_code="en"), tg.person("Bo", language_code="en")
    await introduce(bot, tg, group, ann, bo)
    for person in (ann, bo):
        await _started(api, tg, person)
    return group, owner, stored, ann, bo


async def _started(api, tg, person):
    mark = api.mark()
    await tg.say(person, person, "/start")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == person.id)


async def _form(api, tg, who, post):
    """``who`` presses the post's Vote button (they have a private chat with the bot)."""
    mark = api.mark()
    await tg.press(who, post, post.buttons[0]["callback_data"])
    return await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == who.id)


async def _press(api, tg, who, form, text):
    """Press the form's button whose label is ``text``; returns the form as edited."""
    data = next(b["callback_data"] for b in form.buttons if b["text"] == text)
    mark = api.mark()
    await tg.press(who, form, data)
    return await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == who.id)


async def _ranked(api, tg, who, post, ranking):
    form = await _form(api, tg, who, post)
    for n, option in enumerate(ranking, start=1):
        form = await _press(api, tg, who, form, f"{n}. {option}")
    return await _press(api, tg, who, form, "Cast this ballot")


async def _close(bot, api, group, clock):
    clock.advance(timedelta(days=3, minutes=1))
    mark = api.mark()
    await bot.tick()
    return await api.wait_for("sendMessage", after=mark,
                              where=lambda c: c.chat_id == group.id and "closed" in c.text)


async def test_a_ranked_choice_poll_runs_off_round_by_round(bot, api, tg, clock):
    group, owner, stored = await _english_group(bot, api, tg)
    voters = [tg.person(n, language_code="en") for n in ("Ann", "Bo", "Cy", "Di", "Ed")]
    await introduce(bot, tg, group, *voters)
    preview, post = await _publish(api, tg, group, owner, stored.id, "ranked",
                                   ["Blue", "Green", "Grey"], question="Lobby colour?")
    assert "Way of deciding: ranked choice (instant runoff); the ballot is filled in " \
           "privately with the bot." in preview.text
    assert [b["text"] for b in post.buttons] == ["🗳 Vote (in private)"]
    poll_id = int(post.buttons[0]["callback_data"].split(":")[1])

    # Someone the bot may not write to yet: Telegram opens the chat on the ballot's link.
    mark = api.mark()
    await tg.press(voters[0], post, post.buttons[0]["callback_data"])
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("url") == f"https://t.me/{api.bot['username']}?start=ballot_{poll_id}"
    mark = api.mark()
    await tg.say(voters[0], voters[0], f"/start ballot_{poll_id}")
    form = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == voters[0].id)
    assert [b["text"] for b in form.buttons] == ["1. Blue", "1. Green", "1. Grey",
                                                 "Withdraw my ballot"]
    form = await _press(api, tg, voters[0], form, "1. Blue")
    assert "1. Blue" in form.text.splitlines()
    done = await _press(api, tg, voters[0], form, "Cast this ballot")
    assert done.text.startswith("Your ballot on P-1 is cast.")

    for voter, ranking in zip(voters[1:], (["Blue"], ["Green", "Grey"], ["Green"],
                                           ["Grey", "Green"]), strict=True):
        await _started(api, tg, voter)
        done = await _ranked(api, tg, voter, post, ranking)
        assert done.text.startswith("Your ballot on P-1 is cast.")

    # Forged ballots (Blue twice; nothing ranked) are refused and change nothing.
    for forged in ("s00", "s"):
        mark = api.mark()
        await tg.press(voters[1], form, f"pf:ok:{poll_id}:{forged}")
        refused = await api.wait_for("answerCallbackQuery", after=mark)
        assert refused.get("text") == "This button is out of date."
    async with bot.services.db.transaction() as conn:
        counted = sorted(b.choice for b in await store.counted(conn, poll_id))
    assert counted == [(0,), (0,), (1,), (1, 2), (2, 1)]

    result = await _close(bot, api, group, clock)
    lines = result.text.splitlines()
    assert lines[1:4] == ["Round 1: Blue 2 · Green 2 · Grey 1",
                          "“Grey” goes out; its ballots go to their next choice.",
                          "Round 2: Blue 2 · Green 3"]
    assert "Result: “Green” won." in lines
    # A form kept from before the close takes nothing more.
    mark = api.mark()
    await tg.press(voters[0], form, form.buttons[0]["callback_data"])
    closed = await api.wait_for(("sendMessage", "editMessageText"), after=mark,
                                where=lambda c: c.chat_id == voters[0].id)
    assert closed.text == "P-1 is closed; votes are no longer taken."
    # The minutes give each public ballot's ranking in order.
    mark = api.mark()
    await tg.say(group, owner, "/export P-1")
    csv_call = await api.wait_for("sendDocument", after=mark)
    minutes = api.upload(csv_call)[1].decode("utf-8-sig")
    assert ",Cy,Green > Grey," in minutes and ",Ed,Grey > Green," in minutes


async def test_consent_posts_each_objections_reason_and_fails_with_one(bot, api, tg, clock):
    group, owner, stored, ann, bo = await _with_ann_and_bo(bot, api, tg)
    _preview, post = await _publish(api, tg, group, owner, stored.id, "consent",
                                    ["x", "y"], question="Lock the roof door at night?")
    form = await _form(api, tg, ann, post)
    assert [b["text"] for b in form.buttons] == ["I consent", "I object…",
                                                 "Withdraw my ballot"]
    done = await _press(api, tg, ann, form, "I consent")
    assert done.text.startswith("Your ballot on P-1 is cast.")
    form = await _form(api, tg, bo, post)
    mark = api.mark()
    await tg.press(bo, form, next(b["callback_data"] for b in form.buttons
                                  if b["text"] == "I object…"))
    asked = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bo.id)
    assert asked.text.startswith("Why do you object to P-1?")
    mark = api.mark()
    await tg.say(bo, bo, "The night shift uses it to reach the pump room.")
    cast = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bo.id)
    assert cast.text.startswith("Your ballot on P-1 is cast.")
    # The reason is in the group's post, without a name.
    clock.advance(timedelta(seconds=10))
    edited = await api.wait_for("editMessageText", after=mark,
                                where=lambda c: c.chat_id == group.id and "Objections" in c.text)
    assert "Objections (without names):\n• The night shift uses it to reach the pump " \
           "room." in edited.text
    assert "Bo" not in edited.text

    closing = api.mark()
    result = await _close(bot, api, group, clock)
    assert "1 consent, 1 object." in result.text
    assert ("Result: not consented; there are objections. The proposer can amend the "
            "proposal and ask again.") in result.text.splitlines()

    # The moderator who asked gets the objections and a button to amend and ask again.
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    offer = await api.wait_for("sendMessage", after=closing, where=to_owner)
    assert offer.text.splitlines() == [
        "P-1 “Lock the roof door at night?” was not consented.",
        "Objections (without names):", "• The night shift uses it to reach the pump room.",
        "", "Amend the proposal to meet the objections and ask Maple Court again: the new "
        "poll names P-1."]
    amend = offer.buttons[0]["callback_data"]
    assert offer.buttons[0]["text"] == "✏️ Amend and ask again"
    # Someone who is not a moderator cannot, even with the button's data.
    mark = api.mark()
    await tg.press(ann, form, amend)
    refused = await api.wait_for("answerCallbackQuery", after=mark)
    assert refused.get("text") == ("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed.")
    mark = api.mark()
    await tg.press(owner, offer, amend)
    asked = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert asked.text == ("Write the amended proposal for Maple Court (at most 300 "
                          "characters). It was: “Lock the roof door at night?”")
    mark = api.mark()
    await tg.say(owner, owner, "Lock the roof door at night, with a key in the pump room?")
    deadline = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert deadline.text.startswith("Until when can people vote?")
    mark = api.mark()
    await tg.say(owner, owner, "3d")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert preview.text.splitlines()[2:6] == [
        "Lock the roof door at night, with a key in the pump room?",
        "Amended after the objections to P-1.", "• I consent", "• I object"]
    mark = api.mark()
    await tg.press(owner, preview, "pc:go")
    again = await api.wait_for("sendMessage", after=mark,
                               where=lambda c: c.chat_id == group.id)
    assert again.text.splitlines()[:2] == [
        "P-2 · Lock the roof door at night, with a key in the pump room?",
        "Amended after the objections to P-1."]
    assert [b["text"] for b in again.buttons] == ["🗳 Vote (in private)"]
    async with bot.services.db.transaction() as conn:
        first = await store.by_number(conn, stored.id, 1)
        second = await store.by_number(conn, stored.id, 2)
    assert (second.amends, second.method, second.audience) == (
        first.id, first.method, first.audience)
    # One amended poll per poll: the next round amends P-2.
    mark = api.mark()
    await tg.press(owner, offer, amend)
    twice = await api.wait_for("answerCallbackQuery", after=mark)
    assert twice.get("text") == "P-1 was amended already: P-2 asks again."


async def test_a_meeting_time_poll_names_the_best_slot(bot, api, tg, clock):
    group, owner, stored, ann, bo = await _with_ann_and_bo(bot, api, tg)
    preview, post = await _publish(api, tg, group, owner, stored.id, "time",
                                   ["2026-12-12 19:00", "2026-12-10 19:30"],
                                   question="When do we meet about the garden?")
    # The slots are kept in order, in the group's zone.
    assert "• 2026-12-10 19:30\n• 2026-12-12 19:00" in preview.text
    form = await _form(api, tg, ann, post)
    form = await _press(api, tg, ann, form, "❌ 2026-12-10 19:30")  # → yes
    form = await _press(api, tg, ann, form, "✅ 2026-12-10 19:30")  # → if need be
    form = await _press(api, tg, ann, form, "❌ 2026-12-12 19:00")  # → yes
    await _press(api, tg, ann, form, "Cast this ballot")
    form = await _form(api, tg, bo, post)
    form = await _press(api, tg, bo, form, "❌ 2026-12-10 19:30")
    await _press(api, tg, bo, form, "Cast this ballot")
    # Both can come on the 10th (one if need be); only Ann on the 12th.
    result = await _close(bot, api, group, clock)
    assert "2026-12-10 19:30: yes 1 · if need be 1 · no 0" in result.text
    assert "2026-12-12 19:00: yes 1 · if need be 0 · no 1" in result.text
    assert "Result: the best time is 2026-12-10 19:30." in result.text


async def test_score_dots_and_approval_ballots_are_filled_in_with_buttons(bot, api, tg, clock):
    group, owner, stored = await _english_group(bot, api, tg)
    ann = tg.person("Ann", language_code="en")
    await introduce(bot, tg, group, ann)
    await _started(api, tg, ann)
    _p, score_post = await _publish(api, tg, group, owner, stored.id, "score",
                                    ["Oak", "Lime"], question="Which tree?")
    form = await _form(api, tg, ann, score_post)
    assert "Cast this ballot" in [b["text"] for b in form.buttons]  # all 0 is a ballot
    # The second row is Lime's: its label, then 0..5 with the chosen score marked.
    rows = form.result["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[1]] == ["2.", "[0]", "1", "2", "3", "4", "5"]
    form = await _press(api, tg, ann, form, "4")  # Oak's row comes first
    assert "1. Oak: 4" in form.text.splitlines()
    done = await _press(api, tg, ann, form, "Cast this ballot")
    assert done.text.startswith("Your ballot on P-1 is cast.")

    _p, dots_post = await _publish(api, tg, group, owner, stored.id, "dots",
                                   ["Swings", "Bench", "Lamps"], question="Park money?")
    form = await _form(api, tg, ann, dots_post)
    assert "Dots left: 3 of 3." in form.text
    for _n in range(3):
        form = await _press(api, tg, ann, form, next(
            b["text"] for b in form.buttons if b["text"].startswith("Bench")))
    assert "Dots left: 0 of 3." in form.text
    # No dots left: pressing again changes nothing and says how dots work.
    mark = api.mark()
    await tg.press(ann, form, next(b["callback_data"] for b in form.buttons
                                   if b["text"].startswith("Swings")))
    hint = await api.wait_for("answerCallbackQuery", after=mark)
    assert hint.get("text") == "Spread your 3 dots: an option may get several."
    form = await _press(api, tg, ann, form, "−")
    form = await _press(api, tg, ann, form, "Swings ○")
    await _press(api, tg, ann, form, "Cast this ballot")

    _p, approval_post = await _publish(api, tg, group, owner, stored.id, "approval",
                                       ["Tue", "Wed", "Thu"], question="Bin day?")
    form = await _form(api, tg, ann, approval_post)
    assert "Cast this ballot" not in [b["text"] for b in form.buttons]  # none ticked yet
    form = await _press(api, tg, ann, form, "☐ Tue")
    form = await _press(api, tg, ann, form, "☐ Thu")
    await _press(api, tg, ann, form, "Cast this ballot")

    async with bot.services.db.transaction() as conn:
        ballots = [[b.choice for b in await store.counted(conn, poll_id)]
                   for poll_id in (1, 2, 3)]
    assert ballots == [[(4, 0)], [(1, 2, 0)], [(0, 2)]]
    clock.advance(timedelta(days=3, minutes=1))
    mark = api.mark()
    await bot.tick()
    closed = {ref: await api.wait_for("sendMessage", after=mark, where=lambda c, r=ref: (
        c.chat_id == group.id and c.text.startswith(f"{r} is closed")))
        for ref in ("P-1", "P-2", "P-3")}
    assert closed["P-1"].text.splitlines()[1:3] == ["Oak: mean 4.00 (4×1)",
                                                    "Lime: mean 0.00 (0×1)"]
    assert "Result: “Oak” won." in closed["P-1"].text
    assert closed["P-2"].text.splitlines()[1:4] == ["Swings: 1 dots", "Bench: 2 dots",
                                                    "Lamps: 0 dots"]
    assert closed["P-3"].text.splitlines()[1:4] == ["Tue: approved by 1", "Wed: approved by 0",
                                                    "Thu: approved by 1"]
    assert "Result: a tie; no option won." in closed["P-3"].text


async def test_someone_who_may_not_vote_is_told_before_the_form(bot, api, tg, clock):
    """A poll for the residents on the roster: someone who is not on it is told so when
    they press Vote (or open its link), not after filling in a whole ballot."""
    group, owner, stored = await _english_group(bot, api, tg)
    zed, new = tg.person("Zed", language_code="en"), tg.person("New", language_code="en")
    await introduce(bot, tg, group, zed, new)
    await _started(api, tg, zed)
    _p, post = await _publish(api, tg, group, owner, stored.id, "score", ["Oak", "Lime"],
                              question="Which tree?", settings=())
    mark = api.mark()
    await tg.press(zed, post, post.buttons[0]["callback_data"])
    told = await api.wait_for("answerCallbackQuery", after=mark)
    assert told.get("text") == ("This poll is for residents on the roster. Send /join to "
                                "me in private to join it.")
    assert told.get("show_alert") is True
    # Someone who never wrote to the bot is told at once too, instead of being sent to a
    # private chat; one who comes by the ballot's link is told there.
    mark = api.mark()
    await tg.press(new, post, post.buttons[0]["callback_data"])
    told = await api.wait_for("answerCallbackQuery", after=mark)
    assert told.get("url") is None and told.get("text", "").startswith("This poll is for")
    poll_id = int(post.buttons[0]["callback_data"].split(":")[1])
    link = DeepLink(action=private.LINK, community_id=poll_id).url("yishi_bot")
    mark = api.mark()
    await tg.say(new, new, "/start " + link.split("=", 1)[1])
    said = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == new.id)
    assert said.text == ("This poll is for residents on the roster. Send /join to me in "
                         "private to join it.")
    assert said.buttons == []
    assert not [c for c in api.sent(after=mark) if c.chat_id == zed.id]
