"""Button data: one registry, typed parsers, and nothing that does not parse reaches a
handler (it is answered "this button is out of date")."""

import pytest

from bot import buttons
from bot.buttons import ID_MAX, Choice, Id, Index, Registry, Word
from handlers.polls import callbacks as poll_buttons
from handlers.reports import callbacks as report_buttons
from handlers.residents import callbacks as resident_buttons
from tests.test_polls import ROWS, _building, _create, _poll, _poll_id


def test_a_prefix_declared_twice_fails_at_import():
    registry = Registry()
    registry.declare("zz", Id)
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare("zz", Id, Id)


def test_every_feature_declares_its_buttons_once():
    # The features declare their buttons as they are imported (as register_all does).
    import handlers.announcements
    import handlers.decisions
    import handlers.lang
    import handlers.me
    import handlers.residents
    import handlers.settings
    import handlers.topics  # noqa: F401
    prefixes = buttons.BUTTONS.prefixes()
    assert len(prefixes) == len(set(prefixes))
    assert {"v", "pm", "rh", "rm", "sp", "df", "jr", "an", "set", "lang"} <= set(prefixes)


@pytest.mark.parametrize("data", [
    "zz:1",                    # an unknown prefix
    "v:1",                     # too few fields
    "v:1:0:0",                 # too many
    f"v:{ID_MAX + 1}:0",       # an id the database cannot hold
    "v:１:0",                  # full-width digits
    "v:١:0",                   # Arabic-Indic digits
    "v:01:0",                  # leading zeros: not the data the bot made
    "v:-1:0",
    "v:1:10",                  # past the last option a poll can have
    "pm:1:open",               # not one of the button's words
    "rh:1:ack:",
    "",
    "v:1:0" + " " * 64,        # over Telegram's 64 bytes
])
def test_data_that_does_not_parse_is_none(data):
    assert buttons.parse(data) is None
    assert poll_buttons.VOTE.parse(data) is None


def test_data_round_trips_and_the_longest_prefix_wins():
    assert poll_buttons.VOTE.parse(poll_buttons.VOTE.data(42, 3)) == (42, 3)
    assert poll_buttons.VOTE.data(ID_MAX, 9) == f"v:{ID_MAX}:9"
    assert buttons.parse("jr:l:3:4") == (resident_buttons.LINK, (3, 4))
    assert buttons.parse("jr:3:ok") == (resident_buttons.DECIDE, (3, "ok"))
    assert buttons.parse("pp:2") == (poll_buttons.PROXY_OPTION, (2,))
    assert report_buttons.HANDLE.parse("rh:7:ack") == (7, "ack")
    assert report_buttons.HANDLE.matching(None, "ack")("rh:7:ack")
    assert not report_buttons.HANDLE.matching(None, "ack")("rh:7:start")


@pytest.mark.parametrize("make", [
    lambda: poll_buttons.VOTE.data(1),             # wrong arity
    lambda: poll_buttons.VOTE.data(-1, 0),         # not an id
    lambda: poll_buttons.VOTE.data(1, 10),         # past the last option
    lambda: poll_buttons.MANAGE.data(1, "open"),   # not one of its words
    lambda: Index(3).format(True),
    lambda: Word.format("Not A Word"),
    lambda: Choice("ok", "Bad Word"),
])
def test_building_bad_data_is_a_bug_found_at_once(make):
    with pytest.raises(ValueError):
        make()


async def test_forged_buttons_are_refused_before_any_handler_and_change_nothing(bot, api, tg):
    group, owner, stored, people = await _building(bot, api, tg, ROWS)
    post, _c, _p = await _create(api, tg, group, owner, stored.id)
    poll_id = _poll_id(post)
    for data in (f"v:{ID_MAX + 1}:0", f"v:{poll_id}:０", "zz:1", f"pm:{poll_id}:open",
                 f"v:0{poll_id}:0"):
        mark = api.mark()
        await tg.press(people["Ann"], post, data)
        answer = await api.wait_for("answerCallbackQuery", after=mark)
        assert (answer.get("text"), answer.get("show_alert")) == (
            "This button is out of date.", True), data
    await bot.settled()
    _poll_row, counted = await _poll(bot, poll_id)
    assert counted == []
    # A real press still counts.
    mark = api.mark()
    await tg.press(people["Ann"], post, poll_buttons.VOTE.data(poll_id, 0))
    answer = await api.wait_for("answerCallbackQuery", after=mark)
    assert answer.get("text").startswith("Recorded for P-1: Yes\nReceipt: ")
