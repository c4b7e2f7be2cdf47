"""PTB persistence on our own database, so conversations and drafts survive a restart."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.clock import Clock
from storage import Database, due_work, flow_state

ConversationKey = tuple[int | str, ...]

# Due work that closes a flow left idle; keyed so one person's timers share a prefix.
FLOW_IDLE = flow_state.FLOW_IDLE


def idle_key(chat_id: int, user_id: int, name: str) -> str:
    return f"{chat_id}:{user_id}:{name}"


class StoragePersistence(BasePersistence[dict, dict, dict]):
    """Conversation states and user/chat data in the same database as everything else.

    bot_data holds the live services and is never stored; callback data is never
    arbitrary (buttons carry short self-describing strings checked against the database).
    """

    def __init__(self, db: Database, clock: Clock, idle_timeout: timedelta, *,
                 on_first_use: Callable[[], Awaitable[None]], update_interval: float = 60,
                 refresh: bool = False) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True,
                                        callback_data=False),
            update_interval=update_interval,
        )
        self._db = db
        self._ready = on_first_use
        # What the database holds, so an unchanged (often empty) dict is not rewritten
        # after every update.
        self._saved_users: dict[int, dict] = {}
        self._saved_chats: dict[int, dict] = {}
        self._clock = clock
        self._idle_timeout = idle_timeout
        # Several instances share the bot: a person's or chat's data is read again before
        # each update, since another instance may have changed it (bot/sharing.py).
        self._refresh = refresh

    async def get_user_data(self) -> dict[int, dict]:
        await self._ready()
        async with self._db.transaction() as conn:
            loaded = await flow_state.all_user_data(conn)
        self._saved_users = copy.deepcopy(loaded)
        return loaded

    async def get_chat_data(self) -> dict[int, dict]:
        await self._ready()
        async with self._db.transaction() as conn:
            loaded = await flow_state.all_chat_data(conn)
        self._saved_chats = copy.deepcopy(loaded)
        return loaded

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict[ConversationKey, object]:
        await self._ready()
        async with self._db.transaction() as conn:
            return await flow_state.conversations(conn, name)

    async def update_conversation(self, name: str, key: ConversationKey,
                                  new_state: object | None) -> None:
        """Store the state and, in the same transaction, arm or disarm its idle timeout."""
        if len(key) != 2:
            raise ValueError(f"flow {name} must be keyed per chat and user, got {key!r}")
        chat_id, user_id = int(key[0]), int(key[1])
        timer_key = idle_key(chat_id, user_id, name)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            await flow_state.save_conversation(conn, name, key, new_state)
            if new_state is None:
                await due_work.cancel(conn, kind=FLOW_IDLE, key=timer_key)
            else:
                await due_work.schedule(
                    conn, kind=FLOW_IDLE, key=timer_key, due_at=now + self._idle_timeout,
                    now=now, payload={"name": name, "chat_id": chat_id, "user_id": user_id},
                )

    async def update_user_data(self, user_id: int, data: dict) -> None:
        if self._saved_users.get(user_id, {}) == data:
            return
        async with self._db.transaction() as conn:
            if data:
                await flow_state.save_user_data(conn, user_id, data)
            else:
                await flow_state.drop_user_data(conn, user_id)
        self._saved_users[user_id] = copy.deepcopy(data)

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        if self._saved_chats.get(chat_id, {}) == data:
            return
        async with self._db.transaction() as conn:
            if data:
                await flow_state.save_chat_data(conn, chat_id, data)
            else:
                await flow_state.drop_chat_data(conn, chat_id)
        self._saved_chats[chat_id] = copy.deepcopy(data)

    async def update_bot_data(self, data: dict) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        async with self._db.transaction() as conn:
            await flow_state.drop_chat_data(conn, chat_id)
        self._saved_chats.pop(chat_id, None)

    async def drop_user_data(self, user_id: int) -> None:
        async with self._db.transaction() as conn:
            await flow_state.drop_user_data(conn, user_id)
        self._saved_users.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        if not self._refresh:
            return
        async with self._db.transaction() as conn:
            stored = await flow_state.user_data_of(conn, user_id)
        user_data.clear()
        user_data.update(stored)
        self._saved_users[user_id] = copy.deepcopy(stored)

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        if not self._refresh:
            return
        async with self._db.transaction() as conn:
            stored = await flow_state.chat_data_of(conn, chat_id)
        chat_data.clear()
        chat_data.update(stored)
        self._saved_chats[chat_id] = copy.deepcopy(stored)

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        return None
