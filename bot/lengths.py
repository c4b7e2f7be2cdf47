"""Texts within Telegram's length limit: a message longer than 4,096 characters is sent as
several (split between lines, the buttons under the last), an edit is shortened (an edit
cannot become two messages). Measured on the text as written, markup included, which is
never shorter than what Telegram counts."""

from __future__ import annotations

from typing import Any

from telegram import Message
from telegram.ext import ExtBot

MESSAGE_LIMIT = 4096
MORE = "\n…"


def split(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Whole lines packed into parts of at most ``limit`` characters; a line longer than
    that is cut (HTML markup is kept within one line by every text the bot writes)."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        parts.append(current)
    return [part for part in parts if part.strip()]


def shortened(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """The text cut between lines to fit, marked as shortened."""
    if len(text) <= limit:
        return text
    return split(text, limit - len(MORE))[0] + MORE


# Methods without a parse_mode of their own, to which PTB still adds the default one.
NO_PARSE_MODE = frozenset({"sendLocation", "sendVenue", "sendContact", "sendDice",
                           "sendSticker"})


class WithinLimits(ExtBot[None]):
    """The bot's sends and edits, kept within the length Telegram accepts, and with only the
    parameters each method has."""

    async def _do_post(self, endpoint: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        if endpoint in NO_PARSE_MODE and isinstance(data, dict):
            data.pop("parse_mode", None)
        return await super()._do_post(endpoint, data, *args, **kwargs)

    async def send_message(self, chat_id: Any, text: str, *args: Any,
                           **kwargs: Any) -> Message:
        parts = split(text)
        if len(parts) == 1 or args:
            return await super().send_message(chat_id, text, *args, **kwargs)
        markup = kwargs.pop("reply_markup", None)
        for part in parts[:-1]:
            await super().send_message(chat_id, part, **kwargs)
            kwargs.pop("reply_parameters", None)  # only the first part answers
        return await super().send_message(chat_id, parts[-1], reply_markup=markup, **kwargs)

    async def edit_message_text(self, text: str, *args: Any, **kwargs: Any) -> Any:
        return await super().edit_message_text(shortened(text), *args, **kwargs)
