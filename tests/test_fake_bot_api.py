"""The fake Bot API's own checks: it must refuse what Telegram refuses."""

import json

import aiohttp
import pytest

from bot.fakeapi.server import FakeBotApi, Fault


@pytest.fixture
async def fake(api: FakeBotApi, tg):
    group = tg.group("Checks")
    api.members[(group.id, api.bot["id"])] = "member"
    api.chat = group  # type: ignore[attr-defined]
    return api


async def _call(api: FakeBotApi, method: str, **params):
    form = {k: json.dumps(v) if isinstance(v, dict | list) else str(v)
            for k, v in params.items()}
    async with aiohttp.ClientSession() as session, session.post(
            f"{api.base_url}{api.token}/{method}", data=form) as response:
        return response.status, await response.json()


async def test_rejects_a_missing_chat_id(fake):
    status, body = await _call(fake, "sendMessage", text="hi")
    assert status == 400 and not body["ok"]
    assert fake.violations == ["sendMessage: required parameter chat_id missing"]


async def test_rejects_text_over_4096_characters(fake):
    status, _ = await _call(fake, "sendMessage", chat_id=fake.chat.id, text="x" * 5000)
    assert status == 400
    assert fake.violations == ["sendMessage: text is 5000 characters (allowed 1-4096)"]


async def test_counts_text_after_html_parsing(fake):
    status, body = await _call(fake, "sendMessage", chat_id=fake.chat.id, parse_mode="HTML",
                               text="<b>" + "x" * 4096 + "</b>")
    assert status == 200 and body["result"]["text"] == "x" * 4096
    status, _ = await _call(fake, "sendMessage", chat_id=fake.chat.id, parse_mode="HTML",
                            text="<blink>x</blink>")
    assert status == 400 and "can't parse entities" in fake.violations[-1]


async def test_rejects_callback_data_over_64_bytes(fake):
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "x" * 65}]]}
    status, _ = await _call(fake, "sendMessage", chat_id=fake.chat.id, text="hi",
                            reply_markup=markup)
    assert status == 400
    assert fake.violations == ["sendMessage: callback_data of 65 bytes (allowed 1-64)"]


async def test_rejects_unknown_methods_parameters_and_bad_types(fake):
    await _call(fake, "sendMesage", chat_id=fake.chat.id, text="hi")
    await _call(fake, "sendMessage", chat_id=fake.chat.id, text="hi", colour="red")
    await _call(fake, "sendMessage", chat_id=fake.chat.id, text="hi",
                reply_markup={"inline_keyboard": [[{"callback_data": "x"}]]})
    assert fake.violations[:2] == ["sendMesage: no such Bot API method",
                                   "sendMessage: unknown parameter colour"]
    assert fake.violations[2] == ("sendMessage.reply_markup.inline_keyboard[0][0].text: "
                                  "required field of InlineKeyboardButton missing")


async def test_rejects_an_identical_edit_and_a_caption_over_1024(fake):
    _, sent = await _call(fake, "sendMessage", chat_id=fake.chat.id, text="same")
    message_id = sent["result"]["message_id"]
    status, _ = await _call(fake, "editMessageText", chat_id=fake.chat.id,
                            message_id=message_id, text="same")
    assert status == 400 and fake.violations == ["editMessageText: identical content"]
    status, _ = await _call(fake, "sendPhoto", chat_id=fake.chat.id, photo="file-id",
                            caption="c" * 1025)
    assert status == 400 and "caption is 1025 characters" in fake.violations[-1]


async def test_albums_must_have_two_to_ten_items(fake):
    one = [{"type": "photo", "media": "file-1"}]
    status, _ = await _call(fake, "sendMediaGroup", chat_id=fake.chat.id, media=one)
    assert status == 400 and "1 items" in fake.violations[-1]
    eleven = [{"type": "photo", "media": f"file-{i}"} for i in range(11)]
    status, _ = await _call(fake, "sendMediaGroup", chat_id=fake.chat.id, media=eleven)
    assert status == 400 and "11 items" in fake.violations[-1]


@pytest.mark.real_limits
async def test_enforces_20_messages_in_any_minute_in_a_group(fake, monkeypatch):
    """A strict window, as Telegram counts: 20 spread over 19 seconds, and the 21st is
    refused until the first is a full minute old (a leaky bucket would have let it in)."""
    import bot.fakeapi.server as server

    now = [server.rate_clock()]
    monkeypatch.setattr(server, "rate_clock", lambda: now[0])
    start = now[0]
    for i in range(20):
        now[0] = start + i
        status, _ = await _call(fake, "sendMessage", chat_id=fake.chat.id, text=f"m{i}")
        assert status == 200
    now[0] = start + 59.5
    status, body = await _call(fake, "sendMessage", chat_id=fake.chat.id, text="one too many")
    assert status == 429 and body["parameters"]["retry_after"] == 1
    assert fake.violations == [
        f"flood: more than 20 messages in one minute in group {fake.chat.id}"]
    now[0] = start + 60.01
    status, _ = await _call(fake, "sendMessage", chat_id=fake.chat.id, text="now it may")
    assert status == 200


async def test_cannot_message_someone_who_never_started_the_bot(fake, tg):
    stranger = tg.person("Stranger")
    tg.private_chat(stranger)
    status, body = await _call(fake, "sendMessage", chat_id=stranger.id, text="hello")
    assert status == 403 and "initiate" in body["description"]
    assert fake.violations == []


async def test_injected_faults(fake):
    fake.faults.append(Fault("getMe", "429", retry_after=3))
    status, body = await _call(fake, "getMe")
    assert status == 429 and body["parameters"] == {"retry_after": 3}
    status, body = await _call(fake, "getMe")
    assert status == 200 and body["result"]["is_bot"]


async def test_updates_built_by_tests_are_checked_too(fake):
    with pytest.raises(AssertionError, match="invalid update"):
        await fake.push(message={"message_id": 1, "chat": {"id": 1, "type": "private"}})


@pytest.mark.real_limits
async def test_enforces_30_messages_in_any_second_overall(fake, tg, monkeypatch):
    import bot.fakeapi.server as server

    now = [server.rate_clock()]
    monkeypatch.setattr(server, "rate_clock", lambda: now[0])
    start = now[0]
    people = [tg.person(f"P{i}") for i in range(32)]
    for person in people:
        tg.private_chat(person)
        fake.started.add(person.id)
    statuses = []
    for n, person in enumerate(people[:31]):
        now[0] = start + n * 0.03  # 31 within 0.9 s
        status, _ = await _call(fake, "sendMessage", chat_id=person.id, text="hi")
        statuses.append(status)
    assert statuses == [200] * 30 + [429]
    assert fake.violations[0] == "flood: more than 30 messages in one second"
    now[0] = start + 1.0  # the first has left the window
    status, _ = await _call(fake, "sendMessage", chat_id=people[31].id, text="hi")
    assert status == 200
