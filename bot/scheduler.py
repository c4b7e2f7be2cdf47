"""The scheduler is only a clock: each tick asks the database what is due, does it, and
marks it done. Feature modules add kinds of due work with ``Scheduler.on``.

Each item is claimed with a lease before it runs and marked done after, each in its own
short transaction (so no database lock is held while talking to Telegram). A crash in
between means the lease runs out and the item runs again: work is never lost, and at
most the one item that was running when the process died can repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.domain.models import DueWork
from storage import Database, due_work

if TYPE_CHECKING:
    from bot.context import YishiApp

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
BATCH = 200


@dataclass(frozen=True)
class Done:
    """The work is finished."""


@dataclass(frozen=True)
class Defer:
    """Not now (quiet hours, a flood limit): try again at ``until``."""

    until: datetime


Outcome = Done | Defer
DueHandler = Callable[["YishiApp", DueWork], Awaitable[Outcome]]


def retry_delay(attempts: int) -> timedelta:
    """Back off after a failure: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


class Scheduler:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._handlers: dict[str, DueHandler] = {}
        self._lock = asyncio.Lock()

    def on(self, kind: str, handler: DueHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"due work kind {kind!r} already has a handler")
        self._handlers[kind] = handler

    async def schedule(self, *, kind: str, key: str, due_at: datetime,
                       payload: dict[str, Any] | None = None) -> None:
        async with self._db.transaction() as conn:
            await due_work.schedule(conn, kind=kind, key=key, due_at=due_at,
                                    now=self._clock.now(), payload=payload)

    async def tick(self, app: YishiApp) -> int:
        """Run everything due now; returns how many items were finished."""
        if self._lock.locked():
            return 0  # the previous tick is still working through a backlog
        async with self._lock:
            finished = 0
            while True:
                now = self._clock.now()
                async with self._db.transaction() as conn:
                    batch = await due_work.due(conn, now, BATCH)
                for work in batch:
                    finished += await self._run(app, work, now)
                if len(batch) < BATCH:
                    return finished

    async def _run(self, app: YishiApp, work: DueWork, now: datetime) -> int:
        lease_until = now + LEASE
        async with self._db.transaction() as conn:
            if not await due_work.claim(conn, work, lease_until):
                return 0
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
