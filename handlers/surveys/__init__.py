"""Residents rate those who serve them (共评): survey rounds on the owners' committee, the
property management and each report category's handlers, every few months (quarterly by
default) or when a moderator opens one; one answer per household, anonymous by default;
the results posted with the trend against the round before and the handlers' record.

Callback data: ``sv:<round>:<subject>:<stars>`` a rating (0: skip), ``sx:<round>:<subject>``
no comment, on to the next subject."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp
from bot.i18n import N_
from handlers.flows import private_flow
from handlers.surveys import lifecycle, manage, rate
from handlers.surveys.callbacks import NEXT, RATE


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("survey", manage.survey_in_group, filters=F.ChatType.GROUPS))
    stars = CallbackQueryHandler(rate.stars_pressed, pattern=RATE.matches)
    app.add_handler(private_flow(
        app, name="survey", command="survey", start=rate.survey_command,
        doing=N_("rating in a satisfaction survey"), from_link=rate.from_link,
        link=lifecycle.LINK,
        # A star pressed after a restart, or on an older question, still counts.
        also=[stars],
        states={
            rate.RATING: [stars],
            rate.COMMENT: [MessageHandler(typed, rate.comment_typed), stars,
                           CallbackQueryHandler(rate.next_pressed, pattern=NEXT.matches)],
        }))
    services = app.bot_data.services
    services.scheduler.on(lifecycle.CLOSE, manage.close_due)
    services.scheduler.on(manage.ROUND_DUE, manage.round_due, concurrent=True)
    services.outbox.on_sent(lifecycle.POSTED, lifecycle.posted)
    services.startup.append(manage.arm_all)
