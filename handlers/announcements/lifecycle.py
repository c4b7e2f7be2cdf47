"""Sending an announcement (pinned if asked) and telling its author when it could not go."""

from __future__ import annotations

import html
import logging

from telegram import Message
from telegram.error import BadRequest, Forbidden

from bot.context import YishiApp
from bot.domain.announcements import (
    Announcement,
    Status,
    next_run,
)
from bot.domain.models import Community
from bot.i18n import N_, translator
from storage import announcements as store
from storage import due_work, people

log = logging.getLogger(__name__)


RUN = "announcement"


async def _send(app: YishiApp, announcement: Announcement, community: Community) -> Message:
    text = html.escape(announcement.text)
    if announcement.photo_file_id:
        sent = await app.bot.send_photo(community.chat_id, announcement.photo_file_id,
                                        caption=text or None)
    else:
        sent = await app.bot.send_message(community.chat_id, text)
    if announcement.pin:
        try:
            await app.bot.pin_chat_message(community.chat_id, sent.message_id,
                                           disable_notification=True)
        except BadRequest as exc:
            log.warning("announcement not pinned", extra={"announcement": announcement.id,
                                                          "why": str(exc)})
            await _tell_author(app, announcement, community, N_(
                "I sent announcement #{number} to {group} but could not pin it: make me an "
                "administrator there with the right to pin messages."))
    return sent


async def _tell_author(app: YishiApp, announcement: Announcement, community: Community,
                       msgid: str) -> None:
    if announcement.author_id is None:
        return
    async with app.bot_data.services.db.transaction() as conn:
        author = await people.get(conn, announcement.author_id)
    if author is None or not author.started:
        return
    _ = translator(author.reads(app.bot_data.services.default_language))
    try:
        await app.bot.send_message(author.user_id, _(msgid).format(
            number=announcement.id, group=html.escape(community.title)))
    except Forbidden:
        pass


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
