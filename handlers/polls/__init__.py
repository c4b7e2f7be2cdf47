"""Polls (共识投票): moderators create them in private; residents vote with buttons in the
group; the scheduler reminds, closes at the deadline and posts the verdict.

Callback data: ``pc:*`` the creation flow, ``v:<poll>:<option>`` a vote, ``pm:<poll>:*``
a moderator's management buttons, ``pp:*`` a proxy ballot. Every one is checked against
the database."""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
)
from telegram.ext import filters as F

from bot.context import YishiApp
from handlers import VOTES
from handlers.flows import flow, private_flow
from handlers.polls.ballots import VoteDesk
from handlers.polls.create import (
    DEADLINE,
    OPTIONS,
    PREVIEW,
    QUESTION,
    SCOPE,
    cancel_draft,
    deadline_button,
    deadline_typed,
    edit_question,
    group_button,
    options_preset,
    options_typed,
    poll_command,
    poll_from_link,
    poll_in_group,
    publish,
    question_typed,
    scope_typed,
    setting_button,
)
from handlers.polls.jobs import announce_result, close_due, remind
from handlers.polls.lifecycle import CLOSE, POSTED, REMIND, RESULT, _posted
from handlers.polls.manage import (
    CANCEL_REASON,
    PROXY_OPTION,
    PROXY_UNIT,
    ask_cancel_reason,
    ask_proxy_unit,
    cancel_reason_typed,
    close_now,
    extend,
    proxy_option,
    proxy_unit_typed,
    stale_poll_button,
)
from handlers.polls.records import audit_poll, list_polls
from handlers.polls.votes import vote_first


def register(app: YishiApp) -> None:
    app.bot_data.services.votes = VoteDesk(app.bot_data.services)
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("poll", poll_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="poll", command="poll", start=poll_command,
        from_link=poll_from_link, link="poll",
        states={
            QUESTION: [CallbackQueryHandler(group_button, pattern=r"^pc:g:"),
                       MessageHandler(typed, question_typed)],
            OPTIONS: [CallbackQueryHandler(options_preset, pattern=r"^pc:o:yna$"),
                      MessageHandler(typed, options_typed)],
            DEADLINE: [CallbackQueryHandler(deadline_button, pattern=r"^pc:d:"),
                       MessageHandler(typed, deadline_typed)],
            PREVIEW: [CallbackQueryHandler(setting_button, pattern=r"^pc:s:"),
                      CallbackQueryHandler(publish, pattern=r"^pc:go$"),
                      CallbackQueryHandler(edit_question, pattern=r"^pc:e$"),
                      CallbackQueryHandler(cancel_draft, pattern=r"^pc:x$")],
            SCOPE: [MessageHandler(typed, scope_typed)],
        },
    ))
    app.add_handler(flow(
        app, name="poll_proxy", command="polls",
        entry_points=[CallbackQueryHandler(ask_proxy_unit, pattern=r"^pm:\d+:proxy$")],
        states={PROXY_UNIT: [MessageHandler(typed, proxy_unit_typed)],
                PROXY_OPTION: [CallbackQueryHandler(proxy_option, pattern=r"^pp:")]},
    ))
    app.add_handler(flow(
        app, name="poll_cancel", command="polls",
        entry_points=[CallbackQueryHandler(ask_cancel_reason, pattern=r"^pm:\d+:cancel$")],
        states={CANCEL_REASON: [MessageHandler(typed, cancel_reason_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(vote_first, pattern=r"^v:"), group=VOTES)
    app.add_handler(CallbackQueryHandler(close_now, pattern=r"^pm:\d+:close$"))
    app.add_handler(CallbackQueryHandler(extend, pattern=r"^pm:\d+:extend$"))
    app.add_handler(CallbackQueryHandler(stale_poll_button, pattern=r"^(pc|pm|pp):"))
    app.add_handler(CommandHandler("polls", list_polls, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("audit", audit_poll, filters=F.ChatType.GROUPS))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(CLOSE, close_due)
    scheduler.on(RESULT, announce_result)
    scheduler.on(REMIND, remind)
    app.bot_data.services.outbox.on_sent(POSTED, _posted)
