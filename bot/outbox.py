"""Delivering the outbox: what business actions owe the world, each message exactly once.

An action writes its state change and its messages in one transaction (storage/outbox.py);
this runner sends them afterwards. It is kicked right after the action commits (so people
see the result at once) and runs again on every scheduler tick (so a message that failed,
waited for the morning, or was queued just before a crash still goes).

How each message is kept to exactly once:
- it is queued under an idempotency key, so an action run twice (a retried close, a due
  item that ran again after a crash) queues it once;
- it is marked sent in the transaction right after Telegram's answer; only a kill in the
  instant between the two could send it again, and then only an edit is repeated harmlessly;
- a call that went out whole and whose answer came late (:class:`AnswerLate`) was carried
  out by Telegram: it is not made again (a message would show twice); a call that never
  went out (no connection) is retried;
- Telegram refusing for good (blocked, chat gone, "not modified") ends it; a server error,
  a flood wait or a connection that never opened is retried with a growing delay, across
  restarts, until it goes.

Telegram is given longer to answer here than for answers to people (``answer_seconds``):
a slow answer on a queued message delays nothing anyone waits for.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    ReplyParameters,
    TelegramObject,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

from bot.clock import Clock
from bot.domain.models import QueuedMessage
from bot.transport import AnswerLate
from storage import Connection, Database
from storage import outbox as store

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# What a delivered message may have Telegram record: a callback by name, given the open
# transaction, the message's ``remember``, Telegram's answer and the time.
Remember = Callable[[Connection, dict[str, Any], Any, datetime], Awaitable[None]]
# What a feature does when Telegram refuses its message for good: (conn, remember, why, now).
Refused = Callable[[Connection, dict[str, Any], str, datetime], Awaitable[None]]


# The Bot API methods the outbox carries, and the parameters kept as JSON that PTB's typed
# methods take as objects.
METHODS = {"sendMessage": "send_message", "sendPhoto": "send_photo",
           "sendDocument": "send_document", "sendMediaGroup": "send_media_group",
           "editMessageText": "edit_message_text",
           "editMessageCaption": "edit_message_caption", "pinChatMessage": "pin_chat_message"}
OBJECTS: dict[str, type[TelegramObject]] = {"reply_markup": InlineKeyboardMarkup,
                                           "reply_parameters": ReplyParameters}


async def _call(bot: Bot, message: QueuedMessage, answer_seconds: float) -> Any:
    """The queued call through PTB's typed method (so the rate limiter and the defaults
    apply as to any other call); Telegram's answer as JSON."""
    args = dict(message.params)
    for name, kind in OBJECTS.items():
        if name in args:
            args[name] = kind.de_json(args[name], bot)
    document = args.get("document")
    if isinstance(document, dict):
        # A file the bot made (a printable notice): kept in the queue as base64.
        args["document"] = InputFile(base64.b64decode(document["base64"]),
                                     filename=document["filename"])
    if "media" in args:
        args["media"] = [InputMediaPhoto(item["media"], caption=item.get("caption"),
                                         parse_mode=item.get("parse_mode"))
                         for item in args["media"]]
    answer = await getattr(bot, METHODS[message.method])(**args, read_timeout=answer_seconds)
    if isinstance(answer, TelegramObject):
        return answer.to_dict()
    if isinstance(answer, tuple | list):
        return [item.to_dict() for item in answer]
    return answer


def retry_delay(attempts: int) -> timedelta:
    """After a failure: 30 s, 1, 2, 4 ... minutes, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


class Outbox:
    def __init__(self, db: Database, clock: Clock, *, answer_seconds: float = 30.0) -> None:
        self._db = db
        self._clock = clock
        self._answer_seconds = answer_seconds
        self._remember: dict[str, Remember] = {}
        self._refused: dict[str, Refused] = {}
        self._lock = asyncio.Lock()
        self._kicked: asyncio.Task[None] | None = None
        self._again = False
        self._bot: Bot | None = None
        # Several instances: this process's run, noted on what it claims (bot/sharing.py).
        self.run: str | None = None

    def on_sent(self, what: str, callback: Remember) -> None:
        """Register what a feature records once a message of its kind is sent."""
        if what in self._remember:
            raise ValueError(f"outbox record {what!r} already registered")
        self._remember[what] = callback

    def on_refused(self, what: str, callback: Refused) -> None:
        """Register what a feature does when Telegram refuses a message of its kind for
        good (in the transaction that marks it done): e.g. tell someone a pin failed."""
        if what in self._refused:
            raise ValueError(f"outbox refusal {what!r} already registered")
        self._refused[what] = callback

    def attach(self, bot: Bot) -> None:
        self._bot = bot

    async def release_leases(self) -> None:
        """At start: a message the last process was sending when it died is free to go."""
        async with self._db.transaction() as conn:
            await store.release_leases(conn)

    def kick(self) -> None:
        """Deliver what is due now, in the background (after an action committed)."""
        if self._bot is None:
            return
        if self._kicked is not None and not self._kicked.done():
            self._again = True
            return
        self._kicked = asyncio.create_task(self._drain_kicked(), name="outbox")

    async def _drain_kicked(self) -> None:
        while True:
            self._again = False
            try:
                await self.deliver()
            except Exception:
                log.exception("outbox delivery failed")
            if not self._again:
                return

    async def idle(self) -> None:
        """Wait until a kicked delivery has finished (tests, shutdown)."""
        while self._kicked is not None and not self._kicked.done():
            await asyncio.shield(self._kicked)

    async def deliver(self, limit: int | None = None) -> int:
        """Send every message whose time has come (at most ``limit`` of them), oldest
        first; returns how many were taken off the queue."""
        if self._bot is None:
            return 0
        sent = 0
        async with self._lock:
            while limit is None or sent < limit:
                now = self._clock.now()
                async with self._db.transaction() as conn:
                    message = await store.claim_next(conn, now, now + LEASE, run=self.run)
                if message is None:
                    break
                sent += await self._send(self._bot, message)
        return sent

    async def _send(self, bot: Bot, message: QueuedMessage) -> int:
        outcome, answer, again, refusal = "sent", None, None, None
        try:
            answer = await _call(bot, message, self._answer_seconds)
        except AnswerLate:
            # The call went out whole; Telegram carried it out and its answer was lost on
            # the way back. Sending it again would show it twice (and an edit made again
            # is one Telegram refuses as "not modified").
            outcome = "answer late; taken as done"
            log.warning("telegram answered late; not sent again",
                        extra={"key": message.key, "method": message.method})
        except Forbidden as exc:
            outcome, refusal = f"unreachable: {exc.message}", exc.message
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.warning("telegram refused a queued message", extra={
                    "key": message.key, "method": message.method, "error": exc.message})
            outcome, refusal = f"refused: {exc.message}", exc.message
        except RetryAfter as exc:
            # The private field is always a timedelta; the public property warns in PTB 22.
            again, outcome = self._clock.now() + exc._retry_after, "flood wait"
        except (TimedOut, TelegramError) as exc:
            again = self._clock.now() + retry_delay(message.attempts + 1)
            outcome = f"failed: {exc}"
            log.warning("a queued message failed; trying again later", extra={
                "key": message.key, "attempt": message.attempts + 1, "error": str(exc)})
        async def note(conn: Connection) -> int:
            if again is not None:
                await store.retry_at(conn, message.id, again, outcome)
                return 0
            # Done with, whatever the outcome (sent, unreachable, refused for good).
            now = self._clock.now()
            await store.mark_sent(conn, message.id, now, outcome)
            refused = self._refused.get((message.remember or {}).get("what", ""))
            if refusal is not None and refused is not None:
                await refused(conn, message.remember or {}, refusal, now)
            if answer is not None and message.remember is not None:
                callback = self._remember.get(message.remember.get("what", ""))
                if callback is not None:
                    await callback(conn, message.remember, answer, now)
                elif refused is None:  # a kind with only a refusal to handle needs none
                    log.error("no record for a sent message", extra={"key": message.key})
            return 1

        # The message is out: noting it must not be lost to a deadlock the database broke
        # (the feature's record takes its rows after the outbox row; an action may hold
        # them already), or it would go out again when its lease ends.
        return await self._db.retrying(note)
