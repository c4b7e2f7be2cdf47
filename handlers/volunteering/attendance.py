"""Seats taken and given back, the organiser's attendance card, and a moderator taking
back one attendee's hours."""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import YishiApp, YishiContext
from bot.domain.helping import EntryKind, hours, shown
from bot.domain.models import Community, DueWork
from bot.domain.points import Action
from bot.domain.volunteering import (
    Activity,
    ActivityError,
    ActivityStatus,
    may_confirm_attendance,
    may_sign_up,
)
from bot.i18n import N_, Translator, translator
from bot.points import revoke
from bot.scheduler import Done, Outcome
from handlers import outgoing
from handlers.common import (
    person_translator,
    refuse,
)
from handlers.volunteering.callbacks import ATTENDED, HELD, SEAT
from handlers.volunteering.lifecycle import credit, refresh
from storage import Connection, audit, outbox, people
from storage import helping as bank
from storage import volunteering as store

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
            await refresh(conn, activity.id, now)
    if code is not None:
        await refuse(update, context, _SEAT_REFUSALS[code])
        return
    services.outbox.kick()
    _ = await person_translator(update, context)
    assert activity is not None
    said = _("You have a seat at {ref}. See you there!") if values[1] == "take" else \
        _("Your seat at {ref} is free again.")
    await query.answer(said.format(ref=activity.ref), show_alert=True)


async def _attendance_card(conn: Connection, activity: Activity, _: Translator
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
            came = await credit(conn, services, activity, now)
    if refusal is not None or activity is None:
        await refuse(update, context, refusal or _ATTENDANCE_REFUSALS["gone"])
        return
    services.outbox.kick()
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(_("Confirmed: {count} came to {ref}. Thank you for "
                                    "organising it!").format(count=came, ref=activity.ref))


REASON_MAX = 300


class _Refused(Exception):
    pass


async def undo(update: Update, context: YishiContext, community: Community,
                args: list[str], _: Translator) -> str:
    """/volunteer undo V-1 NAME REASON: the attendee's time credits and points for it are
    reversed (refused whole if they have spent the credits since), they are no longer
    counted as having come, and they are told the reason."""
    user = update.effective_user
    assert user is not None
    usage = _("Write it like this: /volunteer undo V-1 NAME the reason (NAME as on the "
              "attendance, or @username). Nothing was changed.")
    ref = args[0].upper() if args else ""
    if not (ref.startswith("V-") and ref[2:].isascii() and ref[2:].isdigit()):
        return usage
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        activity = await store.by_number(conn, community.id, int(ref[2:]))
        came = [u for u, attended in await store.signed_up(conn, activity.id) if attended] \
            if activity is not None and activity.status is ActivityStatus.HELD else []
        names = await people.names(conn, came)
    if activity is None or activity.status is not ActivityStatus.HELD:
        return _("{ref} has no confirmed attendance in this group.").format(ref=ref)
    who, reason = _attendee(args[1:], names)
    if who is None or not reason or len(reason) > REASON_MAX:
        return usage
    try:
        async with services.db.transaction() as conn:
            taken = 0
            entries = await bank.entries_for(conn, community.id, activity.ref)
            undone = {e.reverses for e in entries if e.reverses is not None}
            for entry in entries:
                if entry.user_id != who or entry.kind is not EntryKind.DEPOSIT \
                        or entry.id in undone:
                    continue
                try:
                    await bank.enter(conn, community_id=community.id, user_id=who,
                                     kind=EntryKind.REVERSAL, amount=-entry.amount,
                                     ref=activity.ref, reason=reason, reverses=entry.id,
                                     by=user.id, now=now)
                except bank.Overdrawn:
                    raise _Refused from None
                taken += entry.amount
            points = await revoke(conn, community, user_id=who, action=Action.VOLUNTEER,
                                  ref=activity.ref, by=user.id, now=now)
            await store.toggle_attended(conn, activity.id, who)
            await audit.record(conn, community_id=community.id, actor_id=user.id,
                               action="activity.reverse", at=now,
                               details={"activity": activity.ref, "credits": taken,
                                        "points": points, "reason": reason})
            await outbox.queue(conn, await outgoing.to_people(
                conn, [who], f"activity:{activity.id}:reversed", services.default_language,
                lambda _: _("The moderators of {group} took back your attendance at {ref}: "
                            "{credits} credits and {points} points. Their reason: {reason}")
                .format(group=html.escape(community.title), ref=activity.ref,
                        credits=shown(taken), points=points, reason=html.escape(reason))),
                now)
            await refresh(conn, activity.id, now)
    except _Refused:
        return _("{name} has spent or given the credits of {ref} since, so they cannot be "
                 "taken back. Nothing was changed.").format(
            name=html.escape(names[who].name), ref=activity.ref)
    services.outbox.kick()
    return _("Took back {ref} from {name}: {credits} credits and {points} points. They were "
             "told the reason.").format(ref=activity.ref, name=html.escape(names[who].name),
                                        credits=shown(taken), points=points)


def _attendee(words: list[str], names: dict[int, Any]) -> tuple[int | None, str]:
    """The attendee the first words name (by @username or their name as shown), and the
    rest: the reason."""
    for cut in range(len(words), 0, -1):
        said = " ".join(words[:cut])
        for user, person in names.items():
            if said.casefold() == person.name.casefold() or (
                    person.username and said.lstrip("@").casefold()
                    == person.username.casefold() and said.startswith("@")):
                return user, " ".join(words[cut:]).strip()
    return None, ""
