"""What PTB's persistence keeps: conversation states and per-user / per-chat data (JSON)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import chat_data, conversation_states, due_work, user_data
from storage.upsert import upsert

# The due work that ends a flow left idle (bot/persistence.py arms it).
FLOW_IDLE = "flow_idle"

ConversationKey = tuple[int | str, ...]


def _encode_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


async def conversations(conn: AsyncConnection, name: str) -> dict[ConversationKey, Any]:
    rows = await conn.execute(
        select(conversation_states.c.key, conversation_states.c.state).where(
            conversation_states.c.name == name
        )
    )
    return {tuple(json.loads(key)): state for key, state in rows}


async def save_conversation(conn: AsyncConnection, name: str, key: ConversationKey,
                            state: Any) -> None:
    """Store a conversation's state; ``None`` means it ended and is forgotten."""
    encoded = _encode_key(key)
    if state is None:
        await conn.execute(
            delete(conversation_states).where(
                conversation_states.c.name == name, conversation_states.c.key == encoded
            )
        )
        return
    await upsert(conn, conversation_states, {"name": name, "key": encoded, "state": state},
                 conflict=["name", "key"], update=["state"])


async def all_user_data(conn: AsyncConnection) -> dict[int, dict[str, Any]]:
    rows = await conn.execute(select(user_data.c.user_id, user_data.c.data))
    return {user_id: data for user_id, data in rows}


async def all_chat_data(conn: AsyncConnection) -> dict[int, dict[str, Any]]:
    rows = await conn.execute(select(chat_data.c.chat_id, chat_data.c.data))
    return {chat_id: data for chat_id, data in rows}


async def save_user_data(conn: AsyncConnection, user_id: int, data: dict[str, Any]) -> None:
    await upsert(conn, user_data, {"user_id": user_id, "data": data},
                 conflict=["user_id"], update=["data"])


async def save_chat_data(conn: AsyncConnection, chat_id: int, data: dict[str, Any]) -> None:
    await upsert(conn, chat_data, {"chat_id": chat_id, "data": data},
                 conflict=["chat_id"], update=["data"])


async def drop_user_data(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(user_data).where(user_data.c.user_id == user_id))


async def drop_chat_data(conn: AsyncConnection, chat_id: int) -> None:
    await conn.execute(delete(chat_data).where(chat_data.c.chat_id == chat_id))


async def user_data_of(conn: AsyncConnection, user_id: int) -> dict[str, Any]:
    row = (await conn.execute(select(user_data.c.data)
                              .where(user_data.c.user_id == user_id))).first()
    return dict(row[0]) if row else {}


async def chat_data_of(conn: AsyncConnection, chat_id: int) -> dict[str, Any]:
    row = (await conn.execute(select(chat_data.c.data)
                              .where(chat_data.c.chat_id == chat_id))).first()
    return dict(row[0]) if row else {}


async def states_of(conn: AsyncConnection, key: ConversationKey) -> dict[str, Any]:
    """Every flow's state for one (chat, person), by flow name."""
    rows = await conn.execute(select(conversation_states.c.name, conversation_states.c.state)
                              .where(conversation_states.c.key == _encode_key(key)))
    return {name: state for name, state in rows}


async def conversation_state(conn: AsyncConnection, name: str, key: ConversationKey) -> Any:
    rows = await conn.execute(
        select(conversation_states.c.state).where(
            conversation_states.c.name == name, conversation_states.c.key == _encode_key(key)
        )
    )
    found = rows.first()
    return found[0] if found else None


async def forget_conversations(conn: AsyncConnection, user_id: int) -> None:
    """Drop the person's flows (keys are [chat, user]; the private chat id is the user id)
    and their idle timeouts (keyed ``<chat>:<user>:<flow>``, carrying the ids)."""
    await conn.execute(delete(conversation_states).where(
        conversation_states.c.key == _encode_key((user_id, user_id))))
    await conn.execute(delete(due_work).where(due_work.c.kind == FLOW_IDLE,
                                              due_work.c.key.like(f"%:{user_id}:%")))
