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
    """What Telegram says of a person in a group (getChatMember), kept briefly: whether
    they administer it, and whether they are in it at all."""

    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        # (chat, user) -> ((admin, member), until)
        self._entries: dict[tuple[int, int], tuple[tuple[bool, bool], datetime]] = {}

    async def _ask(self, bot: Bot, chat_id: int, user_id: int) -> tuple[bool, bool] | None:
        now = self._clock.now()
        cached = self._entries.get((chat_id, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("getChatMember failed", extra={"chat_id": chat_id, "error": str(exc)})
            return None
        if member.status == ChatMemberStatus.RESTRICTED:
            present = bool(getattr(member, "is_member", False))
        else:
            present = member.status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
        found = (member.status in _ADMIN_STATUSES, present)
        self._entries[(chat_id, user_id)] = (found, now + self._ttl)
        return found

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        found = await self._ask(bot, chat_id, user_id)
        # Not knowing is not a yes: refuse now, ask again next time.
        return found is not None and found[0]

    async def is_member(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """In the group now (a restricted member who is still in it counts). If Telegram
        cannot be asked, the person is taken at their word: a vote is not refused for a
        network error (the press itself came from the group)."""
        found = await self._ask(bot, chat_id, user_id)
        return True if found is None else found[1]

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
