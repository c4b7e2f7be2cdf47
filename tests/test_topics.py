"""Topics end to end: propose (named and anonymous), similar-topic suggestion, approval,
supports, merge, rejection, the weekly roundup by the moved clock, selection, and the
refusals."""

from datetime import UTC, datetime

import pytest

from bot.domain.points import Action
from bot.domain.topics import TopicStatus
from bot.fakeapi.harness import poll_id_of
from handlers.polls import callbacks as poll_buttons
from handlers.topics import callbacks as topic_buttons
from handlers.topics.jobs import ask_when_ready
from storage import due_work
from storage import points as ledger
from storage import topics as store
from tests.conftest import make_settings
from tests.helpers import audit_log, group_with_bot, introduce


@pytest.fixture
def settings(api, db_path):
    return make_settings(api, db_path, topics={"post_refresh_seconds": 0})


async def _building(bot, api, tg):
    """A group, its owner (a moderator with a private chat) and three verified residents."""
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    mark = api.mark()
    await tg.say(owner, owner, "/start")
    await api.wait_for("sendMessage", after=mark)
    people = {name: tg.person(name, username=name.lower(), language_code=lang)
              for name, lang in (("Ann", "en"), ("Bob", "en"), ("Cui", "zh-hans"),
                                 ("Dan", "en"))}
    await introduce(bot, tg, group, *people.values())
    for n, person in enumerate(people.values(), start=1):
        mark = api.mark()
        await tg.say(owner, owner, f"/residents add 1-{n}01 @{person.username} owner")
        await api.wait_for("sendMessage", after=mark)
    for person in people.values():
        mark = api.mark()
        await tg.say(person, person, "/start")
        await api.wait_for("sendMessage", after=mark)
    return group, owner, stored, people


async def _propose(api, tg, who, *, title, anonymous=False, via_group=None, community=None,
                   reviewed=True):
    """Walk the proposal flow; returns the last answer to ``who`` and the moderator's copy
    of the new topic (None without waiting for it, if not ``reviewed``)."""
    to_who = lambda c: c.chat_id == who.id  # noqa: E731
    if via_group is not None:
        mark = api.mark()
        await tg.say(via_group, who, f"/topic {title}")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == via_group.id)
        mark = api.mark()
        await tg.say(who, who, f"/start topic_{community}")
    else:
        mark = api.mark()
        await tg.say(who, who, "/topic")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == who.id)
        mark = api.mark()
        await tg.say(who, who, title)
    step = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == who.id)
    if step.buttons and step.buttons[-1].get("callback_data") == "tn:go":
        mark = api.mark()
        await tg.press(who, step, topic_buttons.PROPOSE_ANYWAY.data())
        await api.wait_for("editMessageText", after=mark, where=to_who)
    mark = api.mark()
    await tg.say(who, who, "Cars park on the fire lane every night.")
    kinds = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == who.id)
    mark = api.mark()
    await tg.press(who, kinds, topic_buttons.CATEGORY.data("parking"))
    photo = await api.wait_for("editMessageText", after=mark, where=to_who)
    mark = api.mark()
    await tg.press(who, photo, topic_buttons.NO_PHOTO.data())
    last = await api.wait_for("editMessageText", after=mark, where=to_who)
    mark = api.mark()
    await tg.press(who, last, topic_buttons.ANONYMITY.data("anon" if anonymous else "name"))
    done = await api.wait_for("editMessageText", after=mark, where=to_who)
    if not reviewed:
        return done, None
    to_moderator = await api.wait_for("sendMessage", after=mark,
                                      where=lambda c: any(b.get("callback_data", "")
                                                          .startswith("tp:")
                                                          for b in c.buttons))
    return done, to_moderator


async def _topic(bot, topic_id):
    async with bot.services.db.transaction() as conn:
        return await store.get(conn, topic_id), await store.supports(conn, topic_id)


def _topic_id(call):
    return int(call.buttons[0]["callback_data"].split(":")[1])


async def test_a_topic_from_proposal_to_selection(bot, api, tg, clock):
    group, owner, stored, people = await _building(bot, api, tg)
    ann, bob, cui, dan = people.values()

    done, review = await _propose(api, tg, ann, title="Night parking on the fire lane",
                                  via_group=group, community=stored.id)
    assert done.text.startswith("Thank you! T-1 “Night parking on the fire lane” went to")
    assert review.chat_id == owner.id
    assert "Proposed by Ann" in review.text
    topic_id = _topic_id(review)

    # Approval posts it in the group (in the group's language) with a Support button.
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert post.text.startswith("T-1 · Night parking on the fire lane")
    assert post.buttons == [{"text": "👍 支持（0）", "callback_data": f"sp:{topic_id}"}]
    told = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert "was approved and posted in the group" in told.text
    closed = await api.wait_for("editMessageText", after=mark,
                                where=lambda c: c.chat_id == owner.id)
    assert closed.text.endswith("✅ Approved by Owner") and closed.buttons == []

    # Supports: one each, a second press withdraws, the post follows the count.
    for who, expected in ((bob, "You support T-1. Supporters: 1."),
                          (cui, "你支持了 T-1。支持人数：2。"),
                          (bob, "You withdrew your support for T-1. Supporters: 1."),
                          (dan, "You support T-1. Supporters: 2.")):
        mark = api.mark()
        await tg.press(who, post, topic_buttons.SUPPORT.data(topic_id))
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert answer.get("text") == expected
        await api.wait_for("editMessageText", after=mark,
                           where=lambda c: c.chat_id == group.id)
    assert api.messages[(group.id, post.result["message_id"])]["reply_markup"][
        "inline_keyboard"][0][0]["text"] == "👍 支持（2）"
    async with bot.services.db.transaction() as conn:
        assert await ledger.earned(conn, stored.id, cui.id,
                                   action=Action.TOPIC_SUPPORTED.value) == 1
        # Bob supported, withdrew and would support again: the act earned once.
        assert await ledger.earned(conn, stored.id, bob.id) == 1

    # The weekly roundup: Monday 09:00 in Shanghai, posted once, even across a restart.
    clock.set(datetime(2026, 11, 30, 0, 59, tzinfo=UTC))
    assert await bot.tick() == 0
    clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1
    roundup = await api.wait_for("sendMessage", after=mark,
                                 where=lambda c: c.chat_id == group.id)
    assert roundup.text.splitlines()[:2] == ["本周议题",
                                             "1. T-1“Night parking on the fire lane”——2 人支持"]
    choice = await api.wait_for("sendMessage", after=mark,
                                where=lambda c: c.chat_id == owner.id)
    assert [b["text"] for b in choice.buttons] == ["Put to a vote", "Discuss at a meeting",
                                                   "Close", "Urgent on/off"]
    assert await bot.tick() == 0
    await bot.restart()
    assert await bot.tick() == 0
    assert len([c for c in api.sent(chat_id=group.id, after=mark) if "本周议题" in c.text]) == 1

    # Selection: put to a vote. The moderator gets the poll ready with the question filled
    # in; the topic moves only when the poll is published.
    mark = api.mark()
    await tg.press(owner, choice, topic_buttons.SELECT.data(topic_id, "vote"))
    offer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    assert offer.text == "Prepare the poll for T-1 now; the question is filled in."
    assert (await _topic(bot, topic_id))[0].status is TopicStatus.OPEN
    post_id, controls = await _publish_topic_poll(api, tg, group, owner, stored.id)
    # Author and supporters hear where to vote, the author earns points.
    for person, text in ((ann, "T-1 “Night parking on the fire lane” is put to a vote: P-1 "
                               "in Elm House, open until"),
                         (cui, "T-1“Night parking on the fire lane”付诸投票：Elm House 的 "
                               "P-1，截止"),
                         (dan, "is put to a vote: P-1")):
        note = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c, p=person: c.chat_id == p.id)
        assert text in note.text
    assert not [c for c in api.sent(chat_id=bob.id, after=mark)]  # withdrew: not told
    topic, supports = await _topic(bot, topic_id)
    assert topic.status is TopicStatus.SELECTED_VOTE and supports == 2
    async with bot.services.db.transaction() as conn:
        assert await ledger.earned(conn, stored.id, ann.id) == 20
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == group.id)
    final_post = api.messages[(group.id, post.result["message_id"])]
    assert "reply_markup" not in final_post and "状态：待投票" in final_post["text"]

    # The poll is cancelled: the topic is back on the list, and its people are told.
    mark = api.mark()
    await tg.press(owner, controls, poll_buttons.MANAGE.data(post_id, "cancel"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    mark = api.mark()
    await tg.say(owner, owner, "We will ask again after the survey.")
    note = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert note.text == ("The vote P-1 on T-1 “Night parking on the fire lane” was cancelled. "
                         "The topic is back on the list of open topics, where it can still be "
                         "supported.")
    assert (await _topic(bot, topic_id))[0].status is TopicStatus.OPEN
    await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == group.id
                       and c.params.get("message_id") == post.result["message_id"])
    reopened = api.messages[(group.id, post.result["message_id"])]
    assert reopened["reply_markup"]["inline_keyboard"][0][0]["text"] == "👍 支持（2）"

    # Next week's roundup is armed, and lists T-1 again.
    clock.set(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
    mark = api.mark()
    await bot.tick()
    again = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                               and "本周议题" in c.text)
    assert "1. T-1“Night parking on the fire lane”——2 人支持" in again.text


async def _publish_topic_poll(api, tg, group, owner, community_id):
    """The moderator opens the poll flow from the offer and publishes it as it comes."""
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(owner, owner, f"/start poll_{community_id}")
    options = await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.press(owner, options, poll_buttons.YES_NO_ABSTAIN.data())
    await api.wait_for("editMessageText", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "3d")
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert "Night parking on the fire lane" in preview.text
    mark = api.mark()
    await tg.press(owner, preview, poll_buttons.PUBLISH.data())
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                              and "Night parking" in (c.text or ""))
    controls = await api.wait_for("editMessageText", after=mark, where=to_owner)
    return poll_id_of(post), controls


async def test_anonymous_topics_name_nobody_and_a_similar_one_is_suggested_and_merged(
        bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg)
    ann, bob, cui, dan = people.values()
    _, review = await _propose(api, tg, ann, title="Night parking on the fire lane")
    first = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(first, "ok"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)

    # Dan's title is close to T-1: the bot suggests supporting it instead.
    to_dan = lambda c: c.chat_id == dan.id  # noqa: E731
    mark = api.mark()
    await tg.say(dan, dan, "/topic")
    await api.wait_for("sendMessage", after=mark, where=to_dan)
    mark = api.mark()
    await tg.say(dan, dan, "parking at night on the fire lane")
    suggestion = await api.wait_for("sendMessage", after=mark, where=to_dan)
    assert "T-1 “Night parking on the fire lane” — 0 supporters" in suggestion.text
    assert suggestion.buttons[0] == {"text": "Support T-1 instead",
                                     "callback_data": f"tn:s:{first}"}
    mark = api.mark()
    await tg.press(dan, suggestion, topic_buttons.PROPOSE_ANYWAY.data())
    await api.wait_for("editMessageText", after=mark)
    mark = api.mark()
    await tg.say(dan, dan, "Every night, cars on the fire lane.")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_dan)
    for data in ("tn:c:parking", "tn:p:skip", "tn:a:anon"):
        mark = api.mark()
        await tg.press(dan, kinds, data)
        kinds = await api.wait_for("editMessageText", after=mark)
    assert "It is anonymous: I keep no link between you and it" in kinds.text
    review = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    second = _topic_id(review)
    assert "Proposed anonymously" in review.text and "Dan" not in review.text
    topic, _n = await _topic(bot, second)
    assert topic.author_id is None and topic.anonymous

    # Merge it into T-1.
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(second, "mg"))
    choices = await api.wait_for("sendMessage", after=mark)
    assert choices.buttons[0]["callback_data"] == f"tm:{second}:{first}"
    mark = api.mark()
    await tg.press(owner, choices, topic_buttons.MERGE_INTO.data(second, first))
    await api.wait_for("editMessageText", after=mark)
    merged, _n = await _topic(bot, second)
    assert merged.status is TopicStatus.MERGED and merged.merged_into == first

    # Nobody anywhere was told who proposed T-2, and /topics names nobody.
    mark = api.mark()
    await tg.say(group, bob, "/topics")
    listing = await api.wait_for("sendMessage", after=mark)
    assert "T-1" in listing.text and "T-2" not in listing.text
    for call in api.calls:
        if call.chat_id != dan.id and call.text and "T-2" in call.text:
            assert "Dan" not in call.text and "@dan" not in call.text
    entries = await audit_log(bot, stored.id)
    assert all(e.details.get("author") is None for e in entries)


async def test_rejection_asks_a_reason_and_tells_the_author(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg)
    ann = people["Ann"]
    _, review = await _propose(api, tg, ann, title="Paint the lobby pink")
    topic_id = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "no"))
    ask = await api.wait_for("sendMessage", after=mark)
    assert ask.text.startswith("Why? Reply with the reason for T-1")
    mark = api.mark()
    await tg.say(owner, owner, "The owners' assembly decided the colours last year.")
    note = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert note.text == ("Your topic T-1 “Paint the lobby pink” was not accepted. Reason: "
                         "The owners' assembly decided the colours last year.")
    topic, _n = await _topic(bot, topic_id)
    assert topic.status is TopicStatus.REJECTED
    assert (await audit_log(bot, stored.id))[0].action == "topic.reject"


async def test_residents_cannot_moderate_and_forged_buttons_change_nothing(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg)
    ann, bob = people["Ann"], people["Bob"]
    _, review = await _propose(api, tg, ann, title="More bike racks")
    topic_id = _topic_id(review)
    for data in (f"tp:{topic_id}:ok", f"tp:{topic_id}:no", f"tp:{topic_id}:mg",
                 f"ts:{topic_id}:vote"):
        mark = api.mark()
        await tg.press(bob, review, data)
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert answer.get("text") == ("Sorry, only the group's moderators can do that. "
                                      "Nothing was changed.")
    for data in ("tp:99999:ok", "tp:x:ok", f"sp:{topic_id}", "sp:99999", "tm:1:99999"):
        mark = api.mark()
        await tg.press(owner, review, data)
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert answer.get("text").startswith("This button is out of date."), data
        assert answer.get("show_alert") is True, data
    # Selecting a topic that was never approved is refused too.
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.SELECT.data(topic_id, "vote"))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text") == "T-1 is already waiting for moderators."
    topic, supports = await _topic(bot, topic_id)
    assert topic.status is TopicStatus.PENDING and supports == 0
    assert [e.action for e in await audit_log(bot, stored.id)][0].startswith("roster.")


async def test_unverified_people_cannot_support_and_the_weekly_limit_holds(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg)
    ann = people["Ann"]
    _, review = await _propose(api, tg, ann, title="Fix the gate")
    topic_id = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    visitor = tg.person("Visitor", language_code="en")
    await introduce(bot, tg, group, visitor)
    mark = api.mark()
    await tg.press(visitor, post, topic_buttons.SUPPORT.data(topic_id))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text").startswith("Only residents on the roster can support topics.")
    for title in ("Second topic", "Third topic"):
        await _propose(api, tg, ann, title=title)
    mark = api.mark()
    await tg.say(ann, ann, "/topic")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("You have proposed 3 topics this week")


async def test_the_roundup_waits_for_the_end_of_quiet_hours(api, tg, db_path, clock):
    from tests.conftest import RunningBot

    settings = make_settings(api, db_path, topics={"post_refresh_seconds": 0,
                                                   "roundup_time": "23:00"})
    bot = RunningBot(api, settings, clock)
    await bot.start()
    try:
        group, owner, stored, people = await _building(bot, api, tg)
        _, review = await _propose(api, tg, people["Ann"], title="Quiet please")
        mark = api.mark()
        await tg.press(owner, review, topic_buttons.MODERATE.data(_topic_id(review), "ok"))
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
        clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # Monday 23:00 in Shanghai
        assert await bot.tick() == 0
        clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # Tuesday 07:30
        mark = api.mark()
        assert await bot.tick() == 1
        roundup = await api.wait_for("sendMessage", after=mark,
                                     where=lambda c: c.chat_id == group.id)
        assert roundup.text.startswith("本周议题")
    finally:
        await bot.stop()
    assert api.violations == []


async def test_support_edits_are_spaced_out(api, tg, db_path, clock):
    from tests.conftest import RunningBot

    settings = make_settings(api, db_path, topics={"post_refresh_seconds": 60})
    bot = RunningBot(api, settings, clock)
    await bot.start()
    try:
        group, owner, stored, people = await _building(bot, api, tg)
        _, review = await _propose(api, tg, people["Ann"], title="Spaced edits")
        topic_id = _topic_id(review)
        mark = api.mark()
        await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
        post = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == group.id)
        mark = api.mark()
        for who in (people["Bob"], people["Cui"], people["Dan"]):
            await tg.press(who, post, topic_buttons.SUPPORT.data(topic_id))
            await api.wait_for("answerCallbackQuery", after=api.mark() - 1)
        await api.wait_for("editMessageText", after=mark, where=lambda c: c.chat_id == group.id)
        # The first press edited the post; the next two wait for one later edit.
        edits = [c for c in api.sent("editMessageText", after=mark) if c.chat_id == group.id]
        assert len(edits) == 1
        assert bot.app.job_queue.get_jobs_by_name(f"topic-post:{topic_id}")
    finally:
        await bot.stop()
    assert api.violations == []


async def test_a_topic_with_a_photo_is_discussed_at_a_meeting_and_another_closed(bot, api,
                                                                               tg, clock):
    group, owner, stored, people = await _building(bot, api, tg)
    ann, bob = people["Ann"], people["Bob"]
    to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
    # Ann proposes with a photo.
    mark = api.mark()
    await tg.say(ann, ann, "/topic Broken bench by the pond")
    await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.say(ann, ann, "The slats are split; children get splinters.")
    kinds = await api.wait_for("sendMessage", after=mark, where=to_ann)
    mark = api.mark()
    await tg.press(ann, kinds, topic_buttons.CATEGORY.data("facilities"))
    await api.wait_for("editMessageText", after=mark)
    mark = api.mark()
    await tg.send_photo(ann, ann)
    last = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert last.text == "Last step: should neighbours see that the topic is yours?"
    mark = api.mark()
    await tg.press(ann, last, topic_buttons.ANONYMITY.data("name"))
    review = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id)
    bench = _topic_id(review)
    # The moderator sees the photo that approval would post, just above the card.
    seen = await api.wait_for("sendPhoto", after=mark, where=lambda c: c.chat_id == owner.id)
    assert seen.params["photo"] == (await _topic(bot, bench))[0].photo_file_id
    assert api.calls.index(seen) < api.calls.index(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(bench, "ok"))
    post = await api.wait_for("sendPhoto", after=mark)
    assert post.result["caption"].startswith("T-1 · Broken bench by the pond")
    mark = api.mark()
    await tg.press(bob, post, topic_buttons.SUPPORT.data(bench))
    edited = await api.wait_for("editMessageCaption", after=mark)
    assert "支持人数：1" in edited.result["caption"]

    _, review = await _propose(api, tg, bob, title="Move the recycling bins")
    bins = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(bins, "ok"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)

    clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1
    offers = []
    for _ in range(2):
        offers.append(await api.wait_for(
            "sendMessage", after=mark,
            where=lambda c: c.chat_id == owner.id and c not in offers and c.buttons))
    by_topic = {int(o.buttons[0]["callback_data"].split(":")[1]): o for o in offers}

    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    # The bench goes to the meeting on a date the moderator types.
    mark = api.mark()
    await tg.press(owner, by_topic[bench], topic_buttons.SELECT.data(bench, "meet"))
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    # Words the bot cannot read as a time are answered as such, with examples from today
    # (Monday 30 November); the moderator then writes it as people say it.
    mark = api.mark()
    await tg.say(owner, owner, "whenever suits")
    again = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert again.text == ("I could not read that as a time. Type it like this: e.g. 3d, "
                          "tomorrow 8pm, next friday, 7/12 or 2026-12-07 19:30.")
    mark = api.mark()
    await tg.say(owner, owner, "周二晚上7点半")
    note = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert note.text == ("T-1 “Broken bench by the pond” will be discussed at the meeting on "
                         "2026-12-01 19:30.")
    topic, _n = await _topic(bot, bench)
    assert topic.status is TopicStatus.SELECTED_MEETING
    assert topic.meeting_at == datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    # The moderator can call the round-table meeting for it: topic and time filled in.
    done = next(c for c in api.sent(after=mark) if c.chat_id == owner.id
                and c.text.startswith("Done: T-1"))
    assert [b["text"] for b in done.buttons] == ["Call a round-table meeting for it"]
    mark = api.mark()
    await tg.say(owner, owner, "/start " + done.buttons[0]["url"].split("=", 1)[1])
    where = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert where.text == ("A round-table meeting for T-1 Broken bench by the pond, 2026-12-01 "
                          "19:30. Where? A place or a call link. /cancel to stop.")
    mark = api.mark()
    await tg.say(owner, owner, "By the pond")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "12")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "/skip")
    called = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert called.text.splitlines()[:6] == [
        "🪑 M-1 · 圆桌会议 · Broken bench by the pond", "时间：2026-12-01 19:30",
        "地点：By the pond", "议程：", "1. T-1 Broken bench by the pond", "名额：已报 0/12"]

    # The bins are closed with a reason everyone involved reads.
    mark = api.mark()
    await tg.press(owner, by_topic[bins], topic_buttons.SELECT.data(bins, "close"))
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, "The district collects from the present spot only.")
    note = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == bob.id)
    assert note.text == ("T-2 “Move the recycling bins” was closed by the moderators. "
                         "Reason: The district collects from the present spot only.")
    topic, _n = await _topic(bot, bins)
    assert topic.status is TopicStatus.CLOSED

    # Two hours after the meeting the moderators are asked what came of it; back on the
    # list, the bench can be supported again and its people hear so.
    # The round table's reminders (nobody signed up) and its organiser's card run first.
    clock.set(datetime(2026, 12, 1, 11, 31, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 3
    card = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert card.text.startswith("M-1 “Broken bench by the pond” has begun.")
    clock.set(datetime(2026, 12, 1, 13, 29, tzinfo=UTC))
    assert await bot.tick() == 0
    clock.set(datetime(2026, 12, 1, 13, 30, tzinfo=UTC))
    mark = api.mark()
    assert await bot.tick() == 1
    after = await api.wait_for("sendMessage", after=mark, where=to_owner)
    assert after.text.startswith("After the meeting on 2026-12-01 19:30: what came of this "
                                 "topic?")
    assert [b["text"] for b in after.buttons] == ["Agreed at the meeting", "Put to a vote",
                                                  "Back to the list", "Close"]
    mark = api.mark()
    await tg.press(owner, after, topic_buttons.SELECT.data(bench, "back"))
    done = await api.wait_for("editMessageText", after=mark, where=to_owner)
    assert done.text == "T-1 “Broken bench by the pond”: back on the list (Owner)."
    note = await api.wait_for("sendMessage", after=mark, where=to_ann)
    assert note.text == ("T-1 “Broken bench by the pond” was discussed at the meeting and is "
                         "back on the list of open topics, where it can still be supported.")
    topic, _n = await _topic(bot, bench)
    assert topic.status is TopicStatus.OPEN
    # The same card pressed again changes nothing.
    mark = api.mark()
    await tg.press(owner, after, topic_buttons.SELECT.data(bench, "agreed"))
    stale = await api.wait_for("answerCallbackQuery", after=mark)
    assert stale.get("text") == "T-1 is already open."
    assert (await _topic(bot, bench))[0].status is TopicStatus.OPEN


async def test_a_chinese_rewording_finds_the_open_topic(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg)
    ann, cui = people["Ann"], people["Cui"]
    _, review = await _propose(api, tg, ann, title="快递柜不够用")
    first = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(first, "ok"))
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    to_cui = lambda c: c.chat_id == cui.id  # noqa: E731
    mark = api.mark()
    await tg.say(cui, cui, "/topic")
    await api.wait_for("sendMessage", after=mark, where=to_cui)
    mark = api.mark()
    await tg.say(cui, cui, "楼下快递柜太少")
    suggestion = await api.wait_for("sendMessage", after=mark, where=to_cui)
    assert "T-1“快递柜不够用”" in suggestion.text
    assert suggestion.buttons[0]["callback_data"] == f"tn:s:{first}"


async def test_a_topic_that_reaches_the_support_threshold_goes_to_the_moderators(bot, api, tg,
                                                                                clock):
    """With /settings threshold 2, the second supporter sends the topic to the moderators
    at once (at the next tick, not at the weekly roundup), once, whoever withdraws and
    supports again. Off by default; a bad number is refused and changes nothing."""
    group, owner, stored, people = await _building(bot, api, tg)
    ann, bob, cui, dan = people.values()
    refused = await _settings(api, tg, group, owner, "/settings threshold many")
    assert refused.text == "支持门槛是 1 到 1000 之间的支持人数，或者 off（关闭）。"
    panel = await _settings(api, tg, group, owner, "/settings threshold 2")
    assert "支持门槛（达到后议题立即交给管理员）：2 人支持" in panel.text.splitlines()
    _done, review = await _propose(api, tg, ann, title="Night parking on the fire lane",
                                   via_group=group, community=stored.id)
    topic_id = _topic_id(review)
    mark = api.mark()
    await tg.press(owner, review, topic_buttons.MODERATE.data(topic_id, "ok"))
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    for who, ticked in ((bob, 0), (cui, 1), (cui, 0), (dan, 0)):
        mark = api.mark()
        await tg.press(who, post, topic_buttons.SUPPORT.data(topic_id))
        await api.wait_for("answerCallbackQuery", after=mark)
        await bot.settled()
        async with bot.services.db.transaction() as conn:
            ready = await due_work.pending(conn, kind="topic_ready", key=str(topic_id))
        assert await bot.tick() == ticked, who.first_name
        if ticked:
            # Handled again, as after a crash before the scheduler noted it: asked once.
            await ask_when_ready(bot.app, ready)
            await bot.settled()
            card = await api.wait_for("sendMessage", after=mark, where=to_owner)
            assert card.text.splitlines()[0] == (
                "Ready for a decision: T-1 has 2 supporters, the number this group set "
                "(/settings threshold). What should happen with it?")
            assert [b["text"] for b in card.buttons] == [
                "Put to a vote", "Discuss at a meeting", "Close", "Urgent on/off"]
    # Cui withdrew and Dan brought it back to 2: no second card.
    assert len([c for c in api.sent(chat_id=owner.id)
                if c.text.startswith("Ready for a decision")]) == 1
    # Off again: a topic's supporters send nothing until the roundup.
    panel = await _settings(api, tg, group, owner, "/settings threshold off")
    assert "支持门槛（达到后议题立即交给管理员）：关闭" in panel.text.splitlines()


async def _settings(api, tg, group, owner, text):
    mark = api.mark()
    await tg.say(group, owner, text)
    return await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
