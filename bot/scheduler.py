"""The scheduler is only a clock: each tick asks the database what is due, does it, and
marks it done. Feature modules add kinds of due work with ``Scheduler.on``.

A batch of due items is claimed with a lease in one short transaction, and each item is
marked done in its own as soon as it finishes (so no database lock is held while talking
to Telegram). A crash in between means the lease runs out and the rest of the batch runs
then: work is never lost, and at most the items that were running when the process died
can repeat.

Items run one after another, in the order they fell due, except kinds registered as
``concurrent`` (work for one community each, such as the weekly summaries, where many
fall due together): those run side by side, a few at a time, so that hundreds of them
are paced by Telegram's limits rather than by each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.clock import Clock
from bot.domain.models import DueWork
from storage import Database, due_work

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
BATCH = 200
CONCURRENCY = 16  # concurrent items in flight at once


@dataclass(frozen=True)
class Done:
    """The work is finished."""


@dataclass(frozen=True)
class Defer:
    """Not now (quiet hours, a flood limit): try again at ``until``."""

    until: datetime


Outcome = Done | Defer
# What the handlers of due work are given besides the work: the running application, which
# the scheduler passes through without knowing what it is.
App = TypeVar("App")
DueHandler = Callable[[App, DueWork], Awaitable[Outcome]]


def retry_delay(attempts: int) -> timedelta:
    """Back off after a failure: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


class Scheduler(Generic[App]):
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._handlers: dict[str, DueHandler[App]] = {}
        self._concurrent: set[str] = set()
        self._lock = asyncio.Lock()
        # Several instances: this process's run, noted on what it claims (bot/sharing.py).
        self.run: str | None = None

    def on(self, kind: str, handler: DueHandler[App], *, concurrent: bool = False) -> None:
        """Register the handler of ``kind``; ``concurrent`` kinds may run side by side
        (each item must touch only its own community's data)."""
        if kind in self._handlers:
            raise ValueError(f"due work kind {kind!r} already has a handler")
        self._handlers[kind] = handler
        if concurrent:
            self._concurrent.add(kind)

    async def schedule(self, *, kind: str, key: str, due_at: datetime,
                       payload: dict[str, Any] | None = None) -> None:
        async with self._db.transaction() as conn:
            await due_work.schedule(conn, kind=kind, key=key, due_at=due_at,
                                    now=self._clock.now(), payload=payload)

    async def tick(self, app: App) -> int:
        """Run everything due now; returns how many items were finished."""
        if self._lock.locked():
            return 0  # the previous tick is still working through a backlog
        async with self._lock:
            finished = 0
            while True:
                now = self._clock.now()
                lease_until = now + LEASE
                async with self._db.transaction() as conn:
                    batch = await due_work.claim_due(conn, now, lease_until, BATCH,
                                                      run=self.run)
                finished += await self._run_batch(app, batch, lease_until)
                if len(batch) < BATCH:
                    return finished

    async def _run_batch(self, app: App, batch: list[DueWork],
                         lease_until: datetime) -> int:
        """The batch's ordinary items one by one, in order, beside its concurrent ones."""
        in_order = [w for w in batch if w.kind not in self._concurrent]
        slots = asyncio.Semaphore(CONCURRENCY)

        async def side_by_side(work: DueWork) -> int:
            async with slots:
                return await self._run(app, work, lease_until)

        async def one_by_one() -> int:
            return sum([await self._run(app, work, lease_until) for work in in_order])

        return sum(await asyncio.gather(one_by_one(), *(
            side_by_side(work) for work in batch if work.kind in self._concurrent)))

    async def _run(self, app: App, work: DueWork, lease_until: datetime) -> int:
        """Run one claimed item and record how it ended."""
        now = lease_until - LEASE
        handler = self._handlers.get(work.kind)
        failed = False
        try:
            if handler is None:
                raise LookupError(f"no handler for due work kind {work.kind!r}")
            outcome = await handler(app, work)
        except Exception:
            log.exception("due work failed", extra={"kind": work.kind, "key": work.key,
                                                     "attempt": work.attempts + 1})
            outcome = Defer(now + retry_delay(work.attempts + 1))
            failed = True
        async with self._db.transaction() as conn:
            if isinstance(outcome, Defer):
                # Deferred by choice (quiet hours, the next run) starts its count of
                # failures afresh; a failure keeps it, so the backoff grows.
                await due_work.postpone(conn, work.id, lease_until=lease_until,
                                        until=outcome.until, reset_attempts=not failed)
                return 0
            await due_work.mark_done(conn, work.id, lease_until=lease_until,
                                     now=self._clock.now())
        return 1
