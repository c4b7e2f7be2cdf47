"""What the bot knows of each chat's last lines: the newest message in it (the person's or
the bot's), and which of the bot's messages the handling of one update sent or edited.

A step of a flow answers where the person is looking: the pressed message is edited only
when it is still the newest in the chat (handlers/common.flow_reply); and when a flow ends,
the buttons of its earlier prompts are taken away (handlers/flows.py). Both need these
facts, which only the bot's own calls carry.
"""

from __future__ import annotations

from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.ext import ExtBot

# Chats remembered (the oldest forgotten first); the newest message of a chat forgotten is
# simply unknown, and then the pressed message is edited, as before.
CHATS_KEPT = 20_000


@dataclass(frozen=True)
class Touch:
    """A message of the bot's that one update's handling sent or edited."""

    chat_id: int
    message_id: int
    has_buttons: bool
    sent: bool  # a new message, not an edit


# The messages the update being handled has touched; None outside the handling of one.
_TOUCHED: ContextVar[list[Touch] | None] = ContextVar("touched", default=None)


def begin_update() -> None:
    """Start noting what this update's handling sends (the task handling it sees it)."""
    _TOUCHED.set([])


def end_update() -> list[Touch]:
    """What this update's handling sent or edited, in order; noting stops."""
    touched = _TOUCHED.get() or []
    _TOUCHED.set(None)
    return touched


class Transcript:
    """The newest message id seen in each chat, in either direction."""

    def __init__(self, size: int = CHATS_KEPT) -> None:
        self._newest: OrderedDict[int, int] = OrderedDict()
        self._size = size

    def saw(self, chat_id: int, message_id: int) -> None:
        if message_id > self._newest.get(chat_id, 0):
            self._newest[chat_id] = message_id
        self._newest.move_to_end(chat_id)
        while len(self._newest) > self._size:
            self._newest.popitem(last=False)

    def newest(self, chat_id: int) -> int | None:
        return self._newest.get(chat_id)


def transcript_of(bot: Any) -> Transcript:
    """The bot's transcript; a bot that keeps none (a test's plain Bot) gets a fresh one."""
    found = getattr(bot, "transcript", None)
    return found if isinstance(found, Transcript) else Transcript()


def _has_buttons(markup: Any) -> bool:
    if isinstance(markup, InlineKeyboardMarkup):
        return any(markup.inline_keyboard)
    if isinstance(markup, dict):
        return any(markup.get("inline_keyboard") or ())
    return False


class Transcribing(ExtBot[None]):
    """An ExtBot that notes every message it sends or edits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self.transcript = Transcript()

    async def _do_post(self, endpoint: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, *args, **kwargs)
        if endpoint.startswith(("send", "edit")):
            markup = data.get("reply_markup") if isinstance(data, dict) else None
            for message in result if isinstance(result, list) else [result]:
                if isinstance(message, dict) and "message_id" in message:
                    self._note(endpoint, message, _has_buttons(markup))
        return result

    def _note(self, endpoint: str, message: dict[str, Any], has_buttons: bool) -> None:
        chat_id = message.get("chat", {}).get("id")
        if not isinstance(chat_id, int):
            return
        if endpoint.startswith("send"):
            self.transcript.saw(chat_id, message["message_id"])
        touched = _TOUCHED.get()
        if touched is not None:
            touched.append(Touch(chat_id, message["message_id"], has_buttons,
                                 sent=endpoint.startswith("send")))
