"""Who is a moderator: the group's Telegram administrators (asked with getChatMember and
cached briefly) plus the people given a role with /role."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.clock import Clock

log = logging.getLogger(__name__)

_ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


class AdminCache:
    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._entries: dict[tuple[int, int], tuple[bool, datetime]] = {}

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        now = self._clock.now()
        cached = self._entries.get((chat_id, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            # Not knowing is not a yes: refuse now, ask again next time.
            log.warning("getChatMember failed", extra={"chat_id": chat_id, "error": str(exc)})
            return False
        admin = member.status in _ADMIN_STATUSES
        self._entries[(chat_id, user_id)] = (admin, now + self._ttl)
        return admin

    def forget(self, chat_id: int, user_id: int | None = None) -> None:
        if user_id is not None:
            self._entries.pop((chat_id, user_id), None)
            return
        for key in [k for k in self._entries if k[0] == chat_id]:
            del self._entries[key]


async def chat_admin_ids(bot: Bot, chat_id: int) -> list[int]:
    """The human administrators of a group (an empty list if Telegram will not say)."""
    try:
        admins = await bot.get_chat_administrators(chat_id)
    except TelegramError as exc:
        log.warning("getChatAdministrators failed", extra={"chat_id": chat_id,
                                                            "error": str(exc)})
        return []
    return [member.user.id for member in admins if not member.user.is_bot]
