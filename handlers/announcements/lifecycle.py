"""Sending an announcement (pinned if asked) and telling its author when it could not go."""

from __future__ import annotations

import html
import logging

from telegram import Message
from telegram.error import BadRequest, Forbidden

from bot.context import YishiApp
from bot.domain.announcements import (
    Announcement,
)
from bot.domain.models import Community
from bot.i18n import N_, translator
from storage import people

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
