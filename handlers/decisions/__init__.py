"""Decisions (闭环反馈): a passed poll or a moderator makes one with an owner and a due date;
the owner posts progress, the group follows it, the scheduler chases silence and
lateness, and a month after it is done the group rates the result.

Callback data: ``dn:*`` the creation flow, ``dp:*`` progress, ``df:<decision>``
following, ``dm:<decision>:<milestone>`` a milestone done, ``dr:<decision>:<stars>`` a
rating. Every one is checked against the database."""

from __future__ import annotations

import functools

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp
from bot.i18n import N_
from handlers.decisions import callbacks, objections
from handlers.decisions.create import (
    DUE,
    MILESTONES,
    OWNER,
    TITLE,
    due_chosen,
    group_button,
    milestones_chosen,
    new_command,
    new_from_link,
    owner_chosen,
    title_typed,
)
from handlers.decisions.jobs import (
    ask_rating,
    escalate_overdue,
    post_update,
    rating_posted,
    remind_due,
    remind_stale,
)
from handlers.decisions.lifecycle import (
    DUE_SOON,
    OVERDUE,
    RATING,
    RATING_POSTED,
    STALE,
    UPDATE_POST,
)
from handlers.decisions.manage import (
    decision_command,
    follow_button,
    list_decisions,
    milestone_done,
    rate_button,
    stale_button,
)
from handlers.decisions.progress import (
    CHANGED,
    NEXT_STEP,
    PERCENT,
    PICK,
    _progress_in_group,
    changed_typed,
    decision_picked,
    late_photo,
    next_step_typed,
    percent_chosen,
    progress_command,
    progress_from_link,
)
from handlers.decisions.setup import due_in, take_ownership
from handlers.flows import flow, private_flow


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("decisions", list_decisions, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="decision", command="decisions", start=new_command,
        doing=N_("recording a decision"),
        from_link=new_from_link, link="decision",
        states={
            TITLE: [CallbackQueryHandler(group_button, pattern=callbacks.CREATE_FOR.matches),
                    MessageHandler(typed, title_typed)],
            OWNER: [CallbackQueryHandler(owner_chosen, pattern=callbacks.OWNER.matches),
                    CallbackQueryHandler(owner_chosen, pattern=callbacks.OWNER_PERSON.matches),
                    MessageHandler(typed, owner_chosen)],
            DUE: [CallbackQueryHandler(due_chosen, pattern=callbacks.NO_DUE_DATE.matches),
                  MessageHandler(typed, due_chosen)],
            MILESTONES: [CallbackQueryHandler(milestones_chosen,
                                              pattern=callbacks.NO_MILESTONES.matches),
                         MessageHandler(typed, milestones_chosen)],
        },
    ))
    app.add_handler(CommandHandler("progress", _progress_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="progress", command="progress", start=progress_command,
        doing=N_("updating a decision's progress"),
        from_link=progress_from_link, link="progress",
        states={
            PICK: [CallbackQueryHandler(decision_picked, pattern=callbacks.PICK.matches)],
            PERCENT: [CallbackQueryHandler(percent_chosen, pattern=callbacks.PERCENT.matches),
                      MessageHandler(typed, percent_chosen)],
            CHANGED: [MessageHandler(typed | F.PHOTO, changed_typed)],
            NEXT_STEP: [CallbackQueryHandler(next_step_typed,
                                             pattern=callbacks.NO_NEXT_STEP.matches),
                        MessageHandler(typed, next_step_typed),
                        MessageHandler(F.PHOTO, late_photo)],
        },
    ))
    app.add_handler(private_flow(
        app, name="object", command="object", start=objections.object_command,
        doing=N_("objecting to a decision"), from_link=objections.object_from_link,
        link=objections.LINK,
        states={objections.REASON: [MessageHandler(typed, objections.reason_typed)]},
    ))
    app.add_handler(flow(
        app, name="decision_outcome", command="decision",
        doing=N_("settling a decision's objection period"),
        entry_points=[CallbackQueryHandler(objections.outcome_pressed,
                                           pattern=objections.OUTCOME.matches)],
        states={objections.WORDING: [MessageHandler(typed, objections.wording_typed)]},
    ))
    app.bot_data.services.scheduler.on(objections.END, objections.period_ended)
    app.bot_data.services.outbox.on_sent(
        objections.POSTED, functools.partial(objections.posted, app.bot_data.services))
    app.add_handler(CommandHandler("decision", decision_command))
    app.add_handler(CallbackQueryHandler(follow_button, pattern=callbacks.FOLLOW.matches))
    app.add_handler(CallbackQueryHandler(rate_button, pattern=callbacks.RATE.matches))
    app.add_handler(CallbackQueryHandler(milestone_done, pattern=callbacks.MILESTONE.matches))
    app.add_handler(CallbackQueryHandler(take_ownership, pattern=callbacks.TAKE.matches))
    app.add_handler(CallbackQueryHandler(due_in, pattern=callbacks.DUE_IN.matches))
    app.add_handler(CallbackQueryHandler(stale_button, pattern=any_of(*callbacks.ALL)))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(STALE, remind_stale)
    scheduler.on(DUE_SOON, remind_due)
    scheduler.on(OVERDUE, escalate_overdue)
    scheduler.on(RATING, ask_rating)
    app.bot_data.services.outbox.on_sent(RATING_POSTED, rating_posted)
    scheduler.on(UPDATE_POST, post_update)
