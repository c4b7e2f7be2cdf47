"""The bot keeps working when Telegram answers 429, 5xx, or not at all."""

import logging

import pytest

from bot.fakeapi.server import Fault
from tests.helpers import eventually


async def test_a_flood_wait_is_honoured_and_the_message_still_arrives(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    api.faults.append(Fault("sendMessage", "429", retry_after=1))
    mark = api.mark()
    await tg.say(tom, tom, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("Commands in our private chat:")
    refused = [c for c in api.calls[mark:] if c.method == "sendMessage" and c.error]
    assert len(refused) == 1 and "Too Many Requests" in refused[0].error


async def test_a_server_error_is_logged_and_the_bot_carries_on(bot, api, tg, caplog):
    tom = tg.person("Tom", language_code="en")
    api.faults.append(Fault("sendMessage", "500"))
    mark = api.mark()
    with caplog.at_level(logging.WARNING):
        await tg.say(tom, tom, "/help")
        failed = await _failed_call(api, "sendMessage", mark)
        assert failed.error == "Internal Server Error"
        mark = api.mark()
        await tg.say(tom, tom, "/help")
        reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("Commands in our private chat:")
    assert api.token not in caplog.text


async def test_polling_survives_errors_and_timeouts_from_get_updates(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    api.faults += [Fault("getUpdates", "500"), Fault("getUpdates", "429", retry_after=1),
                   Fault("getUpdates", "timeout", delay=7.5)]
    # The long poll already waiting ends empty; the next ones meet the faults.
    api.release_long_polls()

    async def first_fault_met() -> bool:
        return api.faults[0].times == 0

    await eventually(first_fault_met, timeout=10)
    mark = api.mark()
    await tg.say(tom, tom, "/start")
    reply = await api.wait_for("sendMessage", after=mark, timeout=30)
    assert reply.text.startswith("Hello, Tom!")
    assert all(f.times == 0 for f in api.faults)


@pytest.mark.expect_handler_errors
async def test_a_handler_crash_gets_an_apology_and_changes_nothing(bot, api, tg, monkeypatch):
    import handlers.start

    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(handlers.start, "moderated_by", broken)
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/help")
    reply = await api.wait_for("sendMessage", after=mark)
    assert reply.text.startswith("Sorry, something went wrong on my side")


async def _failed_call(api, method, after):
    import asyncio

    for _ in range(250):
        failed = [c for c in api.calls[after:] if c.method == method and c.error]
        if failed:
            return failed[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no failed {method}")
