"""Every call to Telegram passes here: the flood limits as Telegram counts them (strict
windows, answers to people first: bot/sending.py), a 429 waited out, and what a failed
call means for yishi.

- 5xx from Telegram: retried twice with a short backoff, then raised (and logged by the
  caller or the error handler). A timeout is not retried here: the message may have
  arrived, and sending twice is worse than once late (the scheduler's own retry covers
  due work).
- 403 in a private chat (blocked, or never started): the person is marked unreachable, so
  nothing tries again until they write to the bot; in a group (removed, kicked): the
  community is marked inactive.
- 400 "chat not found": for a group, the community is marked inactive; for a person, as
  for 403.
- 400 for answerCallbackQuery (too old, or answered before a crash and now handled again):
  ignored, so the rest of the button's work is still done.
- 400 with ``migrate_to_chat_id`` (the group became a supergroup while the bot missed the
  service message): the community moves to the new id and the call is made again there.

A reply to a person's command in a group, when the group's 20-a-minute budget would hold
it back longer than ``PRIVATE_AFTER``, goes to that person in private, with a line saying
why (bot/sending.py); where they have no private chat with the bot, it waits its turn in
the group. Only a plain reply moves (or one whose buttons open links): a message with
other buttons stays where they work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import BaseRateLimiter

from bot.clock import Clock
from bot.metrics import Metrics
from bot.sending import (
    PRIVATE_AFTER,
    Asker,
    Windows,
    answering_whom,
    current_asker,
    is_answer,
)
from storage import Database, communities, people

log = logging.getLogger(__name__)

SERVER_RETRIES = 2
# Calls to Telegram under way at once. Updates are handled side by side, and a burst would
# otherwise open a connection per answer; a few busy connections carry more calls a second
# than many idle ones (measured with 4 to 32: 8 was best, 32 no better).
IN_FLIGHT = 8
# What Telegram's flood limits count: messages sent and edited. Everything else (answering
# a button press, asking who is a member, deleting, pinning) goes at once, never behind
# messages waiting for their budget or a 429's pause: a group whose 20 a minute are spent
# must not hold up the membership check of a person writing in private.
MESSAGES = ("send", "edit", "copyMessage", "forwardMessage", "stopPoll")
NOT_MESSAGES = frozenset({"sendChatAction"})


def counted(endpoint: str) -> bool:
    """Whether a call counts against Telegram's flood limits."""
    return endpoint.startswith(MESSAGES) and endpoint not in NOT_MESSAGES


@dataclass(frozen=True)
class ChatNotes:
    """What a failed delivery means, written down (see :func:`chat_notes`)."""

    unreachable: Callable[[int], Awaitable[None]]  # a person blocked the bot, or never began
    gone: Callable[[int], Awaitable[None]]  # a group removed the bot, or no longer exists
    moved: Callable[[int, int], Awaitable[None]]  # a group became a supergroup: old, new
    # Whether the calling task holds a transaction open (then a note waits until after it).
    in_transaction: Callable[[], bool]


class Budget(Protocol):
    """Places in windows shared with other processes (bot/sharing.SharedBudget)."""

    async def reserve(self, chat_id: int | None) -> float: ...


class Delivery(BaseRateLimiter[int]):
    def __init__(self, *, notes: ChatNotes | None = None, max_retries: int = 3,
                 backoff: float = 0.25, speedup: int = 1,
                 metrics: Metrics | None = None, budget: Budget | None = None) -> None:
        # Telegram's limits: 30 messages a second, 20 a minute per group (real time; only
        # a simulation that compresses time scales them by ``speedup``).
        self._windows = Windows(speedup=speedup)
        # Several instances: the windows of the whole deployment (bot/sharing.py).
        self._budget = budget
        self._max_retries = max_retries
        self._backoff = backoff
        self._notes = notes
        self._pending: set[asyncio.Task[None]] = set()
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self._metrics = metrics or Metrics()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def _send(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                    kwargs: dict[str, Any], data: dict[str, Any], *, limited: bool = True
                    ) -> Any:
        """Wait for the send's places in the windows (never holding one of the IN_FLIGHT
        connections meanwhile), take them, and make the call in the same instant; a 429
        from Telegram is waited out and the call made again, up to ``max_retries``. A call
        that is not a message (``limited`` False) goes at once."""
        for attempt in range(self._max_retries + 1):
            ticket = self._windows.ticket(_chat_id(data), answer=is_answer(),
                                          who=answering_whom())
            try:
                if not limited:
                    return await callback(*args, **kwargs)
                placed = False  # this process's windows gave the send its places
                while True:
                    if not placed:
                        wait = self._windows.wait(ticket)
                        if wait > 0:
                            await asyncio.sleep(wait)
                            continue
                    async with self._in_flight:
                        if not placed:
                            if not self._windows.take(ticket):
                                continue
                            placed = True
                        wait = await self._shared_wait(_chat_id(data))
                        if wait <= 0:
                            result = await callback(*args, **kwargs)
                            self._metrics.sent.labels(_method(args)).inc()
                            return result
                    await asyncio.sleep(wait)  # the deployment's windows are full
            except RetryAfter as exc:
                self._metrics.flood_waits.inc()
                if attempt == self._max_retries:
                    raise
                self._metrics.retries.inc()
                log.warning("telegram asked to wait", extra={"seconds": exc.retry_after})
                await asyncio.sleep(float(exc.retry_after) + 0.1)
            finally:
                self._windows.answered(ticket)
                self._windows.done(ticket)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _shared_wait(self, chat_id: int | None) -> float:
        """Several instances: seconds until the deployment's windows have a place for the
        send (0: taken now, bot/sharing.py). Should the database not answer, the send goes
        by this process's windows alone rather than not at all."""
        if self._budget is None:
            return 0.0
        try:
            return await self._budget.reserve(chat_id)
        except Exception:
            log.warning("the shared send budget could not be read; sending by this "
                        "process's limits alone", exc_info=True)
            return 0.0

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        limited = counted(endpoint)
        asker = self._private_instead(endpoint, data)
        if asker is not None:
            sent = await self._send_privately(asker, callback, args, kwargs, data)
            if sent is not None:
                return sent
        moved = False
        for attempt in range(SERVER_RETRIES + 1):
            try:
                return await self._send(callback, args, kwargs, data, limited=limited)
            except ChatMigrated as exc:
                old = _chat_id(data)
                if moved or old is None:
                    raise
                moved = True
                await self._note("moved", old, exc.new_chat_id)
                data["chat_id"] = exc.new_chat_id
            except Forbidden:
                chat_id = _chat_id(data)
                if chat_id is not None:
                    await self._note("unreachable", chat_id)
                raise
            except BadRequest as exc:
                if endpoint == "answerCallbackQuery":
                    # Too old, or already answered before a crash (the update came again):
                    # the button's work must still be done, so this is not an error.
                    log.info("button answer refused", extra={"error": exc.message})
                    return True
                chat_id = _chat_id(data)
                if chat_id is not None and "chat not found" in exc.message.lower():
                    await self._note("gone" if chat_id < 0 else "unreachable", chat_id)
                raise
            except TimedOut:
                raise
            except NetworkError as exc:
                if attempt == SERVER_RETRIES:
                    raise
                self._metrics.retries.inc()
                log.warning("telegram server error, retrying", extra={
                    "method": endpoint, "attempt": attempt + 1, "error": str(exc)})
                await asyncio.sleep(self._backoff * 2 ** attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _private_instead(self, endpoint: str, data: dict[str, Any]) -> Asker | None:
        """The person to answer in private instead of in their busy group, if any."""
        asker = current_asker()
        if (asker is None or endpoint != "sendMessage" or _chat_id(data) != asker.chat_id
                or not _links_only(data.get("reply_markup")) or data.get("parse_mode") != "HTML"
                or _replied_to(data) != asker.message_id):
            return None
        if self._windows.group_wait(asker.chat_id) <= PRIVATE_AFTER:
            return None
        return asker

    async def _send_privately(self, asker: Asker, callback: Callable[..., Coroutine[Any, Any,
                              Any]], args: Any, kwargs: dict[str, Any],
                              data: dict[str, Any]) -> Any:
        """Send the reply to the asker in private (None: they cannot be reached there)."""
        note = await asker.note()
        text = f"{note}\n\n{data.get('text', '')}"
        if len(text) > MessageLimit.MAX_TEXT_LENGTH:
            return None
        group = dict(data)
        data.update(chat_id=asker.user_id, text=text)
        for key in ("reply_parameters", "message_thread_id", "reply_to_message_id"):
            data.pop(key, None)
        try:
            sent = await self._send(callback, args, kwargs, data)
        except (Forbidden, BadRequest) as exc:
            if isinstance(exc, Forbidden) or "chat not found" in exc.message.lower():
                await self._note("unreachable", asker.user_id)
            data.clear()
            data.update(group)
            return None
        log.info("group busy: answered in private", extra={"chat_id": asker.chat_id})
        return sent

    async def _note(self, what: str, *ids: int) -> None:
        """Record what the failure means. Inside a caller's open transaction a second one
        cannot start, so then it is written just after, in a task of its own."""
        if self._notes is None:
            return
        write: Callable[..., Awaitable[None]] = getattr(self._notes, what)
        if self._notes.in_transaction():
            task = asyncio.create_task(self._write(write, *ids))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        await self._write(write, *ids)

    @staticmethod
    async def _write(write: Callable[..., Awaitable[None]], *ids: int) -> None:
        try:
            await write(*ids)
        except Exception:
            log.exception("could not record a failed delivery")


def chat_notes(db: Database, clock: Clock) -> ChatNotes:
    """The notes a failed delivery leaves in storage."""
    async def unreachable(chat_id: int) -> None:
        async with db.transaction() as conn:
            if chat_id > 0:
                await people.unreachable(conn, chat_id)
            else:
                await communities.deactivate(conn, chat_id, clock.now())
        log.info("chat unreachable", extra={"private": chat_id > 0})

    async def gone(chat_id: int) -> None:
        async with db.transaction() as conn:
            await communities.deactivate(conn, chat_id, clock.now())
        log.info("group gone", extra={"chat_id": chat_id})

    async def moved(old: int, new: int) -> None:
        async with db.transaction() as conn:
            await communities.move_chat(conn, old, new, clock.now())
        log.info("group moved", extra={"from": old, "to": new})

    return ChatNotes(unreachable=unreachable, gone=gone, moved=moved,
                     in_transaction=db.in_transaction)


def _method(args: Any) -> str:
    """The Bot API method of a call, as PTB passes it to the limiter (endpoint first)."""
    return str(args[0]) if args and isinstance(args[0], str) else "other"


def _links_only(markup: Any) -> bool:
    """Whether a message's buttons (if any) only open links, and so work in any chat."""
    if markup is None:
        return True
    rows = getattr(markup, "inline_keyboard", None)
    return rows is not None and all(getattr(b, "url", None) for row in rows for b in row)


def _replied_to(data: dict[str, Any]) -> int | None:
    """The message a send replies to, whether PTB passes it as an object or a dict."""
    reply = data.get("reply_parameters")
    if reply is None:
        return None
    message_id = reply.get("message_id") if isinstance(reply, dict) else getattr(
        reply, "message_id", None)
    return int(message_id) if message_id is not None else None


def _chat_id(data: dict[str, Any]) -> int | None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(data["chat_id"])
    return None
