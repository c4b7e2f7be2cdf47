"""Several `yishi run` processes sharing one bot ([instances] shared): on one PostgreSQL
database, behind one webhook URL and any load balancer, so that one can stop, die or be
upgraded while the others answer.

Telegram posts one update at a time (bot/web.py), to whichever instance the balancer
picks. That instance writes it down and, in the same transaction, tells a new update from
one posted again by the deployment's received mark (locked while it decides), so each is
handled once, whoever receives it.

**Each chat's updates in order.** A chat's updates are handled by the run that holds its
lease (``chat_leases``). The instance receiving an update takes the chat's lease if it is
free, its own, or a dead run's, and then handles whatever of that chat is waiting before
the update, then the update. If another live run holds the chat, the update only waits in
the inbox: that run looks at its chats every ``LOOK`` seconds and when it finishes one,
and hands it what is new, in order. A run gives a chat up once nothing of it is in hand
or waiting, in one statement that sees an update written down meanwhile.

**A run dies.** Each run beats every ``BEAT`` seconds; one not heard from for ``ALIVE`` is
dead. Its chats are taken over by whoever looks first (the updates it had not finished
are handled again, as after a restart of one process), and the outbox messages and due
work it had claimed go back to the queue at once rather than when their leases run out.
A run started again under its instance's name ([instances] name) takes over at once.

**Due work and the outbox** are claimed row by row, skipping rows another run has
locked (storage/due_work.claim_due, storage/outbox.claim_next), so no two runs send the
same reminder.

**Telegram's limits for all of them together**: every message takes its place in the
deployment's windows in the database before it goes (:class:`SharedBudget`), on top of
each process's own windows and order (bot/sending.py).

**Conversations** move with their chat: before each update a run reads the person's flow
states and data again from the database (bot/persistence.py, handlers/flows.py), since
another run may have handled their last step.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.inbox import redelivered
from bot.sending import GROUP_PER_MINUTE, OVERALL_PER_SECOND
from storage import Connection, Database, instances

log = logging.getLogger(__name__)

# A run not heard from for this long is dead; each beats this often (seconds).
ALIVE = timedelta(seconds=20)
BEAT = 2.0
# How often a run looks for updates other instances wrote down for its chats (seconds).
LOOK = 0.5
# Chats taken over from dead runs in one look, at most.
ADOPT_AT_ONCE = 100
# Seconds added to the deployment's windows (bot/sending.py adds 0.04 and 0.5 for one
# process): a message takes its place a moment before it leaves, and the moments differ
# more between processes, and machines, than within one. Three processes on two cores
# drew a 429 now and then with 0.04; with these the deployment sends at most 26 a second.
SHARED_MARGIN = {1.0: 0.15, 60.0: 1.0}


def instance_name(configured: str, port: int) -> str:
    """The configured name, or the host's name and the web port."""
    return configured or f"{socket.gethostname()}:{port}"[:64]


def chat_key(update: Update) -> int:
    """The chat whose order an update keeps: its chat, or its sender's (negated) for an
    update without a chat, as bot/updates.py orders them."""
    chat, user = update.effective_chat, update.effective_user
    if chat is not None:
        return chat.id
    return -abs(user.id) if user is not None else 0


class Sharing:
    """This process's part in a shared deployment (see the module's docstring)."""

    def __init__(self, services: Any, name: str) -> None:
        self._services = services
        self._db: Database = services.db
        self.name = name
        self.run = uuid.uuid4().hex[:16]
        self._app: Any = None
        self._held: set[int] = set()
        self._in_hand: dict[int, set[int]] = {}  # chat -> updates queued, not yet done
        self._chat_of: dict[int, int] = {}  # update -> its chat, while in hand
        self._moving = asyncio.Lock()  # receiving and looking never interleave
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_beat = 0.0

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    async def start(self, app: Any) -> None:
        """Join the deployment: take over at once what this instance's last run held,
        then look after this run's chats in the background."""
        self._app = app
        services = self._services
        services.outbox.run = services.scheduler.run = self.run
        async with self._db.transaction() as conn:
            await instances.register(conn, self.name, self.run)
            keyless = await instances.keyless(conn)
            keys = {}
            for update_id, payload in keyless:
                update = Update.de_json(payload, app.bot)
                keys[update_id] = chat_key(update) if update is not None else 0
            await instances.set_chat_keys(conn, keys)
        await self._look(beat=True)
        self._task = asyncio.create_task(self._loop(), name="sharing")
        log.info("instance joined", extra={"instance": self.name, "run": self.run})

    async def stop(self) -> None:
        """Leave: this run's chats are free for the others at once (what it had not
        handled waits in the inbox for them)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            async with self._db.transaction() as conn:
                await instances.leave(conn, self.run)
        except Exception:
            log.warning("could not leave the deployment cleanly; the others take over "
                        "when this run is seen dead", exc_info=True)

    async def received(self, update: Update, payload: dict[str, Any]) -> bool:
        """An update posted to this instance: written down; handled here, after what
        waits before it in its chat, if this run holds or takes its chat. Returns whether
        it was new."""
        key = chat_key(update)
        now = self._services.clock.now()
        async with self._moving:
            async with self._db.transaction() as conn:
                if redelivered(update.update_id, await instances.received_mark(conn)):
                    return False
                await instances.receive(conn, update.update_id, payload, key, now)
                mine = bool(await instances.take_chats(conn, [key], self.run, ALIVE))
                earlier = await self._new(conn, await instances.waiting(
                    conn, self.run, chat_key=key, before=update.update_id)) if mine else []
            if mine:
                self._held.add(key)
                await self._queue(earlier)
                await self._hand(update.update_id, key, update)
        return True

    def done(self, update_id: int) -> None:
        """An update handled here has left the inbox."""
        key = self._chat_of.pop(update_id, None)
        if key is None:
            return
        ids = self._in_hand.get(key)
        if ids is not None:
            ids.discard(update_id)
            if not ids:
                del self._in_hand[key]
                self._wake.set()  # its chat may have more waiting, or be free to give up

    # ------------------------------------------------------------------ internals

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), LOOK)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._look(beat=time.monotonic() - self._last_beat >= BEAT)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not look after this run's chats; trying again")

    async def _look(self, *, beat: bool) -> None:
        """Beat (now and then), take over dead runs' chats and claims, hand over what
        waits in this run's chats, and give up the chats with nothing left."""
        async with self._moving:
            async with self._db.transaction() as conn:
                if beat:
                    if not await instances.beat(conn, self.run):
                        log.error("another process runs under this instance's name; give "
                                  "each its own [instances] name", extra={"instance": self.name})
                        await instances.register(conn, self.name, self.run)
                    messages, work = await instances.release_dead(
                        conn, ALIVE, self._services.clock.now())
                    if messages or work:
                        log.warning("took over what a dead instance had claimed",
                                    extra={"messages": messages, "due_work": work})
                    orphans = await instances.orphaned(conn, ALIVE, ADOPT_AT_ONCE)
                    if orphans:
                        taken = await instances.take_chats(conn, orphans, self.run, ALIVE)
                        if taken:
                            log.info("took over chats", extra={"chats": len(taken)})
                self._held = await instances.held(conn, self.run)
                waiting = await instances.waiting(conn, self.run)
                still = {update_id for update_id, _key in waiting}
                for key in list(self._in_hand):
                    # Handled (or given to another run while this one was thought dead).
                    for update_id in self._in_hand[key] - still:
                        self._services.inbox.replaying.pop(update_id, None)
                        self.done(update_id)
                busy = {key for _id, key in waiting} | set(self._in_hand)
                self._held -= await instances.release_idle(conn, self.run,
                                                           self._held - busy)
                new = await self._new(conn, waiting)
            if beat:
                self._last_beat = time.monotonic()
            await self._queue(new)

    async def _new(self, conn: Connection, rows: Sequence[tuple[int, int]]
                   ) -> list[tuple[int, int, dict[str, Any]]]:
        """Of ``rows``, those not in hand here, with what Telegram sent."""
        fresh = [(update_id, key) for update_id, key in rows if update_id not in self._chat_of]
        found = await instances.payloads(conn, [update_id for update_id, _key in fresh])
        return [(update_id, key, found[update_id]) for update_id, key in fresh
                if update_id in found]

    async def _queue(self, items: Sequence[tuple[int, int, dict[str, Any]]]) -> None:
        for update_id, key, payload in items:
            if update_id in self._chat_of:
                continue  # in hand already
            update = Update.de_json(payload, self._app.bot)
            if update is not None:
                await self._hand(update_id, key, update)

    async def _hand(self, update_id: int, key: int, update: Update) -> None:
        """Queue an update for handling here; it passes the inbox's guard as a replayed
        one does (bot/inbox.py), and is :meth:`done` once it has left the inbox."""
        self._chat_of[update_id] = key
        self._in_hand.setdefault(key, set()).add(update_id)
        self._services.inbox.replaying[update_id] = update
        await self._app.update_queue.put(update)


class SharedBudget:
    """Telegram's windows for the whole deployment, kept in the database: a message goes
    only once it has a place in the overall window and, to a group, in the group's
    (bot/delivery.py asks, after this process's own windows gave it their places)."""

    def __init__(self, db: Database, *, speedup: int = 1) -> None:
        self._db = db
        self._overall = (OVERALL_PER_SECOND * speedup, 1.0 + SHARED_MARGIN[1.0], False)
        self._group = (GROUP_PER_MINUTE * speedup, 60.0 + SHARED_MARGIN[60.0], True)

    async def reserve(self, chat_id: int | None) -> float:
        """0 once a place is taken for a message to ``chat_id``; else the seconds to wait
        before asking again."""
        windows = [self._overall]
        if chat_id is not None and chat_id < 0:
            windows.append(self._group)
        async with self._db.transaction() as conn:
            return await instances.reserve_send(conn, chat_id, windows)
