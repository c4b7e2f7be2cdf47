"""The application factory: the one place the PTB Application is put together."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Collection, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.clock import Clock, FileClock, SystemClock
from bot.commands import Where, visible
from bot.config import Settings
from bot.context import YishiApp, YishiContext
from bot.delivery import IN_FLIGHT, Delivery, chat_notes
from bot.domain.durations import prepare_parsers
from bot.domain.models import Role
from bot.i18n import LANGUAGES, translator
from bot.inbox import InboxBot, replay, store_fetched
from bot.logs import keep_people_out_of_logs
from bot.outbox import Outbox
from bot.persistence import StoragePersistence
from bot.roles import AdminCache
from bot.scheduler import Scheduler
from bot.services import BotData, Services
from bot.sharing import SharedBudget, Sharing, instance_name
from bot.transport import AiohttpRequest
from bot.updates import OrderedUpdateProcessor
from bot.web import WebEndpoint
from handlers import Feature, register_all
from handlers.polls.callbacks import VOTE
from storage import Database

log = logging.getLogger(__name__)

TICK_JOB = "scheduler:tick"


def build_application(settings: Settings, *, clock: Clock | None = None,
                      extra_features: Sequence[Feature] = (),
                      speedup: int = 1) -> YishiApp:
    """Build the bot as `yishi run` runs it.

    Tests pass a controllable clock, and may plug in a feature of their own (registered
    where the built-in features are, before /start and the fallbacks). The simulation,
    which lives a building's day in seconds, scales Telegram's real-time limits by
    ``speedup``; `yishi run` never does.
    """
    keep_people_out_of_logs()
    if clock is None:
        clock = FileClock(Path(settings.scheduler.clock_file)) \
            if settings.scheduler.clock_file else SystemClock()
    db = Database(settings.storage.url)
    scheduler: Scheduler[YishiApp] = Scheduler(db, clock)
    services = Services(
        settings=settings,
        db=db,
        clock=clock,
        admins=AdminCache(clock, settings.roles.admin_cache_seconds),
        scheduler=scheduler,
        outbox=Outbox(db, clock, answer_seconds=settings.telegram.outbox_answer_seconds),
    )
    if settings.instances.shared:
        services.sharing = Sharing(services, instance_name(settings.instances.name,
                                                           settings.web.port))
    delivery = Delivery(notes=chat_notes(db, clock), max_retries=3, speedup=speedup,
                        metrics=services.metrics,
                        budget=SharedBudget(db, speedup=speedup)
                        if settings.instances.shared else None)
    # PTB reads the persistence before post_init runs, so whichever comes first opens storage.
    persistence = StoragePersistence(
        db, clock, timedelta(minutes=settings.conversations.idle_timeout_minutes),
        on_first_use=services.open_storage,
        # Another instance may have handled the person's last step (bot/sharing.py).
        refresh=settings.instances.shared,
    )
    # The bot is built here rather than by the builder so that every fetched batch of
    # updates is written down before PTB confirms it to Telegram (bot/inbox.py).
    def handled(update: object, seconds: float) -> None:
        if isinstance(update, Update) and update.update_id in bot.confirmations:
            bot.confirmations.discard(update.update_id)  # counted by its lane
            return
        services.metrics.handled(seconds)

    processor = OrderedUpdateProcessor(on_handled=handled)

    async def on_fetch(updates: Sequence[Update], raw: dict[int, dict[str, Any]],
                       presses: Sequence[dict[str, Any]]) -> Collection[int]:
        taken = await store_fetched(services, updates, raw, presses, lane=bot.lane,
                                    clear_for=processor.clear_for)
        processor.fetched(len(updates) + len(presses))
        return taken

    bot = InboxBot(
        token=settings.telegram.token.get_secret_value(),
        base_url=settings.telegram.base_url,
        base_file_url=settings.telegram.base_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML,
                          tzinfo=ZoneInfo(settings.community.timezone)),
        request=AiohttpRequest(connections=2 * IN_FLIGHT),
        get_updates_request=AiohttpRequest(connections=1),
        rate_limiter=delivery,
        on_fetch=on_fetch,
        # A vote's handler reads only the chat it was pressed in (handlers/polls/votes.py).
        lean_presses=(VOTE.prefix + ":",),
    )
    app: YishiApp = (
        ApplicationBuilder()
        .bot(bot)
        .persistence(persistence)
        .context_types(ContextTypes(context=YishiContext, bot_data=BotData))
        .application_class(_Application)
        .concurrent_updates(processor)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data.services = services
    register_all(app, extra_features)
    return app


class _Application(Application):  # type: ignore[type-arg]
    """PTB's Application, stopping without waiting for a busy group's backlog."""

    async def stop(self) -> None:
        processor = self.update_processor
        if isinstance(processor, OrderedUpdateProcessor):
            processor.let_go()  # what waits for its turn stays in the inbox for next time
        lane = getattr(self.bot, "lane", None)
        if lane is not None:
            await lane.idle()  # votes recorded on arrival get their answers
        await super().stop()


async def start_in_loop(app: YishiApp, *, poll_timeout: int) -> None:
    """Start ``app`` inside an event loop that is already running (the tests, the sandbox
    and `yishi run` with a webhook; without one `yishi run` uses run_polling). Updates
    come by long polling, or by webhook when ``[telegram] webhook_url`` is set (then the
    start hooks set it). Returns once the start hooks are done."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    if not app.bot_data.services.settings.telegram.webhook_url:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=poll_timeout,
                                        allowed_updates=Update.ALL_TYPES)
    await app.start()
    if app.bot_data.services.warmup is not None:
        await app.bot_data.services.warmup


async def stop_in_loop(app: YishiApp) -> None:
    """Stop an application started with :func:`start_in_loop` (a long poll in flight
    ends at its timeout unless the server lets it go first)."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


async def serve_until_stopped(app: YishiApp) -> None:
    """`yishi run` with a webhook: serve until SIGINT or SIGTERM, then stop cleanly."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        await start_in_loop(app, poll_timeout=0)
        await stopping.wait()
    finally:
        await stop_in_loop(app)


async def _post_init(app: YishiApp) -> None:
    """Open storage, publish the command menus, start the scheduler's clock."""
    services = app.bot_data.services
    await services.open_storage()
    if services.sharing is None:
        # Messages the last process owed are sent before new work (it died holding none).
        await services.outbox.release_leases()
    services.outbox.attach(app.bot)
    services.outbox.kick()
    await replay(app)
    if services.sharing is not None:
        # What this instance's last run held, and what dead runs held, is taken over.
        await services.sharing.start(app)
    services.bot_username = app.bot.username
    if services.settings.web.port:
        # After the replay: what the last process left is queued before anything new.
        services.web = WebEndpoint(app)
        await services.web.start()
        if services.settings.telegram.webhook_url:
            await _set_webhook(services.web)
    # Arming the weekly work and publishing the menus are not needed to answer anyone:
    # polling starts without waiting for them (the menus alone are 13 round trips).
    services.warmup = asyncio.create_task(_warm_up(app))
    if app.job_queue is not None:
        # A tick the loop gets to late (a burst of votes, a minute of summaries) still
        # runs, once: APScheduler would skip it past a second's grace, and every due item
        # would wait a whole interval more.
        app.job_queue.run_repeating(
            _tick, interval=services.settings.scheduler.tick_seconds,
            first=services.settings.scheduler.tick_seconds, name=TICK_JOB,
            job_kwargs={"misfire_grace_time": None, "coalesce": True},
        )
    log.info("yishi started", extra={"bot": app.bot.username})


async def _tick(context: YishiContext) -> None:
    await tick(context.application)


async def tick(app: YishiApp) -> int:
    """One beat of the scheduler's clock: the due work, then whatever the outbox owes
    (what the due work queued, what failed before, what waited out quiet hours)."""
    services = app.bot_data.services
    finished = await services.scheduler.tick(app)
    services.metrics.ticked()
    await services.outbox.idle()
    await services.outbox.deliver()
    return finished


async def _set_webhook(web: WebEndpoint) -> None:
    """Tell Telegram where to post updates; while it cannot be reached, keep trying (as
    long polling does), a little less often each time."""
    delay = 1.0
    while True:
        try:
            await web.set_webhook()
            return
        except (NetworkError, TimedOut) as exc:
            log.warning("could not set the webhook, trying again",
                        extra={"seconds": delay, "error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


async def _post_shutdown(app: YishiApp) -> None:
    services = app.bot_data.services
    if services.web is not None:
        await services.web.stop()
        services.web = None
    if services.warmup is not None and not services.warmup.done():
        services.warmup.cancel()
        await asyncio.gather(services.warmup, return_exceptions=True)
    await services.outbox.idle()
    if services.sharing is not None:
        # Only now, with nothing of its own being sent: what it claimed is not taken
        # over while it is still going out.
        await services.sharing.stop()
    await services.db.close()
    if services.freeze_after_start:
        gc.unfreeze()


async def _warm_up(app: YishiApp) -> None:
    """What start-up does once polling has begun: the features' start hooks (arming
    recurring work, idempotent) and the command menus."""
    # Dates typed in words are read by libraries that load their tables on first use:
    # loaded here, in a thread, rather than on someone's first deadline.
    await asyncio.to_thread(prepare_parsers)
    for hook in app.bot_data.services.startup:
        try:
            await hook(app)
        except Exception:
            log.exception("a start-up hook failed", extra={"hook": hook.__qualname__})
    try:
        await publish_commands(app)
    except TelegramError:
        # The menus are a convenience; commands work without them. Next start retries.
        log.warning("could not publish the command menus", exc_info=True)
    if app.bot_data.services.freeze_after_start:
        # What start-up made (modules, handlers, the storage engine) lives as long as the
        # process: it is put out of the cyclic collector's sight, so a full collection in
        # a burst of votes goes through only what the burst made (otherwise a tenth of the
        # burst's time). Only where one bot is the whole process (`yishi run`): in the
        # tests' process bots come and go, and what one left would be kept from the
        # collector until some later bot stopped.
        gc.freeze()


async def publish_commands(app: YishiApp) -> None:
    """setMyCommands per language and per scope; the default menu uses the default language."""
    default = app.bot_data.services.default_language
    scopes = (
        (BotCommandScopeAllPrivateChats(), Where.PRIVATE, Role.RESIDENT),
        (BotCommandScopeAllGroupChats(), Where.GROUP, Role.RESIDENT),
        (BotCommandScopeAllChatAdministrators(), Where.GROUP, Role.MODERATOR),
    )
    calls = []
    for language in (None, *LANGUAGES):
        _ = translator(language or default)
        for scope, where, role in scopes:
            commands = [BotCommand(c.name, _(c.description)) for c in visible(where, role)]
            calls.append(app.bot.set_my_commands(commands, scope=scope,
                                                 language_code=language))
    await asyncio.gather(*calls)
    # Nothing of ours should linger in the unscoped default from an older version.
    await app.bot.delete_my_commands(scope=BotCommandScopeDefault())
