"""Issue reports (随手拍): a resident files one with photos; it is routed to the handlers
of its category, tracked through its statuses with time limits, and closed with the
reporter's word.

Callback data: ``rp:*`` the filing flow, ``rh:<report>:<action>`` a handler's buttons,
``ra:<report>:<person>`` reassigning, ``rm:<report>`` "Me too", ``rf:``/``rr:``/``rs:``
the reporter's follow-up. Every one is checked against the database."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp
from bot.domain.reports import Timer
from bot.i18n import N_
from handlers.flows import flow, private_flow
from handlers.reports import callbacks
from handlers.reports.file import (
    CATEGORY,
    CONFIRM,
    DESCRIPTION,
    PHOTOS,
    WHERE,
    category_button,
    description_typed,
    photo_sent,
    photos_done,
    report_from_link,
    report_in_group,
    submit,
    toggle_anonymous,
    where_button,
    where_typed,
)
from handlers.reports.followup import comment_typed, fixed_answer, rating, still_fixed_answer
from handlers.reports.handle import (
    COMMENT,
    HANDLER_NOTE,
    handler_button,
    handler_note,
    me_too,
    reassign,
)
from handlers.reports.jobs import (
    acknowledge_limit,
    acknowledge_soon,
    confirm_wait,
    group_notice,
    overdue_reminder,
    resolve_limit,
    resolve_soon,
    route_again,
    still_fixed,
)
from handlers.reports.lifecycle import (
    GROUP_NOTICE,
    POSTED,
    posted,
)
from handlers.reports.records import my_reports, report_with_reference, stale_report_button
from handlers.reports.routing import ROUTE


def register(app: YishiApp) -> None:
    private = F.ChatType.PRIVATE
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("report", report_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="report", command="report", start=report_with_reference,
        doing=N_("reporting a problem"),
        from_link=report_from_link, link="report",
        states={
            CATEGORY: [CallbackQueryHandler(category_button, pattern=callbacks.CATEGORY.matches)],
            PHOTOS: [MessageHandler(F.PHOTO, photo_sent),
                     CallbackQueryHandler(photos_done, pattern=callbacks.PHOTOS_DONE.matches)],
            DESCRIPTION: [MessageHandler(typed | F.VOICE, description_typed)],
            WHERE: [CallbackQueryHandler(where_button,
                                         pattern=any_of(*callbacks.WHERE)),
                    MessageHandler(typed | F.LOCATION, where_typed)],
            CONFIRM: [CallbackQueryHandler(submit, pattern=callbacks.SUBMIT.matches),
                      CallbackQueryHandler(toggle_anonymous, pattern=callbacks.ANONYMOUS.matches)],
        },
    ))
    app.add_handler(flow(
        app, name="report_note", command="reports",
        doing=N_("writing a note on a report"),
        entry_points=[CallbackQueryHandler(handler_button, pattern=callbacks.HANDLE.matches)],
        states={HANDLER_NOTE: [MessageHandler((F.TEXT & ~F.COMMAND) | F.PHOTO,
                                              handler_note)]},
    ))
    app.add_handler(flow(
        app, name="report_feedback", command="reports",
        doing=N_("giving feedback on a report"),
        entry_points=[CallbackQueryHandler(fixed_answer, pattern=callbacks.FIXED.matches),
                      CallbackQueryHandler(rating, pattern=callbacks.RATING.matches),
                      CallbackQueryHandler(still_fixed_answer,
                                           pattern=callbacks.STILL_FIXED.matches)],
        states={COMMENT: [MessageHandler((F.TEXT & ~F.COMMAND) | F.PHOTO, comment_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(me_too, pattern=callbacks.ME_TOO.matches))
    app.add_handler(CallbackQueryHandler(reassign, pattern=callbacks.REASSIGN.matches))
    app.add_handler(CallbackQueryHandler(stale_report_button,
                                         pattern=any_of(*callbacks.FLOWS)))
    app.add_handler(CommandHandler("reports", my_reports, filters=private))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(Timer.ACK_LIMIT, acknowledge_limit)
    scheduler.on(Timer.RESOLVE_LIMIT, resolve_limit)
    scheduler.on(Timer.CONFIRM_WAIT, confirm_wait)
    scheduler.on(Timer.ACK_SOON, acknowledge_soon)
    scheduler.on(Timer.RESOLVE_SOON, resolve_soon)
    scheduler.on(GROUP_NOTICE, group_notice)
    scheduler.on(ROUTE, route_again)
    scheduler.on(Timer.STILL_FIXED, still_fixed)
    scheduler.on(Timer.OVERDUE, overdue_reminder)
    app.bot_data.services.outbox.on_sent(POSTED, posted)
