"""The one error handler: log with context (never the token), apologise, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.context import YishiApp, YishiContext
from handlers.common import chat_translator

log = logging.getLogger("yishi.errors")


async def on_error(update: object, context: YishiContext) -> None:
    error = context.error
    where: dict[str, object] = {}
    if isinstance(update, Update):
        where = {
            "update_id": update.update_id,
            "chat_id": update.effective_chat.id if update.effective_chat else None,
            "user_id": update.effective_user.id if update.effective_user else None,
        }
    if isinstance(error, NetworkError | TimedOut | RetryAfter):
        # Telegram or the network hiccuped; polling retries by itself.
        log.warning("telegram unreachable: %s", type(error).__name__, extra=where)
        return
    if isinstance(error, Forbidden):
        log.info("blocked or removed: %s", error, extra=where)
        return
    log.error("handler failed", exc_info=error, extra=where)
    if not isinstance(update, Update):
        return
    try:
        _ = await chat_translator(update, context)
        text = _("Sorry, something went wrong on my side and nothing was changed. "
                 "Please try again in a minute.")
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except Exception:  # the apology itself must never take the bot down
        log.warning("could not apologise for an error", extra=where)


def register(app: YishiApp) -> None:
    app.add_error_handler(on_error)
