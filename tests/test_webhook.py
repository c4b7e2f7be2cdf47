"""Updates by webhook ([telegram] webhook_url): Telegram (the fake, posting as Telegram
posts) sends each update to the bot's own HTTP endpoint with the secret token; the bot
writes it to the inbox before answering 200, so nothing acknowledged is lost, and one
posted twice is handled once. The same endpoint serves /healthz and /metrics."""

import asyncio
import socket

import pytest
from aiohttp import ClientSession

import handlers.start
import storage.health
import storage.inbox
from bot.fakeapi.harness import make_settings

SECRET = "s3cret_token-for-tests"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def settings(api, db_path):
    port = _free_port()
    return make_settings(api, db_path,
                         telegram={"webhook_url": f"http://127.0.0.1:{port}/telegram",
                                   "webhook_secret": SECRET},
                         web={"port": port})


def _url(bot, path: str) -> str:
    return f"http://127.0.0.1:{bot.settings.web.port}{path}"


async def test_updates_come_by_webhook_and_are_answered(bot, api, tg):
    assert api.webhook == {"url": bot.settings.telegram.webhook_url, "secret_token": SECRET,
                           "max_connections": 1, "allowed_updates": api.webhook["allowed_updates"]}
    assert {"message", "callback_query", "my_chat_member", "chat_member"} <= set(
        api.webhook["allowed_updates"])
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/start")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == tom.id)
    assert reply.text.startswith("Hello, Tom!")
    assert [status for _update, status in api.webhook_posts] == [200]
    assert not [c for c in api.calls if c.method == "getUpdates"]  # never polled


async def test_a_post_without_the_secret_or_not_an_update_is_refused(bot, api, tg):
    tom = tg.person("Tom", language_code="en")
    await tg.say(tom, tom, "/start")
    await api.wait_for("sendMessage", where=lambda c: c.chat_id == tom.id)
    update, _status = api.webhook_posts[-1]
    forged = {**update, "update_id": update["update_id"] + 1}
    mark = api.mark()
    async with ClientSession() as http:
        url = _url(bot, "/telegram")
        async with http.post(url, json=forged) as response:
            assert response.status == 403
        async with http.post(url, json=forged, headers={
                "X-Telegram-Bot-Api-Secret-Token": "guess"}) as response:
            assert response.status == 403
        async with http.post(url, data=b"{not json", headers={
                "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
            assert response.status == 400
        async with http.post(url, json=[1, 2], headers={
                "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
            assert response.status == 400
    await asyncio.sleep(0)
    await bot.settled()
    assert api.sent(after=mark) == []  # none of them was handled


async def test_an_update_posted_twice_is_handled_once(bot, api, tg):
    """Telegram posts an update again when it missed the 200 (a timeout, a proxy that
    dropped the answer): the second post is acknowledged and not handled."""
    tom = tg.person("Tom", language_code="en")
    await tg.say(tom, tom, "/start")
    await api.wait_for("sendMessage", where=lambda c: c.chat_id == tom.id)
    update, _status = api.webhook_posts[-1]
    mark = api.mark()
    async with ClientSession() as http, http.post(
            _url(bot, "/telegram"), json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
        assert response.status == 200
    await bot.settled()
    await tg.say(tom, tom, "/help")  # the next update is handled: the bot is not stuck
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == tom.id
                       and c.text.startswith("Commands"))
    await bot.settled()
    answers = api.sent(chat_id=tom.id, after=mark)
    assert len(answers) == 1 and answers[0].text.startswith("Commands")  # no second hello


async def test_an_update_that_could_not_be_written_down_is_posted_again(
        bot, api, tg, monkeypatch):
    """If the inbox cannot take the update, the webhook answers 500 and Telegram posts it
    again: it is handled once, when it could be written."""
    receive = storage.inbox.receive
    failures = [OSError("disk full")]

    async def flaky(*args, **kwargs):
        if failures:
            raise failures.pop()
        return await receive(*args, **kwargs)

    monkeypatch.setattr(storage.inbox, "receive", flaky)
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/start")
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == tom.id)
    assert reply.text.startswith("Hello, Tom!")
    assert [status for _update, status in api.webhook_posts] == [500, 200]
    await bot.settled()
    assert len(api.sent(chat_id=tom.id, after=mark)) == 1


async def test_an_acknowledged_update_survives_a_crash(bot, api, tg, monkeypatch):
    """The bot answered 200 and died before handling the update: Telegram will not post
    it again, and the inbox hands it over at the next start."""
    hold = asyncio.Event()

    async def stuck(*args, **kwargs):
        await hold.wait()

    monkeypatch.setattr(handlers.start, "moderated_by", stuck)
    tom = tg.person("Tom", language_code="en")
    mark = api.mark()
    await tg.say(tom, tom, "/help")
    for _ in range(200):
        if api.webhook_posts:
            break
        await asyncio.sleep(0.01)
    assert [status for _update, status in api.webhook_posts] == [200]
    await bot.crash()
    monkeypatch.undo()
    await bot.start()
    reply = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == tom.id)
    assert reply.text.startswith("Commands")
    assert len(api.webhook_posts) == 1  # not posted again: it came from the inbox


async def test_healthz_and_metrics(bot, api, tg, monkeypatch):
    tom = tg.person("Tom", language_code="en")
    await tg.say(tom, tom, "/start")
    await api.wait_for("sendMessage", where=lambda c: c.chat_id == tom.id)
    await bot.settled()
    async with ClientSession() as http:
        async with http.get(_url(bot, "/healthz")) as response:
            assert response.status == 200
            health = await response.json()
        assert health["status"] == "ok" and health["database"] == "ok"
        assert health["scheduler"] == "ok"
        assert 0 <= health["last_update_handled_seconds_ago"] < 60
        async with http.get(_url(bot, "/metrics")) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            metrics = await response.text()
        lines = dict(line.rsplit(" ", 1) for line in metrics.splitlines()
                     if line and not line.startswith("#"))
        assert float(lines["yishi_updates_handled_total"]) >= 1
        assert float(lines['yishi_messages_sent_total{method="sendMessage"}']) >= 1
        assert float(lines["yishi_update_seconds_count"]) >= 1
        assert lines["yishi_outbox_depth"] == "0.0"
        assert lines["yishi_inbox_depth"] == "0.0"
        assert lines["yishi_telegram_429_total"] == "0.0"

        async def down(conn):
            raise OSError("connection refused")

        monkeypatch.setattr(storage.health, "ping", down)
        async with http.get(_url(bot, "/healthz")) as response:
            assert response.status == 503
            assert (await response.json())["database"] == "unreachable"
