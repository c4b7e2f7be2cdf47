"""Volunteer activities (/volunteer, moderators): a clean-up, a garden day — the title, when,
how long, how many seats and what kind of service it is, written in private and posted to
the group as V-1, V-2 … with "Take a seat" and "Give my seat back". Half an hour after it
ends, the organiser ticks who came; each attendee earns the volunteering points and the
hours in their time bank at the kind's rate, and the post says how it went.

Callback data: ``vc:*`` the flow, ``vs:<activity>:take|back`` seats, ``va:<activity>:<user>``
attendance, ``vd:<activity>`` attendance confirmed."""


from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp
from bot.i18n import N_
from handlers.flows import private_flow
from handlers.volunteering.attendance import (
    ask_attendance,
    attended_pressed,
    held_pressed,
    seat_pressed,
)
from handlers.volunteering.callbacks import ATTENDED, FOR, HELD, KIND, LENGTH, SEAT
from handlers.volunteering.create import (
    CHOOSE,
    ENTRIES,
    KIND_STATE,
    LENGTH_STATE,
    SEATS,
    TITLE,
    WHEN,
    in_group,
    kind_chosen,
    length_chosen,
    seats_typed,
    title_typed,
    when_typed,
)
from handlers.volunteering.lifecycle import ATTENDANCE, POSTED, posted


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("volunteer", in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="volunteer", command="volunteer", start=ENTRIES.command,
        doing=N_("posting a volunteer activity"), from_link=ENTRIES.from_link, link="volunteer",
        states={
            CHOOSE: [CallbackQueryHandler(ENTRIES.group_chosen, pattern=FOR.matches)],
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
    app.bot_data.services.outbox.on_sent(POSTED, posted)

