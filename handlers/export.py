"""/export (moderators, in the group): the minutes of a poll (``/export P-3``) or of a
round-table meeting (``/export M-1``), a satisfaction survey round's results and comments
(``/export S-2``), or the building's issue reports (``/export reports [period]``), sent in
private as CSV and XLSX.

One command over several features, so it lives beside them rather than inside any.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from handlers.common import chat_translator, ensure_community, moderator_only
from handlers.meetings.minutes import export_meeting
from handlers.polls.records import export_poll
from handlers.reports.records import export_reports
from handlers.surveys.manage import export_round


@moderator_only
async def export(update: Update, context: YishiContext) -> None:
    ref = (context.args or [""])[0].upper()
    if ref.startswith(("M-", "S-")):
        assert update.effective_chat is not None
        community = await ensure_community(context, update.effective_chat)
        await (export_meeting if ref.startswith("M-") else export_round)(update, context,
                                                                         community)
        return
    if (context.args or [""])[0].lower() != "reports":
        await export_poll(update, context)
        return
    assert update.effective_chat is not None and update.effective_message is not None
    if update.effective_user is None or update.effective_message.sender_chat is not None:
        _ = await chat_translator(update, context)
        await update.effective_message.reply_text(_("Send /export as yourself: the minutes go "
                                                    "to you in private."))
        return
    await export_reports(update, context, await ensure_community(context, update.effective_chat),
                         period=(context.args or [])[1:2])


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("export", export, filters=F.ChatType.GROUPS))
