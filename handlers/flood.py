"""One noisy person cannot drown the group.

Telegram lets a bot send 20 messages a minute to a group: a resident who sends commands
as fast as they can type would use all of it, and everyone else's answers would wait. So
each person's commands in a group are counted over a sliding window of real time (like
Telegram's own limits); beyond ``[telegram] flood_commands`` within ``flood_seconds``
they are ignored (and leave the inbox, handled). The person is told once per episode —
in private when they have a chat with the bot, else with one short reply — and the
moderators once. Moderators are not limited: their commands are the group's business.

Button presses are not counted here: a vote is answered with answerCallbackQuery, which
Telegram does not rate-limit, and bot/delivery.py never lets it wait behind messages.
"""

from __future__ import annotations

import html
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from bot.domain.models import Role
from bot.i18n import N_, Translator, translator
from bot.inbox import mark_done
from handlers import FLOOD
from handlers.common import ensure_community, is_group, person_language, user_role
from handlers.moderators import send_to_moderators

log = logging.getLogger(__name__)


@dataclass
class FloodWatch:
    """Each person's recent commands per chat, and when each was last told."""

    limit: int
    window: float  # seconds
    seen: dict[tuple[int, int], deque[float]] = field(default_factory=dict)
    told: dict[tuple[int, int], float] = field(default_factory=dict)

    def over(self, chat_id: int, user_id: int, now: float) -> bool:
        """Count a command; whether it is beyond the limit."""
        recent = self.seen.setdefault((chat_id, user_id), deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        recent.append(now)
        if len(self.seen) > 10_000:  # forget the quiet ones
            for key in [k for k, v in self.seen.items() if not v or v[-1] <= now - self.window]:
                del self.seen[key]
        return len(recent) > self.limit

    def first_time(self, chat_id: int, user_id: int, now: float) -> bool:
        """Whether this episode of flooding is new (nothing said in the last window)."""
        last = self.told.get((chat_id, user_id))
        if last is not None and last > now - self.window:
            self.told[(chat_id, user_id)] = now
            return False
        self.told[(chat_id, user_id)] = now
        return True


async def count_command(update: Update, context: YishiContext, watch: FloodWatch) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot or message.sender_chat is not None:
        return
    now = time.monotonic()
    if not watch.over(message.chat.id, user.id, now):
        return
    community = await ensure_community(context, message.chat)
    if await user_role(context, community, user.id) is Role.MODERATOR:
        return
    if watch.first_time(message.chat.id, user.id, now):
        await _tell(update, context, watch)
    # Handled by being ignored: it leaves the inbox, and no feature sees it.
    await mark_done(context.services, update.update_id)
    raise ApplicationHandlerStop


async def _tell(update: Update, context: YishiContext, watch: FloodWatch) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert message is not None and user is not None and chat is not None
    seconds = int(watch.window)
    _ = translator(await person_language(context, user))
    words = _("You are sending commands faster than I can answer, so I am ignoring yours "
              "for {seconds} seconds. Everyone else's still get answered.").format(
        seconds=seconds)
    try:
        await context.bot.send_message(user.id, words)
    except (Forbidden, TelegramError):
        if is_group(chat):
            community = await ensure_community(context, chat)
            await message.reply_text(translator(community.language)(N_(
                "Too many commands at once: I am ignoring this person's for a while.")))
    if not is_group(chat):
        return
    community = await ensure_community(context, chat)
    log.info("flood: a person's commands are ignored", extra={"chat_id": chat.id})

    async def render(reader: Translator) -> tuple[str, None]:
        return reader(N_("{name} sent more than {limit} commands within {seconds} seconds in "
                         "{group}; I am ignoring theirs for now. Nothing else changed.")).format(
            name=html.escape(user.full_name), limit=watch.limit, seconds=seconds,
            group=html.escape(community.title)), None

    await send_to_moderators(context.bot, context.services, community, render,
                             unreachable_note=N_("Someone is sending commands faster than I "
                                                 "can answer; I am ignoring theirs for now."))


def register(app: YishiApp) -> None:
    telegram = app.bot_data.services.settings.telegram
    watch = FloodWatch(telegram.flood_commands, telegram.flood_seconds)

    async def count(update: Update, context: YishiContext) -> None:
        await count_command(update, context, watch)

    app.add_handler(MessageHandler(F.COMMAND & F.ChatType.GROUPS & ~F.UpdateType.EDITED,
                                   count), group=FLOOD)
