"""Neighbours helping neighbours (邻里互助) and the time bank (时间银行): /needhelp and
/offerhelp post a request or an offer (H-1, H-2 …); neighbours answer with a button, the
author chooses one; after the time the helper says how long it took and the person
helped confirms, which deposits the hours at the kind's rate and the neighbour-help
points. /timebank shows the balance, gives credits to one's household, and lets
moderators set rates and take back a piece of help with a reason.

Callback data: ``hc:*`` the asking flow, ``ha``/``hs``/``hx`` answering, choosing and
withdrawing, ``hh``/``hy`` how long it took and the confirmation, ``tg:*`` giving credits.
Every press is checked against the database."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp
from bot.i18n import N_
from handlers.flows import private_flow
from handlers.helping import ask, bank, callbacks, jobs, respond
from handlers.helping.lifecycle import ASK, POSTED, posted


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler(["needhelp", "offerhelp"], ask.in_group,
                                   filters=F.ChatType.GROUPS))
    states = {
        ask.CHOOSE: [CallbackQueryHandler(ask.community_chosen, pattern=callbacks.FOR.matches)],
        ask.KIND: [CallbackQueryHandler(ask.kind_chosen, pattern=callbacks.KIND.matches)],
        ask.TEXT: [MessageHandler(typed, ask.text_typed)],
        ask.WHEN: [MessageHandler(typed, ask.when_typed)],
        ask.LENGTH: [CallbackQueryHandler(ask.length_chosen, pattern=callbacks.LENGTH.matches)],
        ask.AUDIENCE: [CallbackQueryHandler(ask.audience_chosen,
                                            pattern=callbacks.AUDIENCE.matches)],
    }
    app.add_handler(private_flow(
        app, name="needhelp", command="needhelp", start=ask.command,
        doing=N_("asking for help"), from_link=ask.from_link, link="needhelp", states=states))
    app.add_handler(private_flow(
        app, name="offerhelp", command="offerhelp", start=ask.command,
        doing=N_("offering help"), from_link=ask.from_link, link="offerhelp", states=states))
    for kind, callback in ((callbacks.ANSWER, respond.answer_pressed),
                           (callbacks.CHOOSE, respond.choose_pressed),
                           (callbacks.WITHDRAW, respond.withdraw_pressed),
                           (callbacks.CLAIM, respond.claim_pressed),
                           (callbacks.CONFIRM, respond.confirm_pressed),
                           (callbacks.GIVE_TO, bank.give_to),
                           (callbacks.GIVE_AMOUNT, bank.give_amount),
                           (callbacks.GIVE_SURE, bank.give_sure),
                           (callbacks.ACCEPT, bank.accept)):
        app.add_handler(CallbackQueryHandler(callback, pattern=kind.matches))
    app.add_handler(CommandHandler("timebank", bank.timebank))
    app.bot_data.services.scheduler.on(ASK, jobs.ask_how_it_went)
    app.bot_data.services.outbox.on_sent(POSTED, posted)
