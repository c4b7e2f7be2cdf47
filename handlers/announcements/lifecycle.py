"""Sending an announcement (pinned if asked) and telling its author when it could not be
pinned: queued in the transaction that counts the run, so a crash neither loses a run nor
sends it twice (its outbox key names the run)."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from bot.context import YishiApp
from bot.domain.announcements import (
    Announcement,
    Status,
    next_run,
)
from bot.domain.models import Community, Outgoing
from bot.services import Services
from handlers import outgoing
from storage import Connection, communities, due_work, outbox
from storage import announcements as store

log = logging.getLogger(__name__)


RUN = "announcement"
POSTED = "announcement.posted"
PINNED = "announcement.pinned"


def run_messages(announcement: Announcement, community: Community,
                 run: datetime) -> list[Outgoing]:
    """The run meant for ``run`` (the announcement's own time for it, which the scheduler's
    lease does not move), to queue with the run counted: the same run queued again after a
    crash is not sent twice."""
    text = html.escape(announcement.text)
    key = f"announcement:{announcement.id}:{run.isoformat()}"
    remember = {"what": POSTED, "announcement": announcement.id} if announcement.pin \
        else None
    if announcement.photo_file_id:
        return [outgoing.photo(key, community.chat_id, announcement.photo_file_id, text,
                               remember=remember)]
    return [outgoing.message(key, community.chat_id, text, remember=remember)]


async def posted(conn: Connection, remember: dict[str, Any], answer: Any,
                 now: datetime) -> None:
    """An announcement to pin is in the group: pin it."""
    chat_id, message_id = int(answer["chat"]["id"]), int(answer["message_id"])
    pin = outgoing.pin(f"announcement:{remember['announcement']}:pin:{chat_id}:{message_id}",
                       chat_id, message_id)
    await outbox.queue(conn, [pin.model_copy(update={"remember": {
        "what": PINNED, "announcement": remember["announcement"]}})], now)


async def not_pinned(services: Services, conn: Connection, remember: dict[str, Any],
                     why: str, now: datetime) -> None:
    """Telegram would not pin it (the bot may not pin there): its author is told
    (registered with the services bound)."""
    log.warning("announcement not pinned", extra={
        "announcement": remember.get("announcement"), "why": why})
    announcement = await store.get(conn, int(remember["announcement"]))
    if announcement is None or announcement.author_id is None:
        return
    community = await communities.by_id(conn, announcement.community_id)
    if community is None:
        return
    await outbox.queue(conn, await outgoing.to_people(
        conn, [announcement.author_id],
        f"announcement:{announcement.id}:unpinned:{now.isoformat()}",
        services.default_language,
        lambda _: _("I sent announcement #{number} to {group} but could not pin it: make "
                    "me an administrator there with the right to pin messages.")
        .format(number=announcement.id, group=html.escape(community.title))), now)


async def replan(app: YishiApp, community: Community) -> None:
    """The group's time zone changed: each repeating announcement's next run falls at its
    local hour in the new zone (a one-off keeps the moment it was set for)."""
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        for announcement in await store.of_community(conn, community.id):
            if announcement.status is not Status.ACTIVE or not announcement.cron:
                continue
            upcoming = next_run(announcement.cron, community.timezone, now)
            await store.set_status(conn, announcement.id, from_status=Status.ACTIVE,
                                   to_status=Status.ACTIVE, run_at=upcoming)
            await due_work.schedule(conn, kind=RUN, key=str(announcement.id),
                                    due_at=upcoming, now=now,
                                    payload={"announcement": announcement.id})
