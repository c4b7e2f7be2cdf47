"""The order updates are handled in (bot/updates.py): button presses side by side, one
person's in turn, and anything else in a chat waiting for what came before it."""

import asyncio

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.updates import OrderedUpdateProcessor

GROUP = Chat(-100, "supergroup")
ANN, BOB = User(1, "Ann", False), User(2, "Bob", False)
_ids = iter(range(1, 10_000))


def press(user: User, chat: Chat = GROUP) -> Update:
    message = Message(7, None, chat)  # type: ignore[arg-type]
    return Update(next(_ids), callback_query=CallbackQuery(
        str(next(_ids)), user, "instance", message=message, data="v:1:0"))


def text(user: User, chat: Chat = GROUP) -> Update:
    return Update(next(_ids), message=Message(next(_ids), None, chat, from_user=user,  # type: ignore[arg-type]
                                             text="hello"))


class Log:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def work(self, name: str, *, hold: bool = False):
        if hold:
            self.gates[name] = asyncio.Event()

        async def run() -> None:
            self.events.append(f"{name}>")
            if name in self.gates:
                await self.gates[name].wait()
            self.events.append(f"<{name}")
        return run()


async def _feed(processor, *items):
    """Hand updates over in order, as PTB's fetcher does (a task each, started in order)."""
    tasks = [asyncio.create_task(processor.process_update(update, coroutine))
             for update, coroutine in items]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return tasks


async def test_presses_run_side_by_side_but_one_persons_in_turn():
    processor, log = OrderedUpdateProcessor(), Log()
    await processor.initialize()
    tasks = await _feed(processor,
                        (press(ANN), log.work("ann1", hold=True)),
                        (press(BOB), log.work("bob1")),
                        (press(ANN), log.work("ann2")))
    await asyncio.sleep(0.01)
    # Bob's press ran while Ann's first was still in hand; Ann's second waits for her first.
    assert log.events == ["ann1>", "bob1>", "<bob1"]
    log.gates["ann1"].set()
    await asyncio.gather(*tasks)
    assert log.events[3:] == ["<ann1", "ann2>", "<ann2"]


async def test_a_message_waits_for_earlier_presses_and_holds_later_ones():
    processor, log = OrderedUpdateProcessor(), Log()
    await processor.initialize()
    tasks = await _feed(processor,
                        (press(ANN), log.work("press1", hold=True)),
                        (text(BOB), log.work("message")),
                        (press(BOB), log.work("press2")),
                        (text(ANN, Chat(ANN.id, "private")), log.work("elsewhere")))
    await asyncio.sleep(0.01)
    # Another chat is not held up; in the group, nothing passes the message.
    assert log.events == ["press1>", "elsewhere>", "<elsewhere"]
    log.gates["press1"].set()
    await asyncio.gather(*tasks)
    assert log.events[3:] == ["<press1", "message>", "<message", "press2>", "<press2"]


async def test_a_failing_update_does_not_block_the_chat():
    processor, log = OrderedUpdateProcessor(), Log()
    await processor.initialize()

    async def fail() -> None:
        raise RuntimeError("handler bug")

    tasks = await _feed(processor, (text(ANN), fail()), (text(BOB), log.work("next")))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert log.events == ["next>", "<next"]
    assert processor._chats == {}  # nothing kept once a chat is quiet


async def test_while_catching_up_new_updates_wait_until_the_backlog_is_fetched(monkeypatch):
    """getUpdates came back full: Telegram holds more, and fetching shares the event loop
    with handling, so nothing new starts until a batch that is not full (or until the
    catching up has lasted CATCH_UP_AT_MOST)."""
    from bot import updates
    processor, log = OrderedUpdateProcessor(), Log()
    await processor.initialize()
    processor.fetched(100)
    tasks = await _feed(processor, (text(ANN), log.work("ann")),
                        (press(BOB, Chat(-200, "supergroup")), log.work("bob")))
    processor.fetched(100)
    await asyncio.sleep(0.01)
    # Still behind (Telegram sent another full batch): only the button press ran, as
    # presses are cheap and recorded in batches.
    assert log.events == ["bob>", "<bob"]
    processor.fetched(3)
    await asyncio.gather(*tasks)
    assert log.events == ["bob>", "<bob", "ann>", "<ann"]
    log.events.clear()

    # A stream that never lets up is held at most CATCH_UP_AT_MOST, then handled.
    monkeypatch.setattr(updates, "CATCH_UP_AT_MOST", 0.0)
    processor.fetched(100)
    tasks = await _feed(processor, (text(BOB), log.work("bob")))
    assert log.events == []
    await asyncio.sleep(0.001)
    processor.fetched(100)  # past the limit: let go, and not held again while still full
    processor.fetched(100)
    await asyncio.gather(*tasks)
    assert log.events == ["bob>", "<bob"]


async def test_a_backlog_that_ends_on_a_full_batch_is_not_held_by_the_long_poll(monkeypatch):
    """The last batch was full and the next getUpdates is a long poll on an empty queue:
    Telegram answers at once while it holds updates, so a next batch slower than
    NEXT_BATCH_WITHIN lets the waiting updates go."""
    from bot import updates
    monkeypatch.setattr(updates, "NEXT_BATCH_WITHIN", 0.02)
    processor, log = OrderedUpdateProcessor(), Log()
    await processor.initialize()
    processor.fetched(100)
    tasks = await _feed(processor, (text(ANN), log.work("ann")))
    assert log.events == []
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=1)
    assert log.events == ["ann>", "<ann"]


def test_a_vote_press_is_read_without_the_post_it_was_pressed_under():
    """PTB builds every press's message (a poll's whole post and keyboard) unless it is
    cut down; a vote's handler reads only the chat. The inbox keeps what came."""
    from bot.inbox import lean
    post = {"message_id": 3, "date": 1764800000, "text": "P-1 · Repaint the lobby?",
            "chat": {"id": -100, "type": "supergroup", "title": "Elm House"},
            "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "v:1:0"}]]}}
    press_ = {"update_id": 9, "callback_query": {
        "id": "5", "from": {"id": 7, "is_bot": False, "first_name": "Ann"},
        "chat_instance": "1", "data": "v:1:0", "message": post}}
    cut = lean(press_, ("v:",))
    assert cut["callback_query"]["message"] == {"message_id": 3, "chat": post["chat"],
                                                "date": 1764800000}
    assert press_["callback_query"]["message"] is post and "text" in post  # untouched
    update = Update.de_json(cut, None)
    assert update.effective_chat.id == -100 and update.callback_query.data == "v:1:0"
    other = {**press_, "callback_query": {**press_["callback_query"], "data": "pm:1:close"}}
    assert lean(other, ("v:",)) is other  # another button's handler may read its message
    assert lean({"update_id": 10, "message": post}, ("v:",))["message"] is post


async def test_a_press_is_taken_on_arrival_only_when_nothing_before_it_waits():
    """A lane takes a press on arrival (bot/inbox.py) unless something fetched before it
    in its chat goes the usual way, its presser has a press still in hand there, or it is
    one Telegram delivers again."""
    from bot.inbox import _lane_order

    class Lane:
        prefix = "v:"

        def accepts(self, item):
            query = item["callback_query"]
            return query["message"]["chat"]["id"], query["from"]["id"]

    def raw(update_id, user, chat):
        return {"update_id": update_id, "callback_query": {
            "id": str(update_id), "from": {"id": user, "is_bot": False, "first_name": "A"},
            "chat_instance": "1", "data": "v:1:0",
            "message": {"message_id": 3, "date": 1, "chat": {"id": chat, "type": "group"}}}}

    said = Update(103, message=Message(50, None, GROUP, from_user=ANN,  # type: ignore[arg-type]
                                       text="/poll"))
    presses = [raw(101, 1, -100), raw(102, 2, -200), raw(104, 2, -100), raw(105, 3, -200),
               raw(106, 4, -300), raw(50, 5, -400)]
    in_hand = {(-200, 3)}
    taking, rest = _lane_order([said], presses, Lane(),
                               lambda chat, user: (chat, user) not in in_hand, before=60)
    assert [p["update_id"] for p in taking] == [101, 102, 106]
    # 104 comes after the command in its chat; 105's presser has a press in hand; 50 is
    # delivered again (at or below the last id received before this start).
    assert [p["update_id"] for p in rest] == [50, 104, 105]
