"""Bad input, generated: thousands of updates a real client could send (or a newer one, or
a forger) — long, empty, emoji, right-to-left and zero-width texts, every command with
random arguments, random and forged button data, edits, channel posts, stickers, unknown
update kinds, chats the bot does not know — go to the running bot over the fake Bot API.
Nothing may raise, nothing may break the Bot API's rules (the bot fixture checks every
call), and nothing a resident may not do may change: roles, settings, the audit log, and
the polls, reports, decisions and announcements a moderator or handler manages."""

import logging
from datetime import UTC, datetime
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import COMMANDS
from bot.fakeapi.server import BOT_ID
from tests.helpers import group_with_bot, introduce
from tests.test_authorization import _seed, _snapshot

PREFIXES = ["set", "tp", "ts", "tm", "tn", "sp", "pc", "pm", "pp", "v", "jr", "jn", "rp",
            "rh", "ra", "rm", "rf", "rr", "rk", "an", "ac", "dn", "dp", "df", "dr", "dm", "me",
            "fm", "rs", "lang", "x"]
ODD = ["", " ", "\u200b", "\u200f", "\u202e", "👍🏽", "🏠" * 50, "ثلاثة", "R-0001", "D-1",
       "P-1", "T-1", "@ann", "3-2-501", "2026-12-01 19:30", "<b>bold</b>", "&amp;", "\n\n",
       "-1", "999999999999", "１２３"]

texts = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4000, max_size=10_000),
    st.lists(st.sampled_from(ODD), max_size=6).map(" ".join),
)
commands = st.builds(
    lambda name, args, at: f"/{name}{'@yishi_bot' if at else ''} {args}".rstrip(),
    st.sampled_from([c.name for c in COMMANDS] + ["nonsense", "start report_99",
                                                  "start group_abc"]),
    texts.map(lambda t: t[:200]), st.booleans())
callback_data = st.one_of(
    st.text(min_size=1, max_size=64).filter(lambda d: len(d.encode()) <= 64),
    st.builds(lambda p, parts: ":".join([p, *parts]), st.sampled_from(PREFIXES),
              st.lists(st.one_of(st.integers(-5, 10**6).map(str),
                                 st.sampled_from(["ok", "no", "go", "yes", "pass", "del",
                                                  "close", "lang", "en", "zh", "c", "g"])),
                       max_size=3)),
)
# (kind, actor index, in the group?, payload)
update = st.tuples(
    st.sampled_from(["text", "text", "command", "command", "button", "button", "edit",
                     "channel", "sticker", "unknown", "stranger"]),
    st.integers(0, 2), st.booleans(), st.one_of(texts, commands, callback_data))

_numbers = count(1)


class Scene:
    """The building the fuzz runs in, made once per test and shared by every example."""

    def __init__(self) -> None:
        self.ready = False


scene = Scene()


async def _build(bot, api, tg, clock):
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House",
                                                owner_language="en")
    people = [tg.person(name, username=name.lower(), language_code=lang)
              for name, lang in (("Ann", "en"), ("Lee", "zh-hans"), ("Rtl", "ar"))]
    await introduce(bot, tg, group, *people)
    mark = api.mark()
    await tg.say(group, owner, "/role @lee handler lift")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    await _seed(bot, stored.id, people[0].id, clock.now())
    starts = {}
    for person in people:
        mark = api.mark()
        await tg.say(person, person, "/start")
        starts[person.id] = await api.wait_for("sendMessage", after=mark,
                                               where=lambda c, p=person: c.chat_id == p.id)
    scene.__dict__.update(group=group, people=people, starts=starts, ready=True,
                          before=await _snapshot(bot), sentinel=tg.person("Sentinel"),
                          greeting=api.sent(chat_id=group.id)[0])


async def _send(api, tg, kind, actor, in_group, payload):
    person = scene.people[actor]
    where = scene.group if in_group else person
    text = payload if isinstance(payload, str) else str(payload)
    if kind == "text":
        await tg.say(where, person, text or ".")
    elif kind == "command":
        await tg.say(where, person, text if text.startswith("/") else "/" + (text or "x"))
    elif kind == "button":
        message = scene.greeting if in_group else scene.starts[person.id]
        await tg.press(person, message, text[:64].encode()[:64].decode(errors="ignore") or "x")
    elif kind == "edit":
        sent = await tg.say(where, person, "first")
        await api.push(edited_message={**sent, "text": text or ".", "edit_date": sent["date"]})
    elif kind == "channel":
        chat = {"id": -1_009_000_000_000 - next(_numbers), "type": "channel", "title": "News"}
        api.chats[chat["id"]] = chat
        await api.push(channel_post={"message_id": 1, "date": 0, "chat": chat,
                                     "text": text or "."})
    elif kind == "sticker":
        chat = tg._chat(where, person)
        await tg._push_message(chat, person.as_user(), sticker={
            "file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False})
    elif kind == "unknown":
        await api.push_unknown("future_thing", {"text": text})
    else:  # a group the bot was never added to
        stranger = tg.group("Elsewhere")
        tg.set_status(stranger, person, "member")
        api.members[(stranger.id, BOT_ID)] = "member"
        await tg.say(stranger, person, text or "/help")


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(update, min_size=5, max_size=25))
async def test_generated_updates_raise_nothing_and_change_nothing_privileged(
        bot, api, tg, clock, caplog, batch):
    if not scene.ready:
        await _build(bot, api, tg, clock)
    with caplog.at_level(logging.ERROR):
        for kind, actor, in_group, payload in batch:
            await _send(api, tg, kind, actor, in_group, payload)
        # Updates are fetched in order: once the sentinel's answer is back, all were
        # fetched; then wait for the ones still in hand.
        mark = api.mark()
        await tg.say(scene.sentinel, scene.sentinel, "/help")
        await api.wait_for("sendMessage", after=mark,
                           where=lambda c: c.chat_id == scene.sentinel.id, timeout=60)
        await bot.settled()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    after = await _snapshot(bot)
    # A group the bot is in but missed joining becomes a community of its own (by design);
    # the building's own rows must not change.
    ours = {row[0] for row in scene.before["communities"]}
    for table in ("communities", "memberships"):
        kept = [row for row in after[table] if row[0] in ours]
        assert kept == scene.before[table], table
    for table in ("audit_log", "polls", "reports", "decisions", "decision_milestones",
                  "announcements", "units", "residents"):
        assert after[table] == scene.before[table], table
