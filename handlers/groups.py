"""The bot joining and leaving groups, supergroup migrations, and noting who is in a group."""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import ChatMemberHandler, MessageHandler, filters

from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.i18n import translator
from handlers import SPEAKERS, summary
from handlers.common import ensure_community, is_group, note_person, record_audit
from handlers.surveys.manage import arm as arm_surveys
from storage import communities, memberships

log = logging.getLogger(__name__)

_PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER,
            ChatMemberStatus.RESTRICTED}


def _is_present(member_update: ChatMemberUpdated, which: str) -> bool:
    member = getattr(member_update, which)
    if member.status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status in _PRESENT


async def bot_membership_changed(update: Update, context: YishiContext) -> None:
    """my_chat_member: added to a group → create the community and greet; removed → pause it."""
    change = update.my_chat_member
    assert change is not None
    chat = change.chat
    if not is_group(chat):
        return
    was, now_in = _is_present(change, "old_chat_member"), _is_present(change, "new_chat_member")
    services = context.services
    if now_in and not was:
        community = await ensure_community(context, chat)
        now = services.clock.now()
        async with services.db.transaction() as conn:
            # Whoever added the bot is in the group (usually an admin): note them, so
            # their private chat with the bot knows this community.
            await note_person(conn, change.from_user, now)
            await memberships.ensure(conn, community.id, change.from_user.id, now)
        await record_audit(context, community, update, "community.added",
                           by=change.from_user.id)
        await _greet(context, community.chat_id, community.id, community.language)
        await summary.ensure_armed(context.application, community)
        await arm_surveys(context.application, community)
    elif was and not now_in:
        async with services.db.transaction() as conn:
            moderated = await communities.by_moderators_chat(conn, chat.id)
            handlers_chat = moderated is not None and moderated.handlers_chat_id == chat.id
            if handlers_chat:
                # Removed from a handlers' chat: reports go to the handlers in private.
                await communities.link_handlers_chat(conn, moderated.id, None,
                                                     services.clock.now())
            elif moderated is not None:
                # Removed from a moderators' chat: requests go to moderators in private.
                await communities.link_moderators_chat(conn, moderated.id, None,
                                                       services.clock.now())
            existing = moderated or await communities.by_chat(conn, chat.id)
            await communities.deactivate(conn, chat.id, services.clock.now())
        services.admins.forget(chat.id)
        await record_audit(context, existing, update,
                           "handlers_chat.unlink" if handlers_chat else
                           "moderators_chat.unlink" if moderated else "community.removed",
                           by=change.from_user.id)
    else:
        # Promoted or demoted: our own rights changed; nothing to store yet.
        services.admins.forget(chat.id)


async def _greet(context: YishiContext, chat_id: int, community_id: int, language: str) -> None:
    _ = translator(language)
    text = "\n".join([
        _("Hello! I am yishi (议事), the building's assistant for deciding and getting things "
          "done together."),
        "",
        _("What I can do here:"),
        _("• residents raise topics and back the ones that matter"),
        _("• moderators put them to a vote with a deadline (and the Civil Code quorum where "
          "needed)"),
        _("• anyone reports a problem with photos and can follow it until it is fixed"),
        _("• I remind, follow up and post a weekly summary"),
        "",
        _("Group admins are moderators. Admins: use /settings to set the language, time zone "
          "and quiet hours, and /role to give helpers a role. Send /help to see the commands."),
        _("Everyone: press the button below once, so I can write to you in private."),
    ])
    link = DeepLink(action="group", community_id=community_id)
    markup = None
    if context.services.bot_username:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Talk to me in private"),
                                   url=link.url(context.services.bot_username))]]
        )
    await context.bot.send_message(chat_id, text, reply_markup=markup)


async def chat_migrated(update: Update, context: YishiContext) -> None:
    """A group became a supergroup: move the community and its chat data to the new id."""
    message = update.effective_message
    assert message is not None
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:
        return
    services = context.services
    async with services.db.transaction() as conn:
        moved = await communities.move_chat(conn, old_id, new_id, services.clock.now())
        community = await communities.by_chat(conn, new_id)
    if moved:
        context.application.migrate_chat_data(old_chat_id=old_id, new_chat_id=new_id)
        services.admins.forget(old_id)
        log.info("community moved to supergroup", extra={"old_chat": old_id, "new_chat": new_id})
        await record_audit(context, community, update, "community.migrated",
                           old_chat_id=old_id, new_chat_id=new_id)


async def note_member(update: Update, context: YishiContext) -> None:
    """Remember who writes in a group, so /role @name and later features know them."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or user.is_bot or message.sender_chat is not None:
        return
    community = await ensure_community(context, message.chat)
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        await note_person(conn, user, now)
        await memberships.ensure(conn, community.id, user.id, now)


async def member_left(update: Update, context: YishiContext) -> None:
    """Someone left the group (or was removed): what is known of them there is asked of
    Telegram again next time (a vote "for anyone in the group" is then refused)."""
    message = update.effective_message
    if message is not None and message.left_chat_member is not None:
        context.services.admins.forget(message.chat.id, message.left_chat_member.id)


def register(app: YishiApp) -> None:
    app.add_handler(ChatMemberHandler(bot_membership_changed,
                                      ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.LEFT_CHAT_MEMBER, member_left),
                    group=SPEAKERS)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))
    # A group of its own, before the features: noting the speaker must not stop a command.
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & ~filters.StatusUpdate.ALL,
                                   note_member), group=SPEAKERS)

