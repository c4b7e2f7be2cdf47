"""Polls (共识投票): moderators create them in private; residents vote with buttons in the
group; the scheduler reminds, closes at the deadline and posts the verdict.

Callback data: ``pc:*`` the creation flow, ``v:<poll>:<option>`` a vote, ``pm:<poll>:*``
a moderator's management buttons, ``pp:*`` a proxy ballot. Every one is checked against
the database."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
)
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp, YishiContext
from bot.deeplinks import payload_pattern
from bot.i18n import N_
from bot.inbox import InboxBot
from handlers import VOTES
from handlers.common import moderator_only
from handlers.flows import flow, private_flow
from handlers.polls import callbacks, private
from handlers.polls.amend import amend_pressed
from handlers.polls.ballots import VoteDesk
from handlers.polls.create import (
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
)
from handlers.polls.draft import DEADLINE, MATERIAL, OPTIONS, PREVIEW, QUESTION, SCOPE
from handlers.polls.jobs import announce_result, close_due, notice_remind, open_due, remind
from handlers.polls.lane import VoteLane
from handlers.polls.lifecycle import (
    CLOSE,
    HEAD_POSTED,
    NOTICE_POSTED,
    NOTICE_REMIND,
    OPEN,
    POSTED,
    REMIND,
    RESULT,
    _head_posted,
    _notice_posted,
    _posted,
)
from handlers.polls.manage import (
    CANCEL_REASON,
    PROXY_OPTION,
    PROXY_SIGNER,
    PROXY_UNIT,
    ask_cancel_reason,
    ask_proxy_unit,
    cancel_reason_typed,
    close_now,
    extend,
    proxy_option,
    proxy_signer_typed,
    proxy_unit_typed,
    stale_poll_button,
    void_ballot,
)
from handlers.polls.preview import (
    choice_button,
    material_sent,
    material_unexpected,
    scope_typed,
    setting_button,
)
from handlers.polls.records import audit_poll, list_polls, not_voted
from handlers.polls.votes import vote_first


def register(app: YishiApp) -> None:
    # Where vote presses are recorded, in batches.
    desk = VoteDesk(app.bot_data.services)
    if isinstance(app.bot, InboxBot):
        # Presses in a burst are recorded as they are fetched (bot/inbox.py).
        app.bot.add_lane(VoteLane(app, desk))
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("poll", poll_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="poll", command="poll", start=poll_command,
        doing=N_("setting up a poll"),
        from_link=poll_from_link, link="poll",
        also=[CallbackQueryHandler(amend_pressed, pattern=callbacks.AMEND.matches)],
        states={
            QUESTION: [CallbackQueryHandler(group_button, pattern=callbacks.CREATE_FOR.matches),
                       MessageHandler(typed, question_typed)],
            OPTIONS: [CallbackQueryHandler(options_preset,
                                           pattern=callbacks.YES_NO_ABSTAIN.matches),
                      MessageHandler(typed, options_typed)],
            DEADLINE: [CallbackQueryHandler(deadline_button, pattern=callbacks.DEADLINE.matches),
                       MessageHandler(typed, deadline_typed)],
            PREVIEW: [CallbackQueryHandler(setting_button, pattern=callbacks.SETTING.matches),
                      CallbackQueryHandler(choice_button, pattern=callbacks.CHOOSE.matches),
                      CallbackQueryHandler(publish, pattern=callbacks.PUBLISH.matches),
                      CallbackQueryHandler(edit_question, pattern=callbacks.EDIT.matches),
                      CallbackQueryHandler(cancel_draft, pattern=callbacks.DISCARD.matches)],
            SCOPE: [MessageHandler(typed, scope_typed)],
            MATERIAL: [MessageHandler((F.TEXT & ~F.COMMAND) | F.PHOTO | F.Document.ALL
                                      | F.Regex(r"^/skip\b"), material_sent),
                       MessageHandler(~F.COMMAND, material_unexpected)],
        },
    ))
    app.add_handler(flow(
        app, name="poll_proxy", command="polls",
        doing=N_("entering a paper ballot"),
        entry_points=[CallbackQueryHandler(ask_proxy_unit,
                                           pattern=callbacks.MANAGE.matching(None, "proxy"))],
        states={PROXY_UNIT: [MessageHandler(typed, proxy_unit_typed)],
                PROXY_SIGNER: [MessageHandler(typed, proxy_signer_typed)],
                PROXY_OPTION: [CallbackQueryHandler(proxy_option,
                                                    pattern=any_of(*callbacks.PROXY))]},
    ))
    app.add_handler(flow(
        app, name="poll_cancel", command="polls",
        doing=N_("cancelling a poll"),
        entry_points=[CallbackQueryHandler(ask_cancel_reason,
                                           pattern=callbacks.MANAGE.matching(None, "cancel"))],
        states={CANCEL_REASON: [MessageHandler(typed, cancel_reason_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(vote_first(desk), pattern=callbacks.VOTE.matches),
                    group=VOTES)
    # A ballot filled in privately (ranked, score, approval, dots, time, consent).
    app.add_handler(CallbackQueryHandler(private.vote_pressed,
                                         pattern=callbacks.VOTE_PRIVATELY.matches))
    app.add_handler(CommandHandler("start", private.from_link, filters=F.ChatType.PRIVATE
                                   & F.Regex(payload_pattern(private.LINK))))
    app.add_handler(CallbackQueryHandler(private.form_pressed, pattern=callbacks.FORM.matches))

    async def cast(update: Update, context: YishiContext) -> None:
        await private.cast_pressed(update, context, desk)
    app.add_handler(CallbackQueryHandler(cast, pattern=any_of(callbacks.CAST,
                                                              callbacks.WITHDRAW)))
    app.add_handler(flow(
        app, name="objection", command="polls", doing=N_("objecting to a proposal"),
        entry_points=[CallbackQueryHandler(private.object_pressed,
                                           pattern=callbacks.OBJECT.matches)],
        states={private.REASON: [MessageHandler(typed & F.ChatType.PRIVATE,
                                                private.reason_typed(desk))]},
    ))
    app.add_handler(CallbackQueryHandler(close_now,
                                         pattern=callbacks.MANAGE.matching(None, "close")))
    app.add_handler(CallbackQueryHandler(extend,
                                         pattern=callbacks.MANAGE.matching(None, "extend")))
    app.add_handler(CallbackQueryHandler(stale_poll_button,
                                         pattern=any_of(*callbacks.MODERATORS)))
    app.add_handler(CommandHandler("polls", list_polls, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("audit", audit_poll, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("notvoted", not_voted, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("void", moderator_only(void_ballot),
                                   filters=F.ChatType.GROUPS))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(CLOSE, close_due)
    scheduler.on(RESULT, announce_result)
    scheduler.on(REMIND, remind)
    scheduler.on(OPEN, open_due)
    scheduler.on(NOTICE_REMIND, notice_remind)
    app.bot_data.services.outbox.on_sent(POSTED, _posted)
    app.bot_data.services.outbox.on_sent(HEAD_POSTED, _head_posted)
    app.bot_data.services.outbox.on_sent(NOTICE_POSTED, _notice_posted)
