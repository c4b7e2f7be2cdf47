"""The bot's own HTTP endpoint ([web] listen/port): Telegram's webhook, and what an
operator watches.

- ``POST <the webhook URL's path>``: an update from Telegram. Refused (403) without the
  secret token Telegram was given (the ``X-Telegram-Bot-Api-Secret-Token`` header), and
  (400) when it is not an update. It is written to the inbox before the answer, so an
  update Telegram was told it delivered is never lost; if that fails the answer is 500 and
  Telegram sends it again (bot/inbox.receive_pushed).
- ``GET /healthz``: whether the database answers, and how long ago the last update was
  handled and the scheduler last ticked; 200 when the database answers and the scheduler
  is not late (three of its intervals), else 503.
- ``GET /metrics``: Prometheus' text format (bot/metrics.py).

The webhook is set with ``max_connections=1``: Telegram then posts one update at a time,
in order, as long polling fetches them, which keeps each chat's updates in the order
they were sent and lets a resent update be recognised by its id.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from telegram import Update

from bot.inbox import receive_pushed
from storage import health

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram posts one update at a time (see the module's docstring).
MAX_CONNECTIONS = 1
# A scheduler that has not ticked for this many of its intervals is late.
LATE_TICKS = 3
# Due work this long past its time counts as late in /metrics.
LATE_SECONDS = 60
# An update is at most a few kilobytes; Telegram's largest are well under this.
MAX_BODY = 1 << 20


class WebEndpoint:
    """The HTTP server of one running application."""

    def __init__(self, app: Any) -> None:
        self._app = app
        services = app.bot_data.services
        self._settings = services.settings
        telegram = self._settings.telegram
        self._secret = telegram.webhook_secret.get_secret_value().encode()
        self._hook_path = urlsplit(telegram.webhook_url).path or "/" \
            if telegram.webhook_url else None
        self._receiving = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self.port = 0  # the port served on, once started

    def routes(self) -> web.Application:
        server = web.Application(client_max_size=MAX_BODY)
        server.router.add_get("/healthz", self.healthz)
        server.router.add_get("/metrics", self.metrics)
        if self._hook_path is not None:
            server.router.add_post(self._hook_path, self.webhook)
        return server

    async def start(self) -> None:
        self._runner = web.AppRunner(self.routes(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._settings.web.listen, self._settings.web.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the port chosen for 0
        self.port = sockets[0].getsockname()[1] if sockets else self._settings.web.port
        log.info("web endpoint listening", extra={
            "listen": self._settings.web.listen, "port": self.port,
            "webhook": self._hook_path is not None})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def set_webhook(self) -> None:
        """Tell Telegram where to post updates (every kind, one at a time)."""
        telegram = self._settings.telegram
        await self._app.bot.set_webhook(
            telegram.webhook_url, secret_token=telegram.webhook_secret.get_secret_value(),
            max_connections=MAX_CONNECTIONS, allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False)
        log.info("webhook set", extra={"path": self._hook_path})

    # --------------------------------------------------------------- handlers

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not self._secret or not hmac.compare_digest(given, self._secret):
            log.warning("webhook call without the right secret token",
                        extra={"remote": request.remote})
            return web.Response(status=403, text="forbidden")
        try:
            payload = json.loads(await request.read())
            update = Update.de_json(payload, self._app.bot) if isinstance(payload, dict) \
                else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:
            return web.Response(status=400, text="not an update")
        async with self._receiving:
            try:
                await receive_pushed(self._app, update, payload)
            except Exception:
                log.exception("an update could not be written down; Telegram will resend it")
                return web.Response(status=500, text="try again")
        return web.Response(text="ok")

    async def healthz(self, request: web.Request) -> web.Response:
        services = self._app.bot_data.services
        try:
            async with services.db.transaction() as conn:
                database = await health.ping(conn)
        except Exception:
            log.warning("health check: the database does not answer", exc_info=True)
            database = False
        now = time.monotonic()
        metrics = services.metrics
        update_age = None if metrics.last_update is None else round(now - metrics.last_update, 3)
        tick_age = None if metrics.last_tick is None else round(now - metrics.last_tick, 3)
        tick_seconds = self._settings.scheduler.tick_seconds
        scheduler_late = (tick_age if tick_age is not None else now - metrics.started) \
            > LATE_TICKS * tick_seconds
        healthy = database and not scheduler_late
        body = {
            "status": "ok" if healthy else "failing",
            "database": "ok" if database else "unreachable",
            "last_update_handled_seconds_ago": update_age,
            "scheduler_last_tick_seconds_ago": tick_age,
            "scheduler": "late" if scheduler_late else "ok",
        }
        if services.sharing is not None:
            # Several instances: which one answered, and how many chats it handles now.
            body["instance"] = services.sharing.name
            body["chats_held"] = len(services.sharing.held)
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        services = self._app.bot_data.services
        now = services.clock.now()
        async with services.db.transaction() as conn:
            backlog = await health.backlog(conn, now, now - timedelta(seconds=LATE_SECONDS))
        body = services.metrics.render(backlog)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
