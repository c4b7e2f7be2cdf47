"""Volunteer activities (/volunteer, moderators): a clean-up, a garden day — the title, when,
how long, how many seats and what kind of service it is, written in private and posted to
the group as V-1, V-2 … with "Take a seat" and "Give my seat back". Half an hour after it
ends, the organiser ticks who came; each attendee earns the volunteering points and the
hours in their time bank at the kind's rate, and the post says how it went.

Callback data: ``vc:*`` the flow, ``vs:<activity>:take|back`` seats, ``va:<activity>:<user>``
attendance, ``vd:<activity>`` attendance confirmed."""

from __future__ import annotations

import html
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as F

from bot.buttons import Choice, Id, Index, button
from bot.context import YishiApp, YishiContext
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.helping import EntryKind, Kind, credits, hours, shown
from bot.domain.models import Community, DueWork, Role
from bot.domain.points import Action
from bot.domain.typed import visible
from bot.domain.volunteering import (
    SEATS_MAX,
    Activity,
    ActivityError,
    ActivityStatus,
    may_confirm_attendance,
    may_sign_up,
)
from bot.i18n import N_, Translator, translator
from bot.points import award
from bot.scheduler import Done, Outcome
from handlers import outgoing
from handlers.common import (
    begin_for_chosen,
    begin_for_moderator,
    begin_from_link,
    date_examples,
    ensure_community,
    flow_reply,
    is_anonymous_admin,
    person_translator,
    private_link,
    refuse,
    role_of,
    time_problem,
)
from handlers.flows import private_flow
from handlers.helping.lifecycle import kind_name
from storage import audit, communities, due_work, outbox, people
from storage import helping as bank
from storage import volunteering as store

FOR = button("vc:g", Id)
LENGTH = button("vc:l", Index(17))  # half hours
KIND = button("vc:k", Choice(*(k.value for k in Kind)))
SEAT = button("vs", Id, Choice("take", "back"))
ATTENDED = button("va", Id, Id)
HELD = button("vd", Id)

CHOOSE, TITLE, WHEN, LENGTH_STATE, SEATS, KIND_STATE = range(100, 106)
DRAFT = "activity"
TITLE_MAX = 120
DEFAULT_TIME = time(9, 0)
ATTENDANCE = "activity_attendance"  # due work: the organiser ticks who came
POSTED = "activity_post"
NOT_MODERATOR = N_("Only moderators can post volunteer activities. You are not a moderator "
                   "of any group I am in.")


# --- the flow -------------------------------------------------------------------------


async def in_group(update: Update, context: YishiContext) -> None:
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if await role_of(context, community, update) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    text = _("Volunteer activities are written in a private chat with me, then posted here.")
    if is_anonymous_admin(update, community):
        text += " " + _("Anonymous administrators: open the link from your own account.")
    await message.reply_text(text, reply_markup=private_link(
        context, "volunteer", community, _("Post a volunteer activity")))


async def command(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    return await begin_for_moderator(update, context, begin=_begin, choose_state=CHOOSE,
                                     choose=FOR, refusal=NOT_MODERATOR)


async def from_link(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    return await begin_from_link(update, context, begin=_begin, refusal=NOT_MODERATOR)


async def group_chosen(update: Update, context: YishiContext) -> int:
    return await begin_for_chosen(update, context, begin=_begin, choose_state=CHOOSE)


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    context.user_data[DRAFT] = {"community": community.id}
    _ = await person_translator(update, context)
    await flow_reply(update, _("What is the activity for {group}? A short title, e.g. “Garden "
                               "day in the courtyard”. /cancel to stop.").format(
        group=html.escape(community.title)))
    return TITLE


async def _community(context: YishiContext) -> tuple[dict[str, Any], Community] | None:
    draft = context.user_data.get(DRAFT)
    if draft is None:
        return None
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    return (draft, community) if community is not None else None


async def title_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    found = await _community(context)
    if found is None:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    title = " ".join(visible(message.text or "").split())
    if not title or len(title) > TITLE_MAX:
        await message.reply_text(_("A title needs 1 to {limit} characters; yours has {length}. "
                                   "Please shorten it.").format(limit=TITLE_MAX,
                                                                length=len(title)))
        return TITLE
    draft["title"] = title
    await message.reply_text(_("When? Type the local date and time ({examples}).").format(
        examples=date_examples(_, context.services.clock.now(), community.timezone,
                               at=DEFAULT_TIME)))
    return WHEN


async def when_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    found = await _community(context)
    if found is None or "title" not in found[0]:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    now = context.services.clock.now()
    try:
        at = parse_deadline(message.text or "", now, community.timezone,
                            minimum=timedelta(hours=1), maximum=timedelta(days=180),
                            default_time=DEFAULT_TIME)
    except DeadlineError as exc:
        await message.reply_text(time_problem(
            _, exc.code, now, community.timezone, at=DEFAULT_TIME,
            too_far=N_("Please give a time within the coming six months.")))
        return WHEN
    draft["starts_at"] = at.isoformat()
    row = [InlineKeyboardButton(_("{hours} h").format(hours=hours(half * 30)),
                                callback_data=LENGTH.data(half)) for half in (2, 3, 4, 6, 8, 12)]
    await message.reply_text(_("How long will it take?"),
                             reply_markup=InlineKeyboardMarkup([row[:3], row[3:]]))
    return LENGTH_STATE


async def length_chosen(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    chosen = LENGTH.parse(query.data)
    found = await _community(context)
    if found is None or "starts_at" not in found[0] or not chosen or chosen[0] == 0:
        await refuse(update, context, N_("This button is out of date."))
        return LENGTH_STATE
    found[0]["minutes"] = chosen[0] * 30
    _ = await person_translator(update, context)
    await flow_reply(update, _("How many seats? Type a number from 1 to {most}.").format(
        most=SEATS_MAX))
    return SEATS


async def seats_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    found = await _community(context)
    if found is None or "minutes" not in found[0]:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    typed = (message.text or "").strip()
    if not typed.isascii() or not typed.isdigit() or not 1 <= int(typed) <= SEATS_MAX:
        await message.reply_text(_("Please type a number from 1 to {most}.").format(
            most=SEATS_MAX))
        return SEATS
    found[0]["seats"] = int(typed)
    kinds = [InlineKeyboardButton(kind_name(k, _), callback_data=KIND.data(k.value))
             for k in Kind]
    await message.reply_text(_("What kind of service is it? Its time credits follow the "
                               "kind's rate."),
                             reply_markup=InlineKeyboardMarkup(
                                 [kinds[n:n + 2] for n in range(0, len(kinds), 2)]))
    return KIND_STATE


async def kind_chosen(update: Update, context: YishiContext) -> int:
    """The last answer: posted to the group."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    chosen = KIND.parse(query.data)
    found = await _community(context)
    if found is None or "seats" not in found[0] or chosen is None:
        await refuse(update, context, N_("This button is out of date."))
        return KIND_STATE
    draft, community = found
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        made = await store.create(
            conn, community_id=community.id, title=draft["title"], kind=Kind(chosen[0]),
            starts_at=datetime.fromisoformat(draft["starts_at"]), minutes=draft["minutes"],
            seats=draft["seats"], organiser_id=user.id, now=now)
        text, markup = await _post(conn, made, community)
        await outbox.queue(conn, [outgoing.message(
            f"activity:{made.id}:post", community.chat_id, text, markup=markup,
            remember={"what": POSTED, "activity": made.id,
                      "shows": outgoing.shows(text, markup)})], now)
        await due_work.schedule(conn, kind=ATTENDANCE, key=str(made.id),
                                due_at=made.ends_at + timedelta(minutes=30), now=now,
                                payload={"activity": made.id})
        await audit.record(conn, community_id=community.id, actor_id=user.id,
                           action="activity.post", at=now, details={"activity": made.ref})
    context.user_data.pop(DRAFT, None)
    services.outbox.kick()
    _ = await person_translator(update, context)
    await flow_reply(update, _("Posted to {group} as {ref}. After it, I will ask you who came.")
                     .format(group=html.escape(community.title), ref=made.ref))
    return ConversationHandler.END


# --- the post and its seats ---------------------------------------------------------------


async def _post(conn: AsyncConnection, activity: Activity, community: Community
                ) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = translator(community.language)
    signed = await store.signed_up(conn, activity.id)
    organiser = await people.names(conn, [activity.organiser_id])
    lines = [
        "<b>" + _("🌱 {ref} · Volunteering · {title}").format(ref=activity.ref,
                                               title=html.escape(activity.title)) + "</b>",
        _("When: {when}, about {hours} h").format(when=_local(activity.starts_at, community),
                                                   hours=hours(activity.minutes)),
        _("Seats: {taken} of {seats} taken").format(taken=len(signed), seats=activity.seats),
        _("Organised by {name}").format(name=html.escape(
            organiser[activity.organiser_id].name if activity.organiser_id in organiser
            else "?")),
    ]
    if activity.status is ActivityStatus.HELD:
        came = [user for user, attended in signed if attended]
        lines.append("<i>" + _("Held: {count} came, {hours} h given. Thank you!").format(
            count=len(came), hours=hours(activity.minutes * len(came))) + "</i>")
        return "\n".join(lines), None
    return "\n".join(lines), InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Take a seat"), callback_data=SEAT.data(activity.id, "take")),
        InlineKeyboardButton(_("Give my seat back"),
                             callback_data=SEAT.data(activity.id, "back"))]])


def _local(at: datetime, community: Community) -> str:
    return f"{at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


async def _refresh(conn: AsyncConnection, activity_id: int, now: datetime) -> None:
    activity = await store.get(conn, activity_id)
    if activity is None or activity.post_message_id is None or activity.post_chat_id is None:
        return
    community = await communities.by_id(conn, activity.community_id)
    assert community is not None
    text, markup = await _post(conn, activity, community)
    shows = outgoing.shows(text, markup)
    # The row notes what the post shows, in this transaction: run again, this action finds
    # it shown and queues nothing; the key need only be new.
    if not await store.showing(conn, activity.id, shows):
        return
    await outbox.queue(conn, [outgoing.edit_text(
        f"activity:{activity.id}:edit:{shows}:{secrets.token_hex(8)}", activity.post_chat_id,
        activity.post_message_id, text, markup=markup)], now)


async def _posted(conn: AsyncConnection, remember: dict[str, Any], answer: Any,
                  now: datetime) -> None:
    activity_id = int(remember["activity"])
    await store.posted(conn, activity_id, int(answer["chat"]["id"]),
                       int(answer["message_id"]), str(remember.get("shows", "")))
    await _refresh(conn, activity_id, now)  # seats taken while it was on its way


_SEAT_REFUSALS = {
    "gone": N_("This button is out of date."),
    "closed": N_("Sign-up for this activity has closed."),
    "already": N_("You already have a seat."),
    "full": N_("Every seat is taken, sorry."),
    "none": N_("You had no seat to give back."),
}


async def seat_pressed(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = SEAT.parse(query.data)
    assert values is not None
    services = context.services
    now = services.clock.now()
    code = None
    async with services.db.transaction() as conn:
        activity = await store.get(conn, values[0])
        signed = await store.signed_up(conn, values[0]) if activity else []
        if activity is None:
            code = "gone"
        elif values[1] == "take":
            try:
                may_sign_up(activity, len(signed), user.id in {u for u, _a in signed}, now)
                await store.sign_up(conn, activity.id, user.id, now)
            except ActivityError as exc:
                code = exc.code
        elif activity.status is not ActivityStatus.OPEN or now >= activity.starts_at:
            code = "closed"
        elif not await store.give_back(conn, activity.id, user.id):
            code = "none"
        if code is None and activity is not None:
            await _refresh(conn, activity.id, now)
    if code is not None:
        await refuse(update, context, _SEAT_REFUSALS[code])
        return
    services.outbox.kick()
    _ = await person_translator(update, context)
    assert activity is not None
    said = _("You have a seat at {ref}. See you there!") if values[1] == "take" else \
        _("Your seat at {ref} is free again.")
    await query.answer(said.format(ref=activity.ref), show_alert=True)


# --- attendance ---------------------------------------------------------------------------


async def _attendance_card(conn: AsyncConnection, activity: Activity, _: Translator
                           ) -> tuple[str, InlineKeyboardMarkup]:
    signed = await store.signed_up(conn, activity.id)
    names = await people.names(conn, [u for u, _a in signed])
    rows = [[InlineKeyboardButton(("✅ " if came else "☐ ") + (
        names[user].name if user in names else "?"),
        callback_data=ATTENDED.data(activity.id, user))] for user, came in signed]
    rows.append([InlineKeyboardButton(_("Confirm who came"),
                                      callback_data=HELD.data(activity.id))])
    text = _("Who came to {ref} “{title}”? Tick them, then confirm: each earns the "
             "volunteering points and {hours} h in their time bank.").format(
        ref=activity.ref, title=html.escape(activity.title), hours=hours(activity.minutes))
    if not signed:
        text = _("Nobody took a seat at {ref} “{title}”. Confirm to close it.").format(
            ref=activity.ref, title=html.escape(activity.title))
    return text, InlineKeyboardMarkup(rows)


async def ask_attendance(app: YishiApp, work: DueWork) -> Outcome:
    """Due work: half an hour after the end, the organiser gets the attendance card."""
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        activity = await store.get(conn, int(work.payload["activity"]))
        if activity is None or activity.status is not ActivityStatus.OPEN:
            return Done()
        organiser = await people.names(conn, [activity.organiser_id])
        person = organiser.get(activity.organiser_id)
        if person is None or not person.started:
            return Done()
        _ = translator(person.reads(services.default_language))
        text, markup = await _attendance_card(conn, activity, _)
        await outbox.queue(conn, [outgoing.message(
            f"activity:{activity.id}:attendance", activity.organiser_id, text,
            markup=markup)], now)
    services.outbox.kick()
    return Done()


async def attended_pressed(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = ATTENDED.parse(query.data)
    assert values is not None
    services = context.services
    _ = await person_translator(update, context)
    async with services.db.transaction() as conn:
        activity = await store.get(conn, values[0])
        try:
            if activity is None:
                raise ActivityError("gone")
            may_confirm_attendance(activity, user.id, services.clock.now())
            if not await store.toggle_attended(conn, activity.id, values[1]):
                raise ActivityError("gone")
        except ActivityError as exc:
            refusal = _ATTENDANCE_REFUSALS.get(exc.code, _ATTENDANCE_REFUSALS["gone"])
            activity = None
        else:
            text, markup = await _attendance_card(conn, activity, _)
    if activity is None:
        await refuse(update, context, refusal)
        return
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


_ATTENDANCE_REFUSALS = {
    "gone": N_("This button is out of date."),
    "not_organiser": N_("Only the organiser can say who came."),
    "settled": N_("Attendance was confirmed before."),
    "too_early": N_("It has not started yet; tell me afterwards."),
}


async def held_pressed(update: Update, context: YishiContext) -> None:
    """The organiser confirms: each attendee earns the points and the time credits, once."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = HELD.parse(query.data)
    assert values is not None
    services = context.services
    now = services.clock.now()
    refusal = None
    async with services.db.transaction() as conn:
        activity = await store.get(conn, values[0])
        try:
            if activity is None:
                raise ActivityError("gone")
            may_confirm_attendance(activity, user.id, now)
            if not await store.settle(conn, activity.id, ActivityStatus.HELD):
                raise ActivityError("settled")
        except ActivityError as exc:
            refusal = _ATTENDANCE_REFUSALS.get(exc.code, _ATTENDANCE_REFUSALS["gone"])
        else:
            came = await _credit(conn, services, activity, now)
    if refusal is not None or activity is None:
        await refuse(update, context, refusal or _ATTENDANCE_REFUSALS["gone"])
        return
    services.outbox.kick()
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(_("Confirmed: {count} came to {ref}. Thank you for "
                                    "organising it!").format(count=came, ref=activity.ref))


async def _credit(conn: AsyncConnection, services: Any, activity: Activity,
                  now: datetime) -> int:
    community = await communities.by_id(conn, activity.community_id)
    assert community is not None
    came = [u for u, attended in await store.signed_up(conn, activity.id) if attended]
    rates = await bank.rates(conn, community.id, services.settings.timebank.rates)
    worth = credits(activity.minutes, rates.of(activity.kind))
    for attendee in came:
        await bank.enter(conn, community_id=community.id, user_id=attendee,
                         kind=EntryKind.DEPOSIT, amount=worth, ref=activity.ref, now=now)
        await award(conn, services.settings.points, community, user_id=attendee,
                    action=Action.VOLUNTEER, ref=activity.ref, now=now)
    await outbox.queue(conn, await outgoing.to_people(
        conn, came, f"activity:{activity.id}:thanks", services.default_language,
        lambda _: _("Thank you for coming to {ref} “{title}”: {hours} h, {credits} credits "
                    "in your time bank and the volunteering points.").format(
            ref=activity.ref, title=html.escape(activity.title),
            hours=hours(activity.minutes), credits=shown(worth))), now)
    await audit.record(conn, community_id=community.id, actor_id=activity.organiser_id,
                       action="activity.held", at=now,
                       details={"activity": activity.ref, "came": len(came)})
    await _refresh(conn, activity.id, now)
    return len(came)


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("volunteer", in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="volunteer", command="volunteer", start=command,
        doing=N_("posting a volunteer activity"), from_link=from_link, link="volunteer",
        states={
            CHOOSE: [CallbackQueryHandler(group_chosen, pattern=FOR.matches)],
            TITLE: [MessageHandler(typed, title_typed)],
            WHEN: [MessageHandler(typed, when_typed)],
            LENGTH_STATE: [CallbackQueryHandler(length_chosen, pattern=LENGTH.matches)],
            SEATS: [MessageHandler(typed, seats_typed)],
            KIND_STATE: [CallbackQueryHandler(kind_chosen, pattern=KIND.matches)],
        }))
    app.add_handler(CallbackQueryHandler(seat_pressed, pattern=SEAT.matches))
    app.add_handler(CallbackQueryHandler(attended_pressed, pattern=ATTENDED.matches))
    app.add_handler(CallbackQueryHandler(held_pressed, pattern=HELD.matches))
    app.bot_data.services.scheduler.on(ATTENDANCE, ask_attendance)
    app.bot_data.services.outbox.on_sent(POSTED, _posted)
