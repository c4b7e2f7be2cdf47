"""Announcements (/announce, moderators): sent now, once at a local time, or every day,
week or month; pinned if asked; listed, paused and deleted with /announcements.

A moderator's "send now" ignores quiet hours (it is sent by hand); scheduled ones wait
for them to end unless the moderator said otherwise. A run missed while the bot was down
is sent on return if it is at most ``[announcements] grace_minutes`` late, else skipped.

Callback data: ``ac:*`` the creation flow, ``an:<id>:pause|resume|delete`` the list."""

from __future__ import annotations

import functools

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp
from bot.i18n import N_
from handlers.announcements import callbacks
from handlers.announcements.create import (
    CHOOSE,
    CONFIRM,
    DETAIL,
    TEXT,
    WHEN,
    announce_command,
    announce_from_link,
    announce_in_group,
    detail_typed,
    group_chosen,
    option_toggled,
    publish,
    text_sent,
    when_chosen,
)
from handlers.announcements.jobs import run
from handlers.announcements.lifecycle import PINNED, POSTED, RUN, not_pinned, posted, replan
from handlers.announcements.manage import list_command, manage_button
from handlers.common import (
    refuse,
)
from handlers.flows import private_flow


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("announce", announce_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="announce", command="announce", start=announce_command,
        doing=N_("writing an announcement"),
        from_link=announce_from_link, link="announce",
        states={
            CHOOSE: [CallbackQueryHandler(group_chosen, pattern=callbacks.CREATE_FOR.matches)],
            TEXT: [MessageHandler(typed | F.PHOTO, text_sent)],
            WHEN: [CallbackQueryHandler(when_chosen, pattern=callbacks.WHEN.matches)],
            DETAIL: [MessageHandler(typed, detail_typed)],
            CONFIRM: [CallbackQueryHandler(option_toggled, pattern=callbacks.OPTION.matches),
                      CallbackQueryHandler(publish, pattern=callbacks.PUBLISH.matches)],
        },
    ))
    app.add_handler(CommandHandler("announcements", list_command))
    app.add_handler(CallbackQueryHandler(manage_button, pattern=callbacks.MANAGE.matches))
    app.add_handler(CallbackQueryHandler(
        lambda u, c: refuse(u, c, N_("This button is out of date.")),
        pattern=any_of(*callbacks.ALL)))
    services = app.bot_data.services
    services.scheduler.on(RUN, run)
    services.outbox.on_sent(POSTED, posted)
    services.outbox.on_refused(PINNED, functools.partial(not_pinned, services))
    app.bot_data.services.zone_changed.append(replan)
