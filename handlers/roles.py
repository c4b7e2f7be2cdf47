"""/role: a moderator gives someone a role in the group."""

from __future__ import annotations

import html

from telegram import MessageEntity, Update, User
from telegram.ext import CommandHandler

from bot.context import YishiApp, YishiContext
from bot.domain.models import Person, Role
from bot.domain.roles import parse_role
from bot.i18n import N_, Translator, translator
from bot.report_names import category_key, category_name
from handlers.common import ensure_community, moderator_only, note_person, record_audit
from storage import memberships, people

ROLE_NAMES = {
    Role.MODERATOR: N_("moderator"),
    Role.HANDLER: N_("handler"),
    Role.BUILDING_LEAD: N_("building lead"),
    Role.RESIDENT: N_("resident"),
}


def role_name(role: Role, _: Translator) -> str:
    return _(ROLE_NAMES[role])


async def named_person(update: Update, context: YishiContext, args: list[str], *,
                       community_id: int | None = None) -> Person | None:
    """Whom the command is about: a replied-to message, a mention, @username, a user id,
    or (given the community) the name they go by there — on the roster or the register —
    if exactly one person has it."""
    message = update.effective_message
    assert message is not None
    services = context.services
    user: User | None = None
    if message.reply_to_message is not None and message.reply_to_message.from_user is not None:
        user = message.reply_to_message.from_user
    for entity in message.entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            user = entity.user
    now = services.clock.now()
    async with services.db.transaction() as conn:
        if user is not None and not user.is_bot:
            return await note_person(conn, user, now)
        for arg in args:
            if arg.startswith("@"):
                return await people.by_username(conn, arg)
            if arg.lstrip("-").isdigit():
                return await people.get(conn, int(arg))
        if community_id is not None and args:
            named = await people.named_in(conn, community_id, " ".join(args))
            if len(named) == 1:
                return named[0]
    return None


@moderator_only
async def role_command(update: Update, context: YishiContext) -> None:
    """/role @name moderator|handler|building_lead|resident (or in reply to their message)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    args = context.args or []
    # /role @name handler lift water: the role, then (for a handler) report categories.
    at = next((i for i, arg in enumerate(args) if parse_role(arg) is not None), None)
    role = parse_role(args[at]) if at is not None else None
    if role is None or at is None:
        await message.reply_text(_("Usage: /role @name moderator|handler|building_lead|resident, "
                                   "or reply to someone's message with /role handler."))
        return
    services = context.services
    known = services.settings.reports.categories
    named = [category_key(arg, known) for arg in args[at + 1:]]
    categories = [key for key in named if key is not None]
    unknown = len(categories) < len(named)
    if unknown or (categories and role is not Role.HANDLER):
        await message.reply_text(_("Only a handler can be limited to report categories, and "
                                   "they are: {categories}. Example: /role @name handler lift "
                                   "water").format(categories=_.join(
                                       _("{code} ({name})").format(code=c,
                                                                   name=category_name(c, _))
                                       for c in known)))
        return
    person = await named_person(update, context, args[:at], community_id=community.id)
    if person is None:
        await message.reply_text(_("I do not know that person yet. They need to have written "
                                   "in this group or started a chat with me; or reply to one "
                                   "of their messages with /role."))
        return
    async with services.db.transaction() as conn:
        previous = await memberships.get(conn, community.id, person.user_id)
        await memberships.set_role(conn, community.id, person.user_id, role,
                                   granted_by=update.effective_user.id
                                   if update.effective_user else None,
                                   now=services.clock.now(), categories=categories)
    services.admins.forget(chat.id, person.user_id)
    details = {"target": person.user_id, "role": role.value,
               "previous": previous.role.value if previous else None}
    if categories:
        details["categories"] = categories
    await record_audit(context, community, update, "role.grant", **details)
    if categories:
        await message.reply_text(_("{name} is now a handler in this group for: {categories}.")
                                 .format(name=html.escape(person.name),
                                         categories=_.join(
                                             category_name(c, _) for c in categories)))
        return
    await message.reply_text(_("{name} is now a {role} in this group.").format(
        name=html.escape(person.name), role=role_name(role, _)))


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("role", role_command))
