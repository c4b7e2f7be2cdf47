"""What handlers and jobs reach through the context: settings, storage, the clock, roles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application

from bot.chart import ChartFiles
from bot.clock import Clock
from bot.config import Settings
from bot.domain.models import Community
from bot.domain.quiet_hours import QuietHours
from bot.inbox import InboxState
from bot.metrics import Metrics
from storage import Database
from storage.migrate import upgrade

if TYPE_CHECKING:
    from bot.outbox import Outbox
    from bot.roles import AdminCache
    from bot.scheduler import Scheduler
    from bot.sharing import Sharing
    from bot.web import WebEndpoint

log = logging.getLogger(__name__)


# The running application, as start-up hooks receive it (bot/context.py names it YishiApp;
# this module is imported by that one, so it names no more than PTB's own type).
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    admins: AdminCache
    scheduler: Scheduler[Any]
    # Messages owed by business actions, delivered exactly once (bot/outbox.py).
    outbox: Outbox
    bot_username: str = ""
    # Persistent multi-step flows by name, so the scheduler can end an idle one.
    # name -> handlers.flows.Flow (its ConversationHandler, the command that starts it)
    flows: dict[str, Any] = field(default_factory=dict)
    # Run once the bot is up (after storage and the menus): features arm their schedules.
    startup: list[Callable[[AnyApplication], Awaitable[None]]] = field(default_factory=list)
    # Run when a group's time zone changes: features plan again what falls at a local hour.
    zone_changed: list[Callable[[AnyApplication, Community], Awaitable[None]]] = field(
        default_factory=list)
    # Start hooks and the command menus, started at start-up and not waited for.
    warmup: asyncio.Task[None] | None = None
    # When a live post was last edited (monotonic seconds), to space edits out.
    post_edited: dict[str, float] = field(default_factory=dict)
    # Charts Telegram already has, by what they show (bot/chart.py).
    chart_files: ChartFiles = field(default_factory=ChartFiles)
    # Which updates are new, replayed or already cleared (bot/inbox.py).
    inbox: InboxState = field(default_factory=InboxState)
    # The bot is the whole process (`yishi run`): start-up's objects are frozen out of the
    # garbage collector's sight once it is up (bot/app.py).
    freeze_after_start: bool = False
    # What an operator watches (GET /metrics and /healthz, bot/web.py).
    metrics: Metrics = field(default_factory=Metrics)
    # The HTTP endpoint ([web] port), once started (bot/web.py).
    web: WebEndpoint | None = None
    # Several instances sharing the bot ([instances] shared, bot/sharing.py).
    sharing: Sharing | None = None
    _storage_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _storage_open: bool = False

    async def open_storage(self) -> None:
        """Open the database and bring its schema up to date, once per process."""
        async with self._storage_lock:
            if self._storage_open:
                return
            await self.db.open()
            revision = await upgrade(self.db)
            log.info("storage ready", extra={"schema": revision})
            self._storage_open = True

    @property
    def default_language(self) -> str:
        return self.settings.community.language

    @property
    def default_quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.settings.community.quiet_hours)


class BotData:
    """``application.bot_data``: typed, holding the services; never persisted."""

    services: Services
