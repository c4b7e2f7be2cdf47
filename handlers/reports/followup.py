"""The reporter's follow-up: is it really fixed (no reopens it), how was it handled (a
rating), a comment for the handlers, and weeks later whether it stayed fixed."""

from __future__ import annotations

import html

from telegram import (
    CallbackQuery,
    Update,
)
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.points import Action
from bot.domain.reports import (
    Note,
    NoteKind,
    Report,
    ReportStatus,
)
from bot.i18n import N_
from bot.points import award
from bot.report_names import (
    STATUS_NAMES,
)
from handlers.common import (
    person_translator,
    refuse,
)
from handlers.reports.handle import COMMENT
from handlers.reports.lifecycle import _load, _tell_handlers, change_status
from handlers.reports.texts import _fixed_buttons
from storage import communities
from storage import reports as store

COMMENT_KEY = "report_comment"


def _buttons_left(query: CallbackQuery) -> tuple[bool, bool]:
    """Which rows of the follow-up are still there: (yes/no answered, rated)."""
    markup = query.message.reply_markup if query.message is not None else None
    data = [b.callback_data for row in (markup.inline_keyboard if markup else ())
            for b in row]
    return (not any(str(d).startswith("rf:") for d in data),
            not any(str(d).startswith("rr:") for d in data))


async def fixed_answer(update: Update, context: YishiContext) -> int:
    """The reporter's answer: yes closes the report, no reopens it, tells the handlers and
    asks what is still wrong."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    answer = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None or report.reporter_id != user.id \
            or answer not in ("yes", "no"):
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    _ = await person_translator(update, context)
    if report.status is not ReportStatus.RESOLVED:
        await query.answer(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])), show_alert=True)
        return ConversationHandler.END
    _answered, rated = _buttons_left(query)
    await query.edit_message_reply_markup(_fixed_buttons(report, _, answered=True,
                                                         rated=rated))
    if answer == "yes":
        await change_status(context.services, report, community, ReportStatus.CLOSED, actor=user.id,
                            note=N_("Confirmed fixed by the reporter."))
        async with context.services.db.transaction() as conn:
            await award(conn, context.services.settings.points, community, user_id=user.id,
                        action=Action.REPORT_CONFIRMED_FIXED, ref=f"report:{report.id}",
                        now=context.services.clock.now())
        await query.answer(_("Thank you! {ref} is closed.").format(ref=report.ref))
        return ConversationHandler.END
    await change_status(context.services, report, community, ReportStatus.REOPENED, actor=user.id,
                        note=N_("The reporter says it is not fixed."))
    await query.answer(_("{ref} is reopened; the handlers are told.").format(ref=report.ref))
    await _tell_handlers(context.bot, context.services, community, report, N_(
        "{ref} was reopened: the reporter says it is not fixed."), about="reopened")
    return await _ask_comment(update, context, report, "not_fixed")


async def rating(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    stars = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None or report.reporter_id != user.id \
            or stars not in {"1", "2", "3", "4", "5"}:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        events = await store.timeline(conn, report.id)
        if any(e.noted is not None and e.noted.kind is NoteKind.RATING for e in events):
            rated = True
        else:
            rated = False
            await store.record_note(conn, report.id, actor_id=user.id,
                                    note=Note.rating(int(stars)).stored(),
                                    now=context.services.clock.now())
    _ = await person_translator(update, context)
    answered, _rated = _buttons_left(query)
    await query.edit_message_reply_markup(_fixed_buttons(
        report, _, answered=answered or report.status is not ReportStatus.RESOLVED, rated=True))
    if rated:
        await query.answer(_("You have already rated {ref}.").format(ref=report.ref))
        return ConversationHandler.END
    await query.answer(_("Thank you for rating it {stars} of 5.").format(stars=stars))
    return await _ask_comment(update, context, report, "rating")


async def _ask_comment(update: Update, context: YishiContext, report: Report,
                       kind: str) -> int:
    """A few words to go with the answer: what is still wrong, or a comment on the rating."""
    _ = await person_translator(update, context)
    context.user_data[COMMENT_KEY] = {"report": report.id, "kind": kind}
    assert update.effective_chat is not None
    await update.effective_chat.send_message(
        _("What is still wrong? Reply with a few words (or a photo) for the handlers, or "
          "/cancel.") if kind in ("not_fixed", "not_fixed_later") else
        _("Anything to add? Reply with a comment for the handlers, or /cancel."))
    return COMMENT


async def comment_typed(update: Update, context: YishiContext) -> int:
    """The comment goes on the report's timeline; a "not fixed" one also to the handlers."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    pending = context.user_data.pop(COMMENT_KEY, None)
    _ = await person_translator(update, context)
    text = (message.text or message.caption or "").strip()[:500]
    if pending is None or not text and not message.photo:
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        report = await store.get(conn, pending["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        await store.record_note(conn, report.id, actor_id=user.id, note=Note.comment(text).stored(),
                                now=context.services.clock.now())
        if message.photo:
            await store.add_photo(conn, report.id, message.photo[-1].file_id, after=False)
    if pending["kind"] in ("not_fixed", "not_fixed_later"):
        await _tell_handlers(context.bot, context.services, community, report, N_(
            "About {ref}, the reporter adds: {comment}") if pending["kind"] == "not_fixed"
            else N_("About {ref}, a neighbour adds: {comment}"), comment=html.escape(text),
            photo=message.photo[-1].file_id if message.photo else None, about="comment")
    await message.reply_text(_("Thank you, I added it to {ref}.").format(ref=report.ref))
    return ConversationHandler.END


async def still_fixed_answer(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    answer = (query.data or "").rsplit(":", 1)[-1]
    if report is not None:
        async with context.services.db.transaction() as conn:
            asked = {report.reporter_id, *await store.followers(conn, report.id)}
    if report is None or community is None or answer not in ("yes", "no") \
            or user.id not in asked:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    _ = await person_translator(update, context)
    await query.edit_message_reply_markup(None)
    if answer == "yes":
        async with context.services.db.transaction() as conn:
            await store.record_note(conn, report.id, actor_id=user.id,
                                    note=N_("Still fixed weeks later, says a neighbour."),
                                    now=context.services.clock.now())
        await query.answer(_("Good to hear. Thank you!"))
        return ConversationHandler.END
    if report.status is ReportStatus.CLOSED:
        await change_status(context.services, report, community, ReportStatus.REOPENED,
                            actor=user.id, note=N_("Broken again weeks later, says a neighbour."))
        await _tell_handlers(context.bot, context.services, community, report, N_(
            "{ref} was reopened: a neighbour says it is broken again."), about="reopened")
    await query.answer(_("{ref} is reopened; the handlers are told.").format(ref=report.ref))
    return await _ask_comment(update, context, report,
                              "not_fixed" if user.id == report.reporter_id
                              else "not_fixed_later")
