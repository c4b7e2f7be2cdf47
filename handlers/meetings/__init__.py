"""Round-table meetings (圆桌会议): /meeting (moderators) calls one in private — title,
agenda, when, where, seats — and it is posted with "Sign up" and "Cancel my place"; beyond
the seats people wait and move up in order; those with a seat are reminded the day before
and an hour before; ``/meeting M-1`` sends the organiser who is coming. When it starts the
organiser ticks who came and writes the minutes (协商纪要), posted to the group and kept;
each agreed action becomes a decision in one press.

Callback data: ``mc:*`` the calling flow, ``ms:<meeting>:take|back`` places,
``ma:<meeting>:<user>`` attendance, ``mw:<meeting>`` the minutes, ``md:<meeting>:<n>`` an
agreed action made a decision."""

from __future__ import annotations

import functools

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp
from bot.domain.models import DueWork
from bot.i18n import N_
from bot.scheduler import Done, Outcome
from handlers.flows import flow, private_flow
from handlers.meetings import create, lifecycle, minutes
from handlers.meetings.callbacks import ATTENDED, DECIDE, FOR, MINUTES, SEAT


async def _remind(app: YishiApp, work: DueWork) -> Outcome:
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        await lifecycle.remind(conn, services, int(work.payload["meeting"]),
                               str(work.payload["which"]), services.clock.now())
    services.outbox.kick()
    return Done()


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("meeting", create.in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="meeting", command="meeting", start=create.ENTRIES.command,
        doing=N_("calling a round-table meeting"), from_link=create.ENTRIES.from_link,
        link="meeting",
        states={
            create.CHOOSE: [CallbackQueryHandler(create.ENTRIES.group_chosen,
                                                 pattern=FOR.matches)],
            create.TITLE: [MessageHandler(typed, create.title_typed)],
            create.AGENDA: [MessageHandler(typed, create.agenda_typed)],
            create.WHEN: [MessageHandler(typed, create.when_typed)],
            create.PLACE: [MessageHandler(typed, create.place_typed)],
            create.SEATS: [MessageHandler(typed, create.seats_typed)],
            create.BACKGROUND: [MessageHandler(typed | F.PHOTO | F.Document.ALL
                                               | F.Regex(r"^/skip\b"),
                                               create.background_sent)],
        }))
    app.add_handler(flow(
        app, name="minutes", command="meeting", doing=N_("writing a meeting's minutes"),
        entry_points=[CallbackQueryHandler(minutes.minutes_pressed, pattern=MINUTES.matches)],
        states={
            minutes.SAID: [MessageHandler(typed | F.Regex(r"^/skip\b"), minutes.said_typed)],
            minutes.AGREED: [MessageHandler(typed | F.Regex(r"^/skip\b"),
                                            minutes.agreed_typed)],
        }))
    app.add_handler(private_flow(
        app, name="comment", command="comment", start=minutes.comment_command,
        doing=N_("commenting on a meeting's minutes"), from_link=minutes.comment_from_link,
        link=minutes.COMMENT_LINK,
        states={minutes.COMMENT: [MessageHandler(typed, minutes.comment_typed)]}))
    app.add_handler(CallbackQueryHandler(create.seat_pressed, pattern=SEAT.matches))
    app.add_handler(CallbackQueryHandler(minutes.attended_pressed, pattern=ATTENDED.matches))
    app.add_handler(CallbackQueryHandler(minutes.decide_pressed, pattern=DECIDE.matches))
    app.bot_data.services.scheduler.on(lifecycle.REMIND, _remind)
    app.bot_data.services.scheduler.on(lifecycle.MINUTES_DUE, minutes.card_due)
    services = app.bot_data.services
    services.outbox.on_sent(lifecycle.POSTED, functools.partial(lifecycle.posted, services))
    app.bot_data.services.outbox.on_sent(minutes.MINUTES_POSTED, minutes.minutes_posted)
