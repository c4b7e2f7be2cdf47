"""What handlers do with a report: acknowledge, start, resolve (with a note and an "after"
photo), reject (or mark a duplicate), pass it to someone else; neighbours' "Me too"."""

from __future__ import annotations

import html
import re

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.models import Community, Person, Role
from bot.domain.reports import (
    OPEN_STATUSES,
    Report,
    ReportStatus,
    can_move,
)
from bot.i18n import N_, translator
from bot.report_names import (
    STATUS_NAMES,
)
from handlers.common import (
    note_person,
    person_translator,
    record_audit,
    refuse,
)
from handlers.moderators import moderator_ids
from handlers.reports import callbacks
from handlers.reports.lifecycle import (
    _load,
    _may_handle,
    _refresh_copies,
    _send_card,
    change_status,
)
from handlers.reports.texts import HANDLER_ACTIONS
from storage import communities, memberships, people
from storage import reports as store

HANDLER_NOTE, COMMENT = 46, 47


DUPLICATE_OF = re.compile(r"\bR-?(\d{1,6})\b", re.IGNORECASE)


async def _ask_in_chat(update: Update, text: str) -> None:
    """A question whose answer the bot must receive: in a group (a handlers' chat) it asks
    for a reply, which reaches the bot even with privacy mode on."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if chat.type == ChatType.PRIVATE:
        await chat.send_message(text)
        return
    await chat.send_message(f"{user.mention_html()} {text}",
                            reply_markup=ForceReply(selective=True))


async def handler_button(update: Update, context: YishiContext) -> int:
    """Acknowledge / Start work at once; Resolved and Reject ask for a note first;
    Reassign offers the other handlers."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    action = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None \
            or (action not in HANDLER_ACTIONS and action != "pass"):
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if not await _may_handle(context, community, user.id, report.category):
        await refuse(update, context, N_("Sorry, only the building's handlers can do that. "
                                         "Nothing was changed."))
        return ConversationHandler.END
    _ = await person_translator(update, context)
    if action == "pass":
        await _offer_reassign(update, context, report, community)
        return ConversationHandler.END
    target = HANDLER_ACTIONS[action]
    if not can_move(report.status, target):
        await query.answer(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])), show_alert=True)
        return ConversationHandler.END
    if target in (ReportStatus.RESOLVED, ReportStatus.REJECTED):
        context.user_data["report_note"] = {"report": report.id, "status": target.value}
        await query.answer()
        await _ask_in_chat(update, _(
            "What was done? Reply with a short note for the reporter (you may attach an "
            "“after” photo with it). /cancel to stop.") if target is ReportStatus.RESOLVED
            else _("Why is it rejected? Not ours, a duplicate of R-…, or not a problem? "
                   "Reply with the reason. /cancel to stop."))
        return HANDLER_NOTE
    await query.answer(_("{ref} is now {status}.").format(ref=report.ref,
                                                         status=_(STATUS_NAMES[target])))
    await change_status(context.services, report, community, target, actor=user.id)
    return ConversationHandler.END


async def _reassign_candidates(context: YishiContext, community: Community,
                               report: Report) -> list[Person]:
    """The category's handlers, then the other handlers, then the moderators: those who
    have a private chat with the bot, other than whoever has it now."""
    async with context.services.db.transaction() as conn:
        ids = [*await memberships.handlers_of(conn, community.id, report.category),
               *await memberships.with_role(conn, community.id, Role.HANDLER)]
    ids += await moderator_ids(context.bot, context.services, community)
    ordered = list(dict.fromkeys(i for i in ids if i != report.assignee_id))
    async with context.services.db.transaction() as conn:
        known = await people.names(conn, ordered)
    return [known[i] for i in ordered if i in known and known[i].started][:12]


async def _offer_reassign(update: Update, context: YishiContext, report: Report,
                          community: Community) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    _ = await person_translator(update, context)
    if report.status not in OPEN_STATUSES:
        await query.answer(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])), show_alert=True)
        return
    candidates = await _reassign_candidates(context, community, report)
    if not candidates:
        await query.answer(_("There is nobody else I can pass {ref} to: others need to start "
                             "a private chat with me first.").format(ref=report.ref),
                           show_alert=True)
        return
    await query.answer()
    buttons = [InlineKeyboardButton(person.name[:32],
                                    callback_data=callbacks.REASSIGN.data(report.id,
                                                                          person.user_id))
               for person in candidates]
    await chat.send_message(_("Pass {ref} to whom?").format(ref=report.ref),
                            reply_markup=InlineKeyboardMarkup(
                                [buttons[i:i + 2] for i in range(0, len(buttons), 2)]))


async def reassign(update: Update, context: YishiContext) -> None:
    """ra:<report>:<person>: hand the report to that person, who gets its card."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    target = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None or not target.isdigit():
        await refuse(update, context, N_("This button is out of date."))
        return
    if not await _may_handle(context, community, user.id, report.category):
        await refuse(update, context, N_("Sorry, only the building's handlers can do that. "
                                         "Nothing was changed."))
        return
    chosen = {p.user_id: p for p in await _reassign_candidates(context, community, report)}
    if report.status not in OPEN_STATUSES or int(target) not in chosen:
        await refuse(update, context, N_("This button is out of date."))
        return
    assignee = chosen[int(target)]
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        await store.assign(conn, report.id, assignee_id=assignee.user_id, actor_id=user.id,
                           now=now)
        updated = await store.get(conn, report.id)
    assert updated is not None
    await record_audit(context, community, update, "report.reassign", report=report.id,
                       to=assignee.user_id)
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(_("{ref} is now with {name}.").format(
        ref=report.ref, name=html.escape(assignee.name)))
    await _refresh_copies(context, updated, community, group_post=False)
    theirs = translator(assignee.reads(context.services.default_language))
    copy = await _send_card(context.bot, context.services, assignee.user_id, updated, theirs,
                            heading=theirs(N_("{name} passed this report to you.")).format(
                                name=html.escape(user.full_name)) + "\n\n")
    if copy is not None:
        async with context.services.db.transaction() as conn:
            await store.set_notices(conn, report.id, [*updated.notices, copy])


async def handler_note(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    pending = context.user_data.pop("report_note", None)
    _ = await person_translator(update, context)
    if pending is None:
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        report = await store.get(conn, pending["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None \
            or not await _may_handle(context, community, user.id, report.category):
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    note = (message.text or message.caption or "").strip()[:500]
    target = ReportStatus(pending["status"])
    original = await _duplicate_named(context, report, note) \
        if target is ReportStatus.REJECTED else None
    if original is not None and can_move(report.status, ReportStatus.DUPLICATE):
        target = ReportStatus.DUPLICATE
    else:
        original = None
    if message.photo and target is ReportStatus.RESOLVED:
        async with context.services.db.transaction() as conn:
            await store.add_photo(conn, report.id, message.photo[-1].file_id, after=True)
    if not await change_status(context.services, report, community, target, actor=user.id,
                               note=note, original=original):
        await message.reply_text(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])))
        return ConversationHandler.END
    await message.reply_text(_("{ref} is now {status}.").format(ref=report.ref,
                                                               status=_(STATUS_NAMES[target])))
    return ConversationHandler.END


async def _duplicate_named(context: YishiContext, report: Report, note: str) -> Report | None:
    """"Duplicate of R-12" in a rejection: that other report of the same building."""
    found = DUPLICATE_OF.search(note)
    if found is None:
        return None
    async with context.services.db.transaction() as conn:
        original = await store.by_number(conn, report.community_id, int(found.group(1)))
    return original if original is not None and original.id != report.id else None


async def me_too(update: Update, context: YishiContext) -> None:
    """"Me too" under a report in the group: follow it and raise its priority."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    if report is None or community is None or query.message is None \
            or query.message.chat.id != community.chat_id:
        await refuse(update, context, N_("This button is out of date."))
        return
    _ = await person_translator(update, context)
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, now)
        added = await store.follow(conn, report.id, user.id, now)
    if not added:
        await query.answer(_("You already follow {ref}.").format(ref=report.ref))
        return
    await query.answer(_("Noted. I will tell you when {ref} changes (start a private chat "
                         "with me if you have not).").format(ref=report.ref))
    await _refresh_copies(context, report, community)
