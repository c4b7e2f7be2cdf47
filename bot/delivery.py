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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

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
from bot.sending import Windows, is_answer
from storage import Database, communities, people

log = logging.getLogger(__name__)

SERVER_RETRIES = 2
# Calls to Telegram under way at once. Updates are handled side by side, and a burst would
# otherwise open a connection per answer; a few busy connections carry more calls a second
# than many idle ones (measured with 4 to 32: 8 was best, 32 no better).
IN_FLIGHT = 8
# Calls that are answers, not messages: Telegram does not count them against the flood
# limits (answering a button press), so no limiter or pause holds them back.
UNLIMITED = frozenset({"answerCallbackQuery"})


@dataclass(frozen=True)
class ChatNotes:
    """What a failed delivery means, written down (see :func:`chat_notes`)."""

    unreachable: Callable[[int], Awaitable[None]]  # a person blocked the bot, or never began
    gone: Callable[[int], Awaitable[None]]  # a group removed the bot, or no longer exists
    moved: Callable[[int, int], Awaitable[None]]  # a group became a supergroup: old, new
    # Whether the calling task holds a transaction open (then a note waits until after it).
    in_transaction: Callable[[], bool]


class Delivery(BaseRateLimiter[int]):
    def __init__(self, *, notes: ChatNotes | None = None, max_retries: int = 3,
                 backoff: float = 0.25, speedup: int = 1) -> None:
        # Telegram's limits: 30 messages a second, 20 a minute per group (real time; only
        # a simulation that compresses time scales them by ``speedup``).
        self._windows = Windows(speedup=speedup)
        self._max_retries = max_retries
        self._backoff = backoff
        self._notes = notes
        self._pending: set[asyncio.Task[None]] = set()
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def _send(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                    kwargs: dict[str, Any], data: dict[str, Any]) -> Any:
        """Wait for the send's places in the windows (never holding one of the IN_FLIGHT
        connections meanwhile), take them, and make the call in the same instant; a 429
        from Telegram is waited out and the call made again, up to ``max_retries``."""
        for attempt in range(self._max_retries + 1):
            ticket = self._windows.ticket(_chat_id(data), answer=is_answer())
            try:
                while True:
                    wait = self._windows.wait(ticket)
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    async with self._in_flight:
                        if self._windows.take(ticket):
                            return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                log.warning("telegram asked to wait", extra={"seconds": exc.retry_after})
                await asyncio.sleep(float(exc.retry_after) + 0.1)
            finally:
                self._windows.done(ticket)
        raise AssertionError("unreachable")  # pragma: no cover

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint in UNLIMITED:
            # Telegram does not rate-limit these, and a person is waiting on them: they go
            # at once, never behind messages waiting for their budget or a 429's pause.
            try:
                return await callback(*args, **kwargs)
            except BadRequest as exc:
                if endpoint != "answerCallbackQuery":
                    raise
                log.info("button answer refused", extra={"error": exc.message})
                return True
        moved = False
        for attempt in range(SERVER_RETRIES + 1):
            try:
                return await self._send(callback, args, kwargs, data)
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
                log.warning("telegram server error, retrying", extra={
                    "method": endpoint, "attempt": attempt + 1, "error": str(exc)})
                await asyncio.sleep(self._backoff * 2 ** attempt)
        raise AssertionError("unreachable")  # pragma: no cover

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


def _chat_id(data: dict[str, Any]) -> int | None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(data["chat_id"])
    return None
