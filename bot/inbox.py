"""Nothing a resident sent is lost to a crash.

PTB's polling confirms a batch of updates to Telegram (by asking for the next offset) as
soon as it has fetched them, and keeps them in memory until they are handled: a process
killed in between would lose them. So each fetched batch is first written to the
``update_inbox`` table; an update leaves it once handled (with the rest of what handling
it changed, see handlers/flows.after_update); at start the bot handles what is left
before anything new.

Updates are handled side by side (bot/updates.py), so they finish out of order: each
leaves the inbox by its own id. What tells an update Telegram delivers again after a crash
(fetched but not yet confirmed) from a new one is the last id received before this start:
anything at or just below it was either handled already or is in the inbox, and is
handled from there, once. Ids far below it are new: Telegram numbers afresh after a week
without updates.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.lengths import WithinLimits
from bot.transcript import Transcribing
from storage import inbox

log = logging.getLogger(__name__)

# Before every feature: drop an update that was already handled.
GUARD_GROUP = -1000
# Telegram delivers again, after a crash, only what it sent last (a batch is at most 100
# updates): an id this far below the last one received is new — Telegram numbering afresh
# (after a week without updates, or a local Bot API restarted) — not a redelivery.
REDELIVERY_WINDOW = 1000


def redelivered(update_id: int, received_before: int) -> bool:
    """Whether an update may be one received before this start (handled, or in the
    inbox), rather than a new one."""
    return received_before - REDELIVERY_WINDOW < update_id <= received_before

# The fetched updates, with each one's JSON as Telegram sent it (by update id).
OnFetch = Callable[[Sequence[Update], dict[int, dict[str, Any]]], Awaitable[None]]


@dataclass
class InboxState:
    # The highest update id received before this start; later ids are new.
    received_before: int = 0
    # The highest received since (by webhook, which sends one at a time, in order).
    newest: int = 0
    # Updates queued from the inbox at start, by id: only these objects pass the guard.
    replaying: dict[int, Update] = field(default_factory=dict)
    # Ids whose inbox row went in the same transaction as their handling (the vote batch).
    cleared: set[int] = field(default_factory=set)


def lean(item: Any, prefixes: tuple[str, ...]) -> Any:
    """A button press whose data starts with one of ``prefixes``, with the message it was
    pressed under cut down to its id, chat and date: what its handler reads. PTB would
    otherwise build the whole message — a poll's post, its text and keyboard — for each of
    a burst's thousand presses."""
    query = item.get("callback_query") if isinstance(item, dict) else None
    if not isinstance(query, dict) or not str(query.get("data", "")).startswith(prefixes):
        return item
    message = query.get("message")
    if not isinstance(message, dict):
        return item
    kept = {name: message[name] for name in ("message_id", "chat", "date") if name in message}
    return {**item, "callback_query": {**query, "message": kept}}


class InboxBot(Transcribing, WithinLimits):
    """An ExtBot that hands every fetched batch to ``on_fetch`` before returning it (and
    notes what it sends, bot/transcript.py). Presses whose data starts with one of
    ``lean_presses`` are turned into objects, and written down in the inbox, without the
    message they carry (:func:`lean`)."""

    def __init__(self, *args: Any, on_fetch: OnFetch, lean_presses: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self._on_fetch = on_fetch
            self._fetched: list[Any] = []
            self._lean = lean_presses

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except BaseException:
            # When the first call fails (a token Telegram rejects), PTB leaves the bot
            # uninitialised and so never shuts its HTTP sessions: close them here.
            await asyncio.gather(*(request.shutdown() for request in self._request),
                                 return_exceptions=True)
            raise

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            if self._lean:
                # A lean press is written down lean too: read again after a restart, it is
                # the same update its handler would have read, without a poll's post each.
                result = [lean(item, self._lean) for item in result]
            # Kept as received: writing it down needs no re-encoding of the parsed updates.
            with self._unfrozen():
                self._fetched = result
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        raw = {item["update_id"]: item for item in self._fetched
               if isinstance(item, dict) and "update_id" in item} if updates else {}
        await self._on_fetch(updates, raw)  # an empty batch too: the backlog is fetched
        return updates


async def store_fetched(services: Any, updates: Sequence[Update],
                       raw: dict[int, dict[str, Any]]) -> None:
    """Write the batch down. If that fails the batch is still handled (polling must not
    stop), only without the protection against a crash."""
    fresh = [u for u in updates
             if not redelivered(u.update_id, services.inbox.received_before)]
    if not fresh:
        return
    try:
        async with services.db.transaction() as conn:
            await inbox.receive(conn, [(u.update_id, raw.get(u.update_id)
                                        or json.loads(u.to_json())) for u in fresh],
                                services.clock.now())
    except Exception:
        log.exception("fetched updates not written to the inbox",
                      extra={"count": len(fresh)})


async def receive_pushed(app: Any, update: Update, payload: dict[str, Any]) -> bool:
    """An update Telegram posted to the webhook: written down, then queued, before the
    webhook answers 200 (if writing fails this raises, the webhook answers 500, and
    Telegram sends it again). One Telegram sends again because it missed the 200 is
    recognised by its id and not handled twice. Returns whether it was new."""
    services = app.bot_data.services
    state: InboxState = services.inbox
    newest = max(state.newest, state.received_before)
    if newest - REDELIVERY_WINDOW < update.update_id <= newest:
        return False
    async with services.db.transaction() as conn:
        await inbox.receive(conn, [(update.update_id, payload)], services.clock.now())
    state.newest = update.update_id
    await app.update_queue.put(update)
    return True


async def replay(app: Any) -> int:
    """At start: queue what was fetched but not handled before the last stop."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        services.inbox.received_before = await inbox.last_received(conn)
        left = await inbox.pending(conn)
    for payload in left:
        update = Update.de_json(payload, app.bot)
        if update is not None:
            services.inbox.replaying[update.update_id] = update
            await app.update_queue.put(update)
    if left:
        log.info("handling updates left from before the restart", extra={"count": len(left)})
    return len(left)


async def _skip_handled(update: object, context: Any) -> None:
    state: InboxState = context.bot_data.services.inbox
    if isinstance(update, Update) and redelivered(update.update_id, state.received_before) \
            and state.replaying.get(update.update_id) is not update:
        raise ApplicationHandlerStop


async def mark_done(services: Any, update_id: int) -> None:
    """Called once an update is handled (after its changes are written)."""
    state: InboxState = services.inbox
    state.replaying.pop(update_id, None)
    if update_id in state.cleared:
        state.cleared.discard(update_id)
        return
    async with services.db.transaction() as conn:
        await inbox.done(conn, [update_id])


def register(app: Any) -> None:
    app.add_handler(TypeHandler(Update, _skip_handled), group=GUARD_GROUP)
