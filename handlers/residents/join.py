"""/join: a resident asks to be on the roster; moderators approve or reject.

Steps (at most four): the community (skipped when there is one, or when the person came
from the group's link), the unit (buttons from the community's list, or typed like
3-2-501), the relation (owner, tenant, family member), and for owners the floor area.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.households import Relation
from bot.domain.models import Community, Role
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.i18n import N_, Translator, translator
from handlers.common import (
    communities_of,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_language,
    person_translator,
    private_link,
    record_audit,
    refuse,
    user_role,
)
from handlers.flows import private_flow
from handlers.moderators import copy_language, send_to_moderators
from handlers.residents import callbacks
from handlers.residents.texts import format_area, parse_area, relation_name
from storage import audit, communities, memberships, people, residents, unit_owners, units

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
        unit = await units.ensure(conn, community.id, address, now)
        existing = await residents.find(conn, community.id, user.id, unit.id)
        if existing is not None and existing.status is ResidentStatus.VERIFIED:
            already = True
        else:
            already = False
            request = await residents.request(
                conn, community_id=community.id, user_id=user.id, unit_id=unit.id,
                relation=relation, area_claimed=draft.get("area"), now=now)
    if already:
        await flow_reply(update, _("You are already on the roster for {unit}.").format(
            unit=address.code))
        return ConversationHandler.END
    await flow_reply(update, _("Thank you! Your request to join {group} as {relation} of {unit} "
                         "went to the moderators. I will tell you when they decide.").format(
        group=html.escape(community.title), relation=relation_name(relation, _),
        unit=address.code))
    await notify_moderators(context, community, request.id)
    return ConversationHandler.END


# --- moderators ------------------------------------------------------------------------


async def request_text(context: YishiContext, resident_id: int, _: Translator) -> str:
    async with context.services.db.transaction() as conn:
        request = await residents.get(conn, resident_id)
        assert request is not None
        person = await people.get(conn, request.user_id)
        unit = await units.get(conn, request.unit_id)
        community = await communities.by_id(conn, request.community_id)
    assert person is not None and unit is not None and community is not None
    who = html.escape(person.name) + (f" (@{person.username})" if person.username else "")
    lines = [_("<b>Join request</b> for {group}").format(group=html.escape(community.title)),
             _("{who} asks to join as {relation} of {unit}.").format(
                 who=who, relation=relation_name(request.relation, _),
                 unit=unit.address.code)]
    if request.area_claimed is not None:
        lines.append(_("Floor area given: {area}").format(
            area=format_area(request.area_claimed)))
    return "\n".join(lines)


def decision_buttons(resident_id: int, _: Translator,
                     on_register: Sequence[unit_owners.Entry] = ()) -> InlineKeyboardMarkup:
    """Approve / Reject; for an owner whose unit lists owners not yet on Telegram, a way to
    approve them as that entry of the register instead of as a second owner."""
    rows = [[InlineKeyboardButton(_("Approve as {name} (on the register)").format(
        name=entry.owner.name[:40]), callback_data=callbacks.LINK.data(resident_id, entry.id))]
        for entry in on_register]
    rows.append([
        InlineKeyboardButton(_("Approve as a new owner") if on_register else _("Approve"),
                             callback_data=callbacks.DECIDE.data(resident_id, "ok")),
        InlineKeyboardButton(_("Reject"), callback_data=callbacks.DECIDE.data(resident_id, "no")),
    ])
    return InlineKeyboardMarkup(rows)


async def decision_markup(context: YishiContext, resident_id: int,
                          _: Translator) -> InlineKeyboardMarkup:
    async with context.services.db.transaction() as conn:
        request = await residents.get(conn, resident_id)
        entries = await unit_owners.unlinked(conn, request.unit_id) \
            if request is not None and request.relation is Relation.OWNER else []
    return decision_buttons(resident_id, _, entries)


async def notify_moderators(context: YishiContext, community: Community,
                            resident_id: int) -> None:
    """Put the request in front of the moderators, with its decision buttons."""

    async def render(_: Translator) -> tuple[str, InlineKeyboardMarkup]:
        return (await request_text(context, resident_id, _),
                await decision_markup(context, resident_id, _))

    copies = await send_to_moderators(context.bot, context.services, community, render,
        unreachable_note=N_("A resident asked to join the roster. Moderators: start a private "
                            "chat with me and send /residents to review it."))
    async with context.services.db.transaction() as conn:
        await residents.set_notices(conn, resident_id, copies)


async def decide(update: Update, context: YishiContext) -> None:
    """Approve / Reject on a join request, checked against who may decide it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    decided_by_button = callbacks.DECIDE.parse(query.data)
    linked = callbacks.LINK.parse(query.data)
    services = context.services
    request, community, entry = None, None, None
    pressed = decided_by_button or linked
    if pressed is not None:
        async with services.db.transaction() as conn:
            request = await residents.get(conn, pressed[0])
            community = await communities.by_id(conn, request.community_id) if request else None
            entry = await unit_owners.get(conn, linked[1]) if linked else None
    if request is None or community is None or (linked is not None and (
            entry is None or entry.unit_id != request.unit_id or entry.owner.user_id is not None
            or request.relation is not Relation.OWNER)):
        await refuse(update, context, N_("This button is out of date."))
        return
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return
    approve = linked is not None or (decided_by_button is not None
                                     and decided_by_button[1] == "ok")
    now = services.clock.now()
    async with services.db.transaction() as conn:
        decided = await residents.decide(
            conn, request.id,
            ResidentStatus.VERIFIED if approve else ResidentStatus.REJECTED, by=user.id,
            now=now)
        if decided and entry is not None:
            # The owner on the register is this person: every unit listed under that name.
            await unit_owners.link(conn, community.id, entry.owner.name, request.user_id)
            await audit.record(conn, community_id=community.id, actor_id=user.id,
                               action="register.link", at=now,
                               details={"resident": request.id, "entry": entry.id})
        if decided and approve and request.relation is Relation.OWNER \
                and request.area_claimed is not None:
            # The register's area stands; a claimed one fills in only a missing area.
            unit = await units.get(conn, request.unit_id)
            if unit is not None and unit.area_m2 is None:
                await units.set_area(conn, request.unit_id, request.area_claimed)
        final = await residents.get(conn, request.id)
        decider = await people.get(conn, final.decided_by) if final and final.decided_by \
            else None
    assert final is not None
    _ = translator(await person_language(context, user))
    decider_name = decider.name if decider else "?"
    if not decided:
        await query.answer(_("Another moderator already decided this request."),
                           show_alert=True)
        shown = query.message
        if isinstance(shown, Message) and [shown.chat_id, shown.message_id] \
                not in final.notices:
            # A copy we had lost track of: bring it up to date too.
            await _close_notices(context, final, decider_name,
                                 [[shown.chat_id, shown.message_id]])
        return
    await query.answer(_("Approved.") if approve else _("Rejected."))
    await record_audit(context, community, update,
                       "resident.approve" if approve else "resident.reject",
                       resident=request.id, user=request.user_id, unit=request.unit_id)
    await _tell_resident(context, community, final.user_id, request.unit_id, approve)
    shown = query.message
    copies = list(final.notices)
    if isinstance(shown, Message) and [shown.chat_id, shown.message_id] not in copies:
        copies.append([shown.chat_id, shown.message_id])
    await _close_notices(context, final, decider_name, copies)


async def _tell_resident(context: YishiContext, community: Community, user_id: int,
                         unit_id: int, approved: bool) -> None:
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, user_id)
        unit = await units.get(conn, unit_id)
    if person is None or unit is None:
        return
    _ = translator(person.reads(context.services.default_language))
    text = (_("Welcome! You are now on the roster of {group} for {unit}.") if approved else
            _("Your request to join {group} for {unit} was not approved. If you think this "
              "is a mistake, please talk to a moderator."))
    try:
        await context.bot.send_message(user_id, text.format(
            group=html.escape(community.title), unit=unit.address.code))
    except Forbidden:
        log.info("resident unreachable for the join decision", extra={"user_id": user_id})


async def _close_notices(context: YishiContext, request: residents.Resident, decider: str,
                         copies: list[list[int]]) -> None:
    """Each copy of the request shows the outcome and loses its buttons."""
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, request.community_id)
    assert community is not None
    for chat_id, message_id in copies:
        _ = await copy_language(context, community, chat_id)
        outcome = (_("✅ Approved by {name}") if request.status is ResidentStatus.VERIFIED
                   else _("❌ Rejected by {name}")).format(name=html.escape(decider))
        try:
            await context.bot.edit_message_text(
                await request_text(context, request.id, _) + "\n\n" + outcome,
                chat_id=chat_id, message_id=message_id)
        except BadRequest:
            pass  # already shows the outcome, or too old to edit


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("join", join_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="join", command="join", start=join_command,
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

