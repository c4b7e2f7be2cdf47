"""Updates handled side by side, in order where order matters.

A vote burst is a thousand people pressing a button in one group within a minute; handled
one at a time, each waits for every database round trip of everyone before them. So
updates run concurrently, under two rules that keep what residents see in order:

- one person's updates in one chat run one after another, in the order they came (a
  conversation, an album, a vote changed twice);
- in a chat, a button press runs beside other people's presses, but anything else (a
  message, a member joining, the bot being added) waits for everything before it in that
  chat and holds back everything after it.

The order is fixed when an update arrives, before anything is awaited: each update
depends on the ones it must follow, and starts when they have finished. Waiting for them
takes no place among the updates running: a group whose answers wait for Telegram's
20-a-minute budget holds one place (its running update), not one for each update queued
behind it, so a person writing to the bot in private is never kept waiting by a busy group.

While the bot is catching up — getUpdates comes back full, so Telegram holds more (after
a stop, or under a stream of thousands) — new updates other than button presses wait to
start until the backlog is fetched and written down (:meth:`fetched`), for at most a few
seconds: fetching shares the one event loop with handling, and a person who writes last
would otherwise wait for everything fetched before them to be half handled before their
update is even read. Presses go on at once: they are cheap (a vote burst is recorded in
batches) and holding them back would only stop the batches' writing from overlapping
the fetching.

When the bot stops, updates still waiting for their turn are let go (:meth:`let_go`):
they stay in the inbox (bot/inbox.py) and are handled first at the next start, so a
stop takes as long as the updates running need, not the whole backlog of a busy group.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates running at once: enough to cover a full batch from getUpdates (100) several
# times over. Updates waiting for the ones they follow are not counted.
MAX_CONCURRENT = 256
# A getUpdates batch this full (PTB asks for at most 100) means Telegram holds more; new
# updates then wait while the backlog is fetched, but no longer than this (seconds), so a
# stream that never lets up is still handled.
FULL_BATCH = 100
CATCH_UP_AT_MOST = 5.0
NEXT_BATCH_WITHIN = 0.5
# PTB's own gate counts every update from the moment it arrives, waiting or not; it is
# opened wide and the gate that counts only running updates is this module's.
_ARRIVED = 1_000_000


@dataclass
class _Chat:
    """What a new update in one chat must wait for."""

    exclusive: asyncio.Future[None] | None = None  # the last non-button update
    presses: set[asyncio.Future[None]] = field(default_factory=set)  # presses since then
    by_person: dict[int, asyncio.Future[None]] = field(default_factory=dict)


def _keys(update: object) -> tuple[int | None, int | None, bool]:
    """(chat, person, whether it is a button press that may run beside others)."""
    if not isinstance(update, Update):
        return None, None, False
    chat, user = update.effective_chat, update.effective_user
    return (chat.id if chat else None, user.id if user else None,
            update.callback_query is not None and chat is not None and user is not None)


class OrderedUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT, *,
                 on_handled: Callable[[object, float], None] | None = None) -> None:
        super().__init__(_ARRIVED)
        self._on_handled = on_handled  # the update, and seconds from arrival to handled
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[int | None, _Chat] = {}
        self._waiting: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        self._catching_up_since: float | None = None
        self._release: asyncio.TimerHandle | None = None

    async def initialize(self) -> None:
        self._chats.clear()
        self._stopping = False
        self._caught_up.set()
        self._catching_up_since = None

    def fetched(self, count: int) -> None:
        """A batch of ``count`` updates came from getUpdates (and is written down)."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
        if count < FULL_BATCH:
            self._catching_up_since = None
            self._caught_up.set()
            return
        now = time.monotonic()
        if self._catching_up_since is None:
            self._catching_up_since = now
            self._caught_up.clear()
        elif now - self._catching_up_since > CATCH_UP_AT_MOST:
            self._caught_up.set()  # and not held again until a batch is not full
        if not self._caught_up.is_set():
            # Telegram answers at once while it holds updates; a next batch slower than
            # this is a long poll on an empty queue (the backlog ended on a full batch).
            self._release = asyncio.get_running_loop().call_later(
                NEXT_BATCH_WITHIN, self._caught_up.set)

    def let_go(self) -> None:
        """The bot is stopping: updates not yet running never will (the inbox keeps them
        for the next start); those running finish."""
        self._stopping = True
        self._caught_up.set()
        for task in list(self._waiting):
            task.cancel()

    async def shutdown(self) -> None:
        self._chats.clear()

    def clear_for(self, chat_id: int, user_id: int) -> bool:
        """Whether a press by ``user_id`` in ``chat_id`` may be handled now, beside what
        is running: nothing but presses is in hand in that chat, and none of this
        person's (bot/inbox.py's lanes ask, for the presses they take on arrival)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return not self._stopping
        mine = chat.by_person.get(user_id)
        return (not self._stopping and (chat.exclusive is None or chat.exclusive.done())
                and (mine is None or mine.done()))

    def _follow(self, update: object) -> tuple[list[asyncio.Future[None]],
                                               asyncio.Future[None], Any]:
        """Note the update's place (synchronously) and return what it waits for, its own
        completion, and how to forget it afterwards."""
        chat_id, user_id, press = _keys(update)
        # Updates with no chat (inline queries and the like) are kept in order per person.
        key = chat_id if chat_id is not None else (None if user_id is None else -abs(user_id))
        chat = self._chats.setdefault(key, _Chat())
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waits: list[asyncio.Future[None]] = []
        if chat.exclusive is not None:
            waits.append(chat.exclusive)
        if press:
            assert user_id is not None
            if user_id in chat.by_person:
                waits.append(chat.by_person[user_id])
            chat.presses.add(mine)
            chat.by_person[user_id] = mine
        else:
            waits.extend(chat.presses)
            chat.exclusive, chat.presses, chat.by_person = mine, set(), {}

        def forget() -> None:
            mine.set_result(None)
            chat.presses.discard(mine)
            if press and chat.by_person.get(user_id) is mine:  # type: ignore[arg-type]
                del chat.by_person[user_id]  # type: ignore[arg-type]
            if chat.exclusive is mine:
                chat.exclusive = None
            if chat.exclusive is None and not chat.presses and self._chats.get(key) is chat:
                del self._chats[key]

        return [w for w in waits if not w.done()], mine, forget

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        arrived = time.monotonic()
        waits, _mine, forget = self._follow(update)
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            if self._stopping:
                raise asyncio.CancelledError
            if not self._caught_up.is_set() and not _keys(update)[2]:
                await self._caught_up.wait()
            if waits:
                await asyncio.wait(waits)
            await self._running.acquire()
        except BaseException:
            forget()
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # stopped before its turn: it never ran
            if self._stopping:
                return  # left in the inbox for the next start
            raise
        finally:
            self._waiting.discard(task)
        try:
            await coroutine
        finally:
            self._running.release()
            forget()
            if self._on_handled is not None:
                self._on_handled(update, time.monotonic() - arrived)
