"""Putting something in front of a community's moderators: their linked chat if there is
one, otherwise each moderator who has a private chat with the bot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden

from bot.context import YishiContext
from bot.domain.models import Community, Role
from bot.i18n import Translator, translator
from bot.roles import chat_admin_ids
from bot.services import Services
from handlers.common import private_link
from storage import memberships, people

log = logging.getLogger(__name__)

# Renders the message for one reader's language: its text and its buttons.
Render = Callable[[Translator], Awaitable[tuple[str, InlineKeyboardMarkup | None]]]


async def moderator_ids(bot: Bot, services: Services, community: Community) -> list[int]:
    """Everyone who moderates the community: its Telegram admins and granted moderators."""
    admins = set(await chat_admin_ids(bot, community.chat_id))
    async with services.db.transaction() as conn:
        granted = await memberships.with_role(conn, community.id, Role.MODERATOR)
    return sorted(admins | set(granted))


async def send_to_moderators(bot: Bot, services: Services, community: Community,
                             render: Render, *, unreachable_note: str,
                             photo: str | None = None) -> list[list[int]]:
    """Send to the moderators; returns where each copy went ([chat id, message id]).
    ``photo`` (a file id) goes just above each copy, so what they decide on is what they
    saw.

    If nobody can be reached, the group gets ``unreachable_note`` (an i18n msgid, which
    must carry no personal detail) with a button to start a private chat.
    """
    if community.moderators_chat_id is not None:
        text, markup = await render(translator(community.language))
        try:
            if photo is not None:
                await bot.send_photo(community.moderators_chat_id, photo)
            sent = await bot.send_message(community.moderators_chat_id, text,
                                                  reply_markup=markup)
            return [[sent.chat_id, sent.message_id]]
        except (Forbidden, BadRequest):
            log.warning("moderators' chat unreachable; writing to moderators in private",
                        extra={"community_id": community.id})
    copies: list[list[int]] = []
    moderators = await moderator_ids(bot, services, community)
    async with services.db.transaction() as conn:
        reachable = [p for p in (await people.names(conn, moderators)).values() if p.started]
    for moderator in reachable:
        text, markup = await render(translator(moderator.reads(
            services.default_language)))
        try:
            if photo is not None:
                await bot.send_photo(moderator.user_id, photo)
            sent = await bot.send_message(moderator.user_id, text, reply_markup=markup)
        except Forbidden:
            continue  # they blocked the bot since; the others still hear of it
        copies.append([sent.chat_id, sent.message_id])
    if not copies:
        _ = translator(community.language)
        await bot.send_message(
            community.chat_id, _(unreachable_note),
            reply_markup=private_link(services, "group", community, _("Talk to me in private")))
    return copies


async def copy_language(context: YishiContext, community: Community, chat_id: int) -> Translator:
    """The language of one copy: a person's own in private, the group's in a group."""
    if chat_id < 0:
        return translator(community.language)
    async with context.services.db.transaction() as conn:
        reader = await people.get(conn, chat_id)
    return translator(reader.reads(context.services.default_language) if reader
                      else community.language)
