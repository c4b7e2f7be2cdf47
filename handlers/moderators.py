"""Putting something in front of a community's moderators: their linked chat if there is
one, otherwise each moderator who has a private chat with the bot.

What a resident sent for review (a topic, a request to join the roster) reaches them
through the outbox (:func:`review_copies`), queued in the transaction that stores it: a
crash or a Telegram outage right after the resident was thanked cannot leave it unseen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden

from bot.context import YishiContext
from bot.domain.models import Community, Outgoing, Role
from bot.i18n import Translator, translator
from bot.outbox import Outbox, Remember
from bot.roles import chat_admin_ids
from bot.services import Services
from handlers.common import private_link
from handlers.outgoing import message, photo
from storage import Connection, memberships, outbox, people

log = logging.getLogger(__name__)

# Renders the message for one reader's language: its text and its buttons.
Render = Callable[[Translator], Awaitable[tuple[str, InlineKeyboardMarkup | None]]]
# The same, from what the caller's transaction has read already.
RenderNow = Callable[[Translator], tuple[str, InlineKeyboardMarkup | None]]


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


@dataclass(frozen=True)
class Readers:
    """Who reads a review copy: the moderators' linked chat, if any, and every moderator
    (in private when there is no chat, or when the chat refuses the bot)."""

    chat_id: int | None
    moderators: tuple[int, ...]


async def readers(bot: Bot, services: Services, community: Community) -> Readers:
    """Asked of Telegram (the group's admins) before the caller's transaction opens."""
    return Readers(community.moderators_chat_id,
                   tuple(await moderator_ids(bot, services, community)))


async def review_copies(conn: Connection, services: Services, community: Community,
                        readers: Readers, key: str, render: RenderNow, *,
                        remember: dict[str, Any], unreachable_note: str,
                        photo_id: str | None = None) -> list[Outgoing]:
    """The copies of something to review, to queue in the caller's transaction: one in the
    moderators' chat, or one to each moderator with a private chat with the bot, or, when
    none has one, ``unreachable_note`` (an i18n msgid with no personal detail) in the group
    with a button to start one. ``photo_id`` goes just above each copy, so what they decide
    on is what they saw. Each copy sent is recorded by ``remember["what"]`` (see
    :func:`on_review_copies`); if the moderators' chat refuses the bot, the private copies
    go instead."""
    private: list[Outgoing] = []
    for person in (await people.names(conn, readers.moderators)).values():
        if person.started:
            private += _copy(f"{key}:{person.user_id}", person.user_id,
                             render(translator(person.reads(services.default_language))),
                             remember, photo_id)
    if not private:
        # Unasked for in the group: after its quiet hours.
        _ = translator(community.language)
        private = [message(f"{key}:unreachable", community.chat_id, _(unreachable_note),
                           markup=private_link(services, "group", community,
                                               _("Talk to me in private")),
                           not_before=community.quiet_until(services.clock.now()))]
    if readers.chat_id is None:
        return private
    instead = [m.model_dump(mode="json") for m in private]
    return _copy(f"{key}:chat", readers.chat_id, render(translator(community.language)),
                 {**remember, "instead": instead}, photo_id)


def _copy(key: str, chat_id: int, shown: tuple[str, InlineKeyboardMarkup | None],
          remember: dict[str, Any], photo_id: str | None) -> list[Outgoing]:
    text, markup = shown
    above = [photo(f"{key}:photo", chat_id, photo_id, "")] if photo_id else []
    return [*above, message(key, chat_id, text, markup=markup, remember=remember)]


def on_review_copies(box: Outbox, what: str, record: Remember) -> None:
    """Register a kind of review copy: ``record`` notes where one went (conn, remember,
    Telegram's answer, now); a moderators' chat that refuses it has the private copies go
    instead, queued in the same transaction."""
    box.on_sent(what, record)

    async def instead(conn: Connection, remember: dict[str, Any], why: str,
                      now: datetime) -> None:
        if remember.get("instead"):
            log.warning("moderators' chat refused a copy; writing to moderators in private",
                        extra={"why": why})
            await outbox.queue(conn, [Outgoing.model_validate(m)
                                      for m in remember["instead"]], now)

    box.on_refused(what, instead)
