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

A vote press can be handled on arrival instead (a :class:`PressLane`): recorded in the
transaction that writes the rest of its batch down, before getUpdates confirms the batch,
and answered right after. It then needs no row of its own, nor PTB's objects and dispatch:
in a burst of a thousand presses, that was most of what yishi did beyond answering. Order
is kept: a press goes this way only when nothing fetched before it in its chat is waiting
(a message, a command, a moderator closing the poll) and its presser has no press still
in hand; otherwise it goes the usual way, after them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.lengths import WithinLimits
from bot.transcript import Transcribing
from storage import Connection, inbox

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

# The fetched updates, with each one's JSON as Telegram sent it (by update id), and the
# presses a lane may take (as JSON); returns the ids of those it took.
OnFetch = Callable[[Sequence[Update], dict[int, dict[str, Any]], Sequence[dict[str, Any]]],
                   Awaitable[Collection[int]]]
# Writes the rest of a batch down, in the transaction that records a lane's presses.
WriteAlso = Callable[[Connection], Awaitable[None]]


class PressLane(Protocol):
    """Button presses handled as they are fetched (see the module's docstring)."""

    prefix: str  # the data of the presses it takes starts with this

    def accepts(self, item: dict[str, Any]) -> tuple[int, int] | None:
        """The (chat, presser) of a press this lane can take, read from its JSON."""

    async def take(self, items: Sequence[dict[str, Any]], write_also: WriteAlso) -> None:
        """Record ``items`` and ``write_also`` in one transaction, then answer them; raise,
        changing nothing, if they could not be recorded."""

    async def idle(self) -> None:
        """Wait until every press taken so far is answered."""


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
    message they carry (:func:`lean`). Presses a lane accepts (:meth:`add_lane`) are not
    turned into objects at all unless they end up going the usual way."""

    def __init__(self, *args: Any, on_fetch: OnFetch, lean_presses: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self._on_fetch = on_fetch
            self._fetched: list[Any] = []
            self._presses: list[dict[str, Any]] = []
            self._lean = lean_presses
            self.lane: PressLane | None = None
            # A batch's last update, returned only so that PTB confirms the batch to
            # Telegram: a lane handled it already (the inbox's guard lets it pass by).
            self.confirmations: set[int] = set()

    def add_lane(self, lane: PressLane) -> None:
        with self._unfrozen():
            self.lane = lane

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
            presses: list[dict[str, Any]] = []
            if self.lane is not None:
                kept = []
                for item in result:
                    (presses if _pressed(item, self.lane) else kept).append(item)
                result = kept
            if self._lean:
                # A lean press is written down lean too: read again after a restart, it is
                # the same update its handler would have read, without a poll's post each.
                result = [lean(item, self._lean) for item in result]
                presses = [lean(item, self._lean) for item in presses]
            # Kept as received: writing it down needs no re-encoding of the parsed updates.
            with self._unfrozen():
                self._fetched, self._presses = result, presses
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        with self._unfrozen():
            self._presses = []
        updates = await super().get_updates(*args, **kwargs)
        presses = self._presses
        raw = {item["update_id"]: item for item in self._fetched
               if isinstance(item, dict) and "update_id" in item} if updates else {}
        # An empty batch too: the backlog is fetched.
        taken = await self._on_fetch(updates, raw, presses)
        if not presses:
            return updates
        rest = [Update.de_json(item, self) for item in presses
                if item["update_id"] not in taken]
        merged = sorted([*updates, *(u for u in rest if u is not None)],
                        key=lambda u: u.update_id)
        last = max(item["update_id"] for item in presses)
        if taken and (not merged or merged[-1].update_id < last):
            # PTB confirms a batch by its last update: hand it that one too, handled.
            (confirm,) = (item for item in presses if item["update_id"] == last)
            self.confirmations.add(last)
            merged.append(Update.de_json(confirm, self))
        return tuple(merged)


def _pressed(item: Any, lane: PressLane) -> bool:
    """Whether ``item`` is a press for ``lane``, as far as its JSON says."""
    query = item.get("callback_query") if isinstance(item, dict) else None
    return (isinstance(query, dict) and isinstance(item.get("update_id"), int)
            and str(query.get("data", "")).startswith(lane.prefix)
            and lane.accepts(item) is not None)


# Whether a chat's updates before now are all handled, and the person has no press of
# theirs in it still in hand (bot/updates.py: OrderedUpdateProcessor.clear_for).
ClearFor = Callable[[int, int], bool]


async def store_fetched(services: Any, updates: Sequence[Update],
                        raw: dict[int, dict[str, Any]],
                        presses: Sequence[dict[str, Any]] = (), *,
                        lane: PressLane | None = None,
                        clear_for: ClearFor | None = None) -> set[int]:
    """Write the batch down, and let ``lane`` take the presses it may take now (in the
    same transaction). Returns the ids it took; the rest are handled the usual way. If
    writing fails the batch is still handled (polling must not stop), only without the
    protection against a crash."""
    before = services.inbox.received_before
    taking, rest = _lane_order(updates, presses, lane, clear_for, before)
    rows = [(u.update_id, raw.get(u.update_id) or json.loads(u.to_json()))
            for u in updates if not redelivered(u.update_id, before)]
    rows += [(item["update_id"], item) for item in rest
             if not redelivered(item["update_id"], before)]
    now = services.clock.now()
    if taking and lane is not None:
        highest = max(u["update_id"] for u in presses)
        if updates:
            highest = max(highest, max(u.update_id for u in updates))

        async def write_also(conn: Connection) -> None:
            await inbox.receive(conn, rows, now, highest=highest)

        try:
            await lane.take(taking, write_also)
        except Exception:
            log.exception("presses not recorded on arrival; handled the usual way",
                          extra={"count": len(taking)})
            rows += [(item["update_id"], item) for item in taking]
        else:
            return {item["update_id"] for item in taking}
    if not rows:
        return set()
    try:
        async with services.db.transaction() as conn:
            await inbox.receive(conn, rows, now)
    except Exception:
        log.exception("fetched updates not written to the inbox",
                      extra={"count": len(rows)})
    return set()


def _lane_order(updates: Sequence[Update], presses: Sequence[dict[str, Any]],
                lane: PressLane | None, clear_for: ClearFor | None, before: int
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The presses ``lane`` may take now, and the rest: a press waits its turn the usual
    way when anything fetched before it in its chat does (in this batch, or still in
    hand), or its presser has a press still in hand there."""
    if lane is None or not presses:
        return [], list(presses)
    waiting: set[int] = set()  # chats with an update before, going the usual way
    chats = {u.update_id: u.effective_chat.id for u in updates if u.effective_chat}
    order = sorted([*((u.update_id, None) for u in updates),
                    *((item["update_id"], item) for item in presses)], key=lambda e: e[0])
    taking, rest = [], []
    for update_id, item in order:
        if item is None:
            if update_id in chats:
                waiting.add(chats[update_id])
            continue
        chat_user = lane.accepts(item)
        assert chat_user is not None  # only presses it accepts are here
        chat, user = chat_user
        if (chat in waiting or redelivered(update_id, before)
                or (clear_for is not None and not clear_for(chat, user))):
            waiting.add(chat)
            rest.append(item)
        else:
            taking.append(item)
    return taking, rest


async def receive_pushed(app: Any, update: Update, payload: dict[str, Any]) -> bool:
    """An update Telegram posted to the webhook: written down, then queued, before the
    webhook answers 200 (if writing fails this raises, the webhook answers 500, and
    Telegram sends it again). One Telegram sends again because it missed the 200 is
    recognised by its id and not handled twice. Returns whether it was new."""
    services = app.bot_data.services
    if services.sharing is not None:
        return bool(await services.sharing.received(update, payload))
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
        # Several instances: what is left goes to whoever holds its chat (bot/sharing.py).
        left = [] if services.sharing is not None else await inbox.pending(conn)
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
    if not isinstance(update, Update):
        return
    if update.update_id in getattr(context.bot, "confirmations", ()):
        raise ApplicationHandlerStop  # a lane's, handled on arrival
    if redelivered(update.update_id, state.received_before) \
            and state.replaying.get(update.update_id) is not update:
        raise ApplicationHandlerStop


async def mark_done(services: Any, update_id: int) -> None:
    """Called once an update is handled (after its changes are written)."""
    state: InboxState = services.inbox
    state.replaying.pop(update_id, None)
    if update_id in state.cleared:
        state.cleared.discard(update_id)
    else:
        async with services.db.transaction() as conn:
            await inbox.done(conn, [update_id])
    if services.sharing is not None:
        services.sharing.done(update_id)


def register(app: Any) -> None:
    app.add_handler(TypeHandler(Update, _skip_handled), group=GUARD_GROUP)
