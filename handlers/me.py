"""/me and /top (points and levels), /forgetme and /mydata (a person's own data)."""

from __future__ import annotations

import html
import io
import json

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler
from telegram.ext import filters as F

from bot.buttons import Choice, button
from bot.context import YishiApp, YishiContext
from bot.domain.helping import hours
from bot.domain.points import Level, initials, standing
from bot.domain.residents import ResidentStatus
from bot.i18n import N_, Translator, translator
from bot.points import local_month_start
from handlers.common import (
    communities_of,
    ensure_community,
    person_translator,
    refuse,
    user_role,
)
from handlers.residents.texts import relation_name
from handlers.roles import role_name
from storage import (
    audit,
    flow_state,
    helping,
    meetings,
    memberships,
    people,
    personal,
    residents,
    unit_owners,
    units,
    volunteering,
)
from storage import points as ledger
from storage import polls as poll_store

LEVEL_NAMES = {
    Level.RESIDENT: N_("Resident"),
    Level.ACTIVE: N_("Active neighbour"),
    Level.BACKBONE: N_("Backbone"),
    Level.STAR: N_("Star resident"),
    Level.HERO: N_("Community hero"),
}
STATUS_NAMES = {
    ResidentStatus.PENDING: N_("waiting for a moderator"),
    ResidentStatus.VERIFIED: N_("verified"),
    ResidentStatus.REJECTED: N_("not approved"),
}
LEADERBOARD_SIZE = 10

# /me: how one is named on the leaderboard; /forgetme: the confirmation.
PUBLIC_NAME = button("me:pn", Choice("name", "initials"))
FORGET = button("fm", Choice("yes", "no"))


def _name_buttons(choice: str, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(("✓ " if choice == "name" else "") + _("Show my name on /top"),
                             callback_data=PUBLIC_NAME.data("name")),
        InlineKeyboardButton(("✓ " if choice == "initials" else "") + _("Only my initials"),
                             callback_data=PUBLIC_NAME.data("initials")),
    ]])


async def me(update: Update, context: YishiContext) -> None:
    """/me: my units, role, points and level in each of my communities."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    await message.reply_text(await _me_text(context, user.id, _), reply_markup=_name_buttons(
        await _public_name(context, user.id), _))


async def _public_name(context: YishiContext, user_id: int) -> str:
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, user_id)
    return person.public_name if person else "initials"


async def _me_text(context: YishiContext, user_id: int, _: Translator) -> str:
    services = context.services
    mine = await communities_of(context, user_id)
    if not mine:
        return _("You are not in any building group I know yet. Send /join in your "
                 "building's group.")
    now = services.clock.now()
    blocks = []
    for community in mine:
        async with services.db.transaction() as conn:
            ties = await residents.of_person(conn, user_id, community.id)
            month = await ledger.earned(conn, community.id, user_id,
                                        since=local_month_start(now, community.timezone))
            total = await ledger.earned(conn, community.id, user_id)
        role = await user_role(context, community, user_id)
        where = _("; ").join(_("{unit} ({relation}, {status})").format(
            unit=address.code, relation=relation_name(tie.relation, _),
            status=_(STATUS_NAMES[tie.status])) for tie, address in ties) \
            or _("no unit yet — send /join")
        level = standing(services.settings.points.levels, total)
        lines = [f"<b>{html.escape(community.title)}</b>",
                 _("Unit: {units}").format(units=where),
                 _("Role: {role}").format(role=role_name(role, _)),
                 _("Points: {month} this month, {total} in all").format(month=month,
                                                                        total=total),
                 _("Level: {level}").format(level=_(LEVEL_NAMES[level.level]))]
        if level.next_level is not None:
            lines.append(_("{points} more points to reach {level}: vote, report problems, "
                           "support topics, help out.").format(
                points=level.points_to_next, level=_(LEVEL_NAMES[level.next_level])))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def public_name_button(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    choice = (query.data or "").rsplit(":", 1)[-1]
    if choice not in ("name", "initials"):
        await refuse(update, context, N_("This button is out of date."))
        return
    _ = await person_translator(update, context)
    if choice == await _public_name(context, user.id):
        await query.answer(_("That is already the setting."))
        return
    async with context.services.db.transaction() as conn:
        await people.set_public_name(conn, user.id, choice, context.services.clock.now())
    await query.answer(_("Saved."))
    await query.edit_message_reply_markup(_name_buttons(choice, _))


async def top(update: Update, context: YishiContext) -> None:
    """/top in the group: this month's most active residents, if the group wants it."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if not community.leaderboard:
        await message.reply_text(_("The leaderboard is turned off in this group."))
        return
    services = context.services
    now = services.clock.now()
    month = local_month_start(now, community.timezone)
    async with services.db.transaction() as conn:
        board = await ledger.leaderboard(conn, community.id, month, LEADERBOARD_SIZE)
        named = await people.names(conn, [user_id for user_id, _ in board])
        helps, help_minutes = await helping.given_between(conn, community.id, month, now)
        held, held_minutes = await volunteering.held_between(conn, community.id, month, now)
    if not board:
        await message.reply_text(_("No points yet this month. Vote, report a problem or "
                                   "support a topic to be the first!"))
        return
    lines = [_("<b>Most active neighbours this month</b>")]
    for rank, (user_id, points) in enumerate(board, start=1):
        person = named.get(user_id)
        shown = "?" if person is None else (
            person.name if person.public_name == "name" else initials(person.name))
        lines.append(_("{rank}. {name} — {points} points").format(
            rank=rank, name=html.escape(shown), points=points))
    if helps or held:
        lines.append(_("This month neighbours gave {hours} h: {helps} times helping one "
                       "another and at {activities} volunteer activities.").format(
            hours=hours(help_minutes + held_minutes), helps=helps, activities=held))
    await message.reply_text("\n".join(lines))


# --- a person's own data ----------------------------------------------------------------


async def forget_me(update: Update, context: YishiContext) -> None:
    """/forgetme: ask first; nothing happens without the confirmation."""
    _ = await person_translator(update, context)
    await update.effective_message.reply_text(
        _("This removes your name, your units, your language and your points from yishi. "
          "Votes you cast stay counted, without your name. Moderators' records keep that an "
          "action happened, not who you are. This cannot be undone."),
        reply_markup=InlineKeyboardMarkup([[
            InlineKeyboardButton(_("Yes, forget me"), callback_data=FORGET.data("yes")),
            InlineKeyboardButton(_("No, keep my data"), callback_data=FORGET.data("no")),
        ]]))


async def forget_me_button(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    answer = (query.data or "").rsplit(":", 1)[-1]
    _ = await person_translator(update, context)
    if answer != "yes":
        await query.answer()
        await query.edit_message_text(_("Nothing was removed."))
        return
    services = context.services
    async with services.db.transaction() as conn:
        person = await people.get(conn, user.id)
        held = await memberships.communities_of(conn, user.id)
        await personal.forget_messages(conn, user.id, [str(user.id), *(
            [person.name] if person else []), *([f"@{user.username}", user.username]
                                                if user.username else [])])
        await units.clear_voter(conn, user.id)
        await residents.forget_person(conn, user.id)
        await unit_owners.forget_person(conn, user.id)
        await ledger.forget_person(conn, user.id)
        await meetings.forget_person(conn, user.id)
        await poll_store.forget_voter(conn, user.id)
        await audit.anonymise(conn, user.id, [m.community_id for m in held])
        await personal.forget(conn, user.id)
        await flow_state.drop_user_data(conn, user.id)
        await flow_state.forget_conversations(conn, user.id)
        await people.forget(conn, user.id)
        for membership in held:
            await audit.record(conn, community_id=membership.community_id, actor_id=None,
                               action="person.forgotten", at=services.clock.now())
    context.application.drop_user_data(user.id)
    for flow in services.flows.values():  # a flow they were in ends here too
        if flow.state((user.id, user.id)) is not None:
            flow.end((user.id, user.id))
    context.person_forgotten = True
    await query.answer()
    # Said in the language they used, which is now forgotten too.
    await query.edit_message_text(_("Done. I have forgotten you. If you send /start again, I "
                                    "will treat you as someone new."))


async def my_data(update: Update, context: YishiContext) -> None:
    """/mydata: everything yishi stores about the person, as a JSON file."""
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, user.id)
        held = await memberships.communities_of(conn, user.id)
        ties = await residents.of_person(conn, user.id)
        history = await ledger.history(conn, user.id)
        actions = await audit.by_actor(conn, user.id)
        everything = await personal.gather(conn, user.id)
    export = {
        "person": person.model_dump() if person else None,
        "memberships": [m.model_dump(mode="json") for m in held],
        "units": [{"community_id": tie.community_id, "unit": address.code,
                   "relation": tie.relation.value, "status": tie.status.value,
                   "area_given_m2": tie.area_claimed,
                   "requested_at": tie.requested_at.isoformat()} for tie, address in ties],
        "points": [e.model_dump(mode="json") for e in history],
        "actions_recorded": [e.model_dump(mode="json") for e in actions],
        "conversation_data": context.application.user_data.get(user.id, {}),
        **everything,
    }
    payload = json.dumps(export, ensure_ascii=False, indent=2, default=str).encode()
    await update.effective_message.reply_document(
        io.BytesIO(payload), filename="yishi-my-data.json",
        caption=_("Everything yishi stores about you."))


def register(app: YishiApp) -> None:
    private = F.ChatType.PRIVATE
    app.add_handler(CommandHandler("me", me, filters=private))
    app.add_handler(CallbackQueryHandler(public_name_button, pattern=PUBLIC_NAME.matches))
    app.add_handler(CommandHandler("top", top, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("forgetme", forget_me, filters=private))
    app.add_handler(CallbackQueryHandler(forget_me_button, pattern=FORGET.matches))
    app.add_handler(CommandHandler("mydata", my_data, filters=private))
