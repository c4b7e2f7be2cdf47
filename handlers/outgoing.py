"""Messages a business action owes, built for the outbox (bot/outbox.py) instead of sent at
once: the action queues them in its own transaction, so a crash, a timeout or an error
from Telegram can neither lose nor repeat one.

Each takes an idempotency key that names the message for good (``poll:42:result``) and
the Bot API parameters as Telegram takes them (HTML, as the bot's defaults say).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyParameters

from bot.domain.models import Outgoing
from bot.i18n import Translator, translator
from storage import Connection, people


def _markup(markup: InlineKeyboardMarkup | None) -> dict[str, Any]:
    return {"reply_markup": markup.to_dict()} if markup is not None else {}


def _reply(reply_to: int | None) -> dict[str, Any]:
    """As a reply to ``reply_to`` if it is still there, else as a message of its own."""
    if reply_to is None:
        return {}
    return {"reply_parameters": ReplyParameters(
        reply_to, allow_sending_without_reply=True).to_dict()}


def message(key: str, chat_id: int, text: str, *,
            markup: InlineKeyboardMarkup | None = None,
            reply_to: int | None = None, not_before: datetime | None = None,
            remember: dict[str, Any] | None = None) -> Outgoing:
    params = {"chat_id": chat_id, "text": text, "parse_mode": "HTML", **_markup(markup),
              **_reply(reply_to)}
    return Outgoing(key=key, chat_id=chat_id, method="sendMessage", params=params,
                    not_before=not_before, remember=remember)


def photo(key: str, chat_id: int, file_id: str, caption: str, *,
          markup: InlineKeyboardMarkup | None = None, reply_to: int | None = None,
          not_before: datetime | None = None,
          remember: dict[str, Any] | None = None) -> Outgoing:
    params = {"chat_id": chat_id, "photo": file_id, "caption": caption[:1000],
              "parse_mode": "HTML", **_markup(markup), **_reply(reply_to)}
    return Outgoing(key=key, chat_id=chat_id, method="sendPhoto", params=params,
                    not_before=not_before, remember=remember)


def document(key: str, chat_id: int, *, file_id: str | None = None,
             content: bytes | None = None, filename: str = "", caption: str = "",
             not_before: datetime | None = None) -> Outgoing:
    """A document: one Telegram has (``file_id``) or one the bot made (``content``)."""
    sent: Any = file_id if content is None else {
        "base64": base64.b64encode(content).decode(), "filename": filename}
    params = {"chat_id": chat_id, "document": sent, "caption": caption[:1000],
              "parse_mode": "HTML"}
    return Outgoing(key=key, chat_id=chat_id, method="sendDocument", params=params,
                    not_before=not_before)


def shows(text: str, markup: InlineKeyboardMarkup | None) -> str:
    """A short digest of what a message shows, to tell whether an edit would change it
    (Telegram refuses one that would not, and it would spend the group's budget)."""
    return hashlib.sha256(json.dumps([text, markup.to_dict() if markup else None],
                                     sort_keys=True).encode()).hexdigest()[:16]


def pin(key: str, chat_id: int, message_id: int) -> Outgoing:
    return Outgoing(key=key, chat_id=chat_id, method="pinChatMessage", params={
        "chat_id": chat_id, "message_id": message_id, "disable_notification": True})


def edit_text(key: str, chat_id: int, message_id: int, text: str, *,
              markup: InlineKeyboardMarkup | None = None) -> Outgoing:
    """Without ``markup`` the message's buttons are taken away."""
    return Outgoing(key=key, chat_id=chat_id, method="editMessageText", params={
        "chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML",
        **_markup(markup)})


def edit_caption(key: str, chat_id: int, message_id: int, caption: str, *,
                 markup: InlineKeyboardMarkup | None = None) -> Outgoing:
    return Outgoing(key=key, chat_id=chat_id, method="editMessageCaption", params={
        "chat_id": chat_id, "message_id": message_id, "caption": caption[:1000],
        "parse_mode": "HTML", **_markup(markup)})


async def to_people(conn: Connection, user_ids: Iterable[int], key: str, default: str,
                    text: Callable[[Translator], str], *, photo_id: str | None = None,
                    not_before: datetime | None = None,
                    buttons: Callable[[Translator], InlineKeyboardMarkup | None] | None = None,
                    ) -> list[Outgoing]:
    """One private message to each of ``user_ids`` who has a chat with the bot, in their
    own language (``default`` if they have none), named ``{key}:{user id}``."""
    owed = []
    for person in (await people.names(conn, sorted(set(user_ids)))).values():
        if not person.started:
            continue
        reader = translator(person.reads(default))
        words = text(reader)
        markup = buttons(reader) if buttons is not None else None
        name = f"{key}:{person.user_id}"
        owed.append(photo(name, person.user_id, photo_id, words, not_before=not_before,
                          markup=markup)
                    if photo_id is not None else
                    message(name, person.user_id, words, not_before=not_before,
                            markup=markup))
    return owed


# Stay well inside Telegram's 4096 characters per message.
MESSAGE_BUDGET = 3800


def chunks(lines: list[str]) -> list[str]:
    """Whole lines packed into messages under Telegram's length limit."""
    packed: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > MESSAGE_BUDGET:
            packed.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current.strip():
        packed.append(current)
    return packed
