"""/start (with deep links), /help, and the answers for what the bot does not understand."""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import buttons
from bot.commands import Where, visible
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Role
from bot.i18n import N_, Translator, translator
from bot.inbox import mark_done
from handlers import BUTTONS
from handlers.common import (
    chat_translator,
    ensure_community,
    is_group,
    moderated_by,
    note_person,
    person_language,
    private_link,
    refuse,
    role_of,
)
from storage import communities, memberships


async def start(update: Update, context: YishiContext) -> None:
    """/start in private: register the person, follow a deep link, say hello."""
    message, user = update.effective_message, update.effective_user
    assert message is not None
    if user is None or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        await help_command(update, context)
        return
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        await note_person(conn, user, now, started=True)
    _ = translator(await person_language(context, user))
    lines = [_("Hello, {name}! I am yishi (议事), your building's assistant.").format(
        name=html.escape(user.first_name))]
    if context.args:
        lines.append(await _follow_link(context, user.id, " ".join(context.args), _))
    lines += ["", _("Send /help to see what you can do here.")]
    await message.reply_text("\n".join(lines))


async def _follow_link(context: YishiContext, user_id: int, payload: str, _: Translator) -> str:
    """A deep link no feature took: the group hand-over, or a polite word for a bad link."""
    link = DeepLink.parse(payload)
    services = context.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, link.community_id) if link else None
        if link is not None and link.action == "group" and community is not None \
                and community.active:
            await memberships.ensure(conn, community.id, user_id, services.clock.now())
            return _("You are connected with {group}. I can now write to you in private "
                     "about it.").format(group=html.escape(community.title))
    return _("That link is not valid any more, so I started from the beginning.")


def _command_lines(_: Translator, where: Where, role: Role) -> list[str]:
    return [f"/{c.name} — {_(c.description)}" for c in visible(where, role)]


async def help_command(update: Update, context: YishiContext) -> None:
    """/help: the commands this person may use here."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    _ = await chat_translator(update, context)
    if is_group(chat):
        community = await ensure_community(context, chat)
        role = await role_of(context, community, update)
        lines = [_("Commands in this group:"), *_command_lines(_, Where.GROUP, role)]
        if role is Role.MODERATOR:
            lines += ["", _("You are a moderator here.")]
        lines += ["", _("Some things work in a private chat with me: /start there.")]
    else:
        user = update.effective_user
        moderator = user is not None and bool(await moderated_by(context, user.id))
        role = Role.MODERATOR if moderator else Role.RESIDENT
        lines = [_("Commands in our private chat:"), *_command_lines(_, Where.PRIVATE, role)]
        if moderator:
            lines += ["", _("As a moderator, send /help in your building's group to see "
                            "the moderator commands there.")]
    await message.reply_text("\n".join(lines))


async def nothing_to_cancel(update: Update, context: YishiContext) -> None:
    """/cancel when no flow is running."""
    _ = await chat_translator(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(_("There is nothing to cancel."))


async def unknown_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date."))


async def undeclared_button(update: Update, context: YishiContext) -> None:
    """Data that is none of yishi's buttons never reaches a feature: it is refused, the
    update leaves the inbox (it touched no flow and no data), and nothing else runs."""
    try:
        await unknown_button(update, context)
    finally:
        await mark_done(context.services, update.update_id)
    raise ApplicationHandlerStop


def register_button_guard(app: YishiApp) -> None:
    app.add_handler(CallbackQueryHandler(undeclared_button,
                                         pattern=lambda data: buttons.parse(data) is None),
                    group=BUTTONS)


async def unknown_command(update: Update, context: YishiContext) -> None:
    """A command the bot does not have, in private: say so and point to /help."""
    _ = await chat_translator(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("I do not know that command. Send /help to see what I can do."))


# Commands that show a person's own things: answered in private, never in the group.
PRIVATE_ONLY = ("me", "mydata", "reports", "forgetme")


async def private_only_command(update: Update, context: YishiContext) -> None:
    """/me, /mydata, /reports or /forgetme sent in the group: where to send it instead."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    command = (message.text or "/").split()[0].split("@")[0]
    await message.reply_text(
        _("I answer {command} in private, where only you see it.").format(command=command),
        reply_markup=private_link(context, "group", community, _("Talk to me in private")))


async def unknown_group_command(update: Update, context: YishiContext) -> None:
    """A command no feature has, in the group: answered only if it names this bot (a plain
    /foo may be another bot's)."""
    message = update.effective_message
    if message is None or not message.text:
        return
    addressed = message.text.split()[0].partition("@")[2]
    if not addressed or addressed.lower() != (context.bot.username or "").lower():
        return
    community = await ensure_community(context, message.chat)
    _ = translator(community.language)
    await message.reply_text(_("I do not know that command. Send /help to see what I can "
                               "do."))


async def plain_text(update: Update, context: YishiContext) -> None:
    """Text in private outside any flow: point the way instead of staying silent."""
    _ = await chat_translator(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("I work with commands and buttons. Send /help to see what I can do."))


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))


def register_fallbacks(app: YishiApp) -> None:
    """Registered last: only what no feature took reaches these."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(CommandHandler("cancel", nothing_to_cancel, filters=private))
    app.add_handler(CommandHandler(PRIVATE_ONLY, private_only_command, filters=groups))
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(groups & filters.COMMAND, unknown_group_command))
    app.add_handler(MessageHandler(private & filters.TEXT, plain_text))
    # A button no feature knows (from an old version, or forged): answered, so the
    # client stops waiting, and nothing else.
    app.add_handler(CallbackQueryHandler(unknown_button))
