"""/join: a resident asks to be on the roster; moderators approve or reject.

Steps (at most four): the community (skipped when there is one, or when the person came
from the group's link), the unit (buttons from the community's list, or typed like
3-2-501), the relation (owner, tenant, family member), and for owners the floor area.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.households import Relation
from bot.domain.models import Community
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.i18n import N_, translator
from handlers.common import (
    communities_of,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_translator,
    private_link,
    refuse,
)
from handlers.flows import private_flow
from handlers.moderators import on_review_copies, readers
from handlers.residents import callbacks
from handlers.residents.decide import REVIEW_COPY, decide, review_copy_sent, review_in
from handlers.residents.texts import parse_area, relation_name
from storage import communities, memberships, outbox, residents, units

log = logging.getLogger(__name__)

CHOOSE_COMMUNITY, CHOOSE_UNIT, CHOOSE_RELATION, GIVE_AREA = range(4)
UNIT_BUTTONS_MAX = 30  # beyond this, typing the unit is quicker than scrolling buttons
DRAFT = "join"


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


# --- entry -------------------------------------------------------------------------


async def join_in_group(update: Update, context: YishiContext) -> None:
    """/join in the group: joining happens in private, so hand over with a link."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    await message.reply_text(
        _("Joining the residents' roster happens in a private chat with me, so your unit "
          "is not shown here. Press the button to start."),
        reply_markup=private_link(context, "join", community, _("Join in private")))


async def join_command(update: Update, context: YishiContext) -> int:
    """/join in private: pick the community, unless there is only one."""
    assert update.effective_user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await communities_of(context, update.effective_user.id)
    if not mine:
        await flow_reply(update, _("I do not know your building's group yet. Send /join in the "
                             "group, or press the button in my greeting there."))
        return ConversationHandler.END
    if len(mine) == 1:
        return await _start_for(update, context, mine[0])
    buttons = [[InlineKeyboardButton(c.title,
                                     callback_data=callbacks.JOIN_FOR.data(c.id))] for c in mine]
    await flow_reply(update, _("Which building's group do you want to join?"),
               InlineKeyboardMarkup(buttons))
    return CHOOSE_COMMUNITY


async def join_from_link(update: Update, context: YishiContext) -> int:
    """/start join_<community> from the group's button."""
    assert update.effective_user is not None
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, link.community_id) if link else None
    if community is None or not community.active:
        _ = await person_translator(update, context)
        await flow_reply(update, _("That link is not valid any more, so I started from the "
                             "beginning.") + "\n" + _("Send /join to try again."))
        return ConversationHandler.END
    return await _start_for(update, context, community)


async def choose_community(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = query.data.rsplit(":", 1)[-1] if query.data else ""
    mine = {str(c.id): c for c in await communities_of(context, user.id)}
    if wanted not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return CHOOSE_COMMUNITY
    return await _start_for(update, context, mine[wanted])


async def _start_for(update: Update, context: YishiContext, community: Community) -> int:
    """Check the person is in the group, then ask for the unit."""
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can join its roster. Ask to be added "
                             "to the group first.").format(group=html.escape(community.title)))
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        now = context.services.clock.now()
        await note_person(conn, user, now)
        await memberships.ensure(conn, community.id, user.id, now)
        listed = await units.listed(conn, community.id)
    _draft(context).update(community=community.id)
    text = _("Which unit do you live in? Type it like 3-2-501 (building 3, staircase 2, "
             "room 501) or 3-501.")
    markup = None
    if listed and len(listed) <= UNIT_BUTTONS_MAX:
        text = _("Which unit do you live in? Press it, or type it like 3-2-501.")
        buttons = [InlineKeyboardButton(u.address.code, callback_data=callbacks.UNIT.data(u.id))
                   for u in listed]
        markup = InlineKeyboardMarkup([buttons[i:i + 4] for i in range(0, len(buttons), 4)])
    await flow_reply(update, text, markup)
    return CHOOSE_UNIT


# --- the unit, relation and area ----------------------------------------------------------


async def unit_button(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    raw = query.data.rsplit(":", 1)[-1] if query.data else ""
    async with context.services.db.transaction() as conn:
        unit = await units.get(conn, int(raw)) if raw.isdigit() else None
    if unit is None or unit.community_id != draft.get("community"):
        await refuse(update, context, N_("This button is out of date."))
        return CHOOSE_UNIT
    draft["unit"] = unit.address.code
    return await _ask_relation(update, context)


async def unit_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    address = UnitAddress.parse(message.text)
    if address is None:
        await message.reply_text(_("I could not read “{text}” as a unit. Please type it like "
                                   "3-2-501 (building-staircase-room) or 3-501.").format(
            text=html.escape(message.text[:40])))
        return CHOOSE_UNIT
    draft = _draft(context)
    async with context.services.db.transaction() as conn:
        listed = await units.count(conn, draft["community"])
        known = await units.find(conn, draft["community"], address)
    if listed and known is None:
        await message.reply_text(_("{unit} is not on this building's list of units. Please "
                                   "check the number, or ask a moderator.").format(
            unit=address.code))
        return CHOOSE_UNIT
    draft["unit"] = address.code
    return await _ask_relation(update, context)


async def _ask_relation(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    buttons = [InlineKeyboardButton(relation_name(r, _),
                                    callback_data=callbacks.RELATION.data(r.value))
               for r in Relation]
    await flow_reply(update, _("Unit {unit}. How do you live there?").format(
        unit=_draft(context)["unit"]), InlineKeyboardMarkup([buttons]))
    return CHOOSE_RELATION


async def relation_button(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    raw = query.data.rsplit(":", 1)[-1] if query.data else ""
    if raw not in {r.value for r in Relation}:
        await refuse(update, context, N_("This button is out of date."))
        return CHOOSE_RELATION
    _draft(context)["relation"] = raw
    if raw != Relation.OWNER.value:
        return await _submit(update, context)
    _ = await person_translator(update, context)
    await flow_reply(update, _("What is the unit's floor area in m², as on the property "
                         "certificate? It is only used for votes counted by area. Type it, "
                         "e.g. 89.5, or skip."),
               InlineKeyboardMarkup([[InlineKeyboardButton(_("Skip"),
                                                           callback_data=callbacks.NO_AREA.data())]]))
    return GIVE_AREA


async def area_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    area = parse_area(message.text)
    if area is None:
        _ = await person_translator(update, context)
        await message.reply_text(_("Please type the area as a number of square metres, "
                                   "e.g. 89.5, or press Skip."))
        return GIVE_AREA
    _draft(context)["area"] = area
    return await _submit(update, context)


async def area_skipped(update: Update, context: YishiContext) -> int:
    _draft(context)["area"] = None
    return await _submit(update, context)


async def _submit(update: Update, context: YishiContext) -> int:
    """Store the request and put it in front of the moderators."""
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, {})
    _ = await person_translator(update, context)
    services = context.services
    address = UnitAddress.parse(draft["unit"])
    assert address is not None
    relation = Relation(draft["relation"])
    now = services.clock.now()
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    assert community is not None
    moderators = await readers(context.bot, services, community)
    async with services.db.transaction() as conn:
        unit = await units.ensure(conn, community.id, address, now)
        existing = await residents.find(conn, community.id, user.id, unit.id)
        if existing is not None and existing.status is ResidentStatus.VERIFIED:
            already = True
        else:
            already = False
            request = await residents.request(
                conn, community_id=community.id, user_id=user.id, unit_id=unit.id,
                relation=relation, area_claimed=draft.get("area"), now=now)
            await outbox.queue(conn, await review_in(conn, services, community, moderators,
                                                     request.id), now)
    services.outbox.kick()
    if already:
        await flow_reply(update, _("You are already on the roster for {unit}.").format(
            unit=address.code))
        return ConversationHandler.END
    await flow_reply(update, _("Thank you! Your request to join {group} as {relation} of {unit} "
                         "went to the moderators. I will tell you when they decide.").format(
        group=html.escape(community.title), relation=relation_name(relation, _),
        unit=address.code))
    return ConversationHandler.END


# --- moderators ------------------------------------------------------------------------


def register(app: YishiApp) -> None:
    on_review_copies(app.bot_data.services.outbox, REVIEW_COPY, review_copy_sent)
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("join", join_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="join", command="join", start=join_command,
        doing=N_("asking to join the roster"),
        from_link=join_from_link, link="join",
        states={
            CHOOSE_COMMUNITY: [CallbackQueryHandler(choose_community,
                                                    pattern=callbacks.JOIN_FOR.matches)],
            CHOOSE_UNIT: [CallbackQueryHandler(unit_button, pattern=callbacks.UNIT.matches),
                          MessageHandler(typed, unit_typed)],
            CHOOSE_RELATION: [CallbackQueryHandler(relation_button,
                                                   pattern=callbacks.RELATION.matches)],
            GIVE_AREA: [CallbackQueryHandler(area_skipped, pattern=callbacks.NO_AREA.matches),
                        MessageHandler(typed, area_typed)],
        },
    ))
    app.add_handler(CallbackQueryHandler(decide, pattern=callbacks.DECIDE.matches))
    app.add_handler(CallbackQueryHandler(decide, pattern=callbacks.LINK.matches))
    # A join button pressed after the flow ended (or from before a restart that lost it).
    app.add_handler(CallbackQueryHandler(stale_join_button, pattern=any_of(*callbacks.JOIN)))


async def stale_join_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /join to start again."))

