"""Issue reports (随手拍): file in a few taps, route to the handlers, follow every change,
escalate past the time limits, and ask the reporter whether it is really fixed.

Callback data: ``rp:*`` the filing flow, ``rh:<report>:<action>`` a handler's buttons,
``rm:<report>`` "me too" in the group, ``ra:<report>:<person>`` reassign,
``rf:<report>:yes|no``, ``rr:<report>:<1-5>`` and ``rk:<report>:yes|no`` (still fixed?)
the reporter's answer. All checked against the database.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.config import Settings
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Community, DueWork, Outgoing, Person, Role
from bot.domain.points import Action
from bot.domain.reports import (
    OPEN_STATUSES,
    Limits,
    Report,
    ReportStatus,
    can_move,
    overdue,
)
from bot.i18n import N_, Translator, translator
from bot.points import award
from bot.scheduler import Defer, Done, Outcome
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    communities_of,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_translator,
    private_link,
    record_audit,
    refuse,
    user_role,
)
from handlers.exports import csv_bytes, xlsx_bytes
from handlers.flows import flow, private_flow
from handlers.moderators import moderator_ids
from handlers.report_names import (
    AREA_NAMES,
    CATEGORY_NAMES,
    STATUS_NAMES,
    category_key,
    display_name,
)
from storage import communities, due_work, memberships, outbox, people, residents
from storage import reports as store
from storage.residents import Status

log = logging.getLogger(__name__)

CATEGORY, PHOTOS, DESCRIPTION, WHERE, CONFIRM = range(40, 45)
HANDLER_NOTE, COMMENT = 46, 47
COMMENT_KEY = "report_comment"
DRAFT = "report"
PREFILL = "report_prefill"
ACK_LIMIT, RESOLVE_LIMIT, CONFIRM_WAIT = "report_ack", "report_resolve", "report_confirm"
ACK_SOON, RESOLVE_SOON = "report_ack_soon", "report_resolve_soon"
GROUP_NOTICE, STILL_FIXED = "report_group", "report_still_fixed"
OVERDUE_REMINDER = "report_overdue"
# Timeline notes that are not a handler's words: a rating, a comment, a hand-over.
MARKED_NOTES = ("rating:", "comment:", "assign:")
DUPLICATE_OF = re.compile(r"\bR-?(\d{1,6})\b", re.IGNORECASE)

HANDLER_ACTIONS = {
    "ack": ReportStatus.ACKNOWLEDGED, "start": ReportStatus.IN_PROGRESS,
    "resolve": ReportStatus.RESOLVED, "reject": ReportStatus.REJECTED,
}


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def limits_for(settings: Settings, category: str) -> Limits:
    """A category's time limits: its own from config, else the defaults."""
    reports = settings.reports
    hours = reports.limits.get(category, [reports.acknowledge_hours, reports.resolve_hours])
    return Limits(acknowledge=timedelta(hours=hours[0]), resolve=timedelta(hours=hours[1]))


# --- filing --------------------------------------------------------------------------------------


async def report_in_group(update: Update, context: YishiContext) -> None:
    """/report in the group (or in reply to a photo there): filing continues in private."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    replied = message.reply_to_message
    if user is not None and replied is not None and replied.photo:
        context.application.user_data[user.id][PREFILL] = {
            "community": community.id, "photos": [replied.photo[-1].file_id],
            "description": replied.caption or ""}
    await message.reply_text(
        _("Reports are filed in a private chat with me. Press the button to continue."),
        reply_markup=private_link(context, "report", community, _("Report a problem")))


async def report_command(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await communities_of(context, user.id)
    if not mine:
        await flow_reply(update, _("I do not know your building's group yet. Send /report in "
                                   "the group to start from there."))
        return ConversationHandler.END
    return await _begin(update, context, mine[0])


async def report_from_link(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, link.community_id) if link else None
    if community is None or not community.active:
        _ = await person_translator(update, context)
        await flow_reply(update, _("That link is not valid any more, so I started from the "
                                   "beginning."))
        return ConversationHandler.END
    return await _begin(update, context, community)


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can report problems there.")
                         .format(group=html.escape(community.title)))
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, context.services.clock.now())
    draft = {"community": community.id, "photos": [], "albums": [], "description": ""}
    prefill = context.user_data.pop(PREFILL, None)
    if prefill and prefill.get("community") == community.id:
        draft["photos"] = prefill["photos"]
        draft["description"] = prefill["description"]
    context.user_data[DRAFT] = draft
    categories = context.services.settings.reports.categories
    buttons = [InlineKeyboardButton(display_name(CATEGORY_NAMES, c, _), callback_data=f"rp:c:{c}")
               for c in categories]
    await flow_reply(update, _("What kind of problem is it?"), InlineKeyboardMarkup(
        [buttons[i:i + 4] for i in range(0, len(buttons), 4)]))
    return CATEGORY


async def category_button(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    category = (query.data or "").rsplit(":", 1)[-1]
    if category not in context.services.settings.reports.categories or DRAFT not in \
            context.user_data:
        await refuse(update, context, N_("This button is out of date."))
        return CATEGORY
    draft = _draft(context)
    draft["category"] = category
    _ = await person_translator(update, context)
    if draft["photos"]:
        return await _ask_where(update, context) if draft["description"] \
            else await _ask_description(update, context)
    await flow_reply(update, _("Send one or more photos of it (an album is fine), then press "
                               "Done."), InlineKeyboardMarkup([[
                                   InlineKeyboardButton(_("Done"), callback_data="rp:p:done"),
                                   InlineKeyboardButton(_("No photo"),
                                                        callback_data="rp:p:done")]]))
    return PHOTOS


async def photo_sent(update: Update, context: YishiContext) -> int:
    """Photos, one by one or as an album: an album gets one answer, not one per photo."""
    message = update.effective_message
    assert message is not None and message.photo
    draft = _draft(context)
    file_id = message.photo[-1].file_id
    if len(draft["photos"]) >= 10 or file_id in draft["photos"]:
        return PHOTOS  # full, or the same photo again (Telegram redelivers after a crash)
    draft["photos"].append(file_id)
    if message.caption and not draft["description"]:
        draft["description"] = message.caption.strip()[:1000]
    album = message.media_group_id
    if album is not None and album in draft["albums"]:
        return PHOTOS
    if album is not None:
        draft["albums"].append(album)
    _ = await person_translator(update, context)
    await message.reply_text(_("Got it. More photos, or press Done."),
                             reply_markup=InlineKeyboardMarkup([[
                                 InlineKeyboardButton(_("Done"), callback_data="rp:p:done")]]))
    return PHOTOS


async def photos_done(update: Update, context: YishiContext) -> int:
    if _draft(context).get("description"):
        return await _ask_where(update, context)
    return await _ask_description(update, context)


async def _ask_description(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("What is wrong? A sentence or two, or a voice message."))
    return DESCRIPTION


async def description_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = _draft(context)
    if message.voice is not None:
        draft["voice"] = message.voice.file_id
        draft["description"] = draft.get("description") or "🎤"
    else:
        text = (message.text or "").strip()
        if not text:
            return DESCRIPTION
        draft["description"] = text[:1000]
    return await _ask_where(update, context)


async def _ask_where(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    draft = _draft(context)
    async with context.services.db.transaction() as conn:
        ties = await residents.of_person(conn, user.id, draft["community"])
    rows = [[InlineKeyboardButton(_("My unit {unit}").format(unit=address.code),
                                  callback_data=f"rp:w:u:{tie.unit_id}")]
            for tie, address in ties if tie.status is Status.VERIFIED]
    areas = [InlineKeyboardButton(display_name(AREA_NAMES, a, _), callback_data=f"rp:w:a:{i}")
             for i, a in enumerate(context.services.settings.reports.common_areas)]
    rows += [areas[i:i + 4] for i in range(0, len(areas), 4)]
    await flow_reply(update, _("Where is it? Press a place, send a location pin, or type it."),
                     InlineKeyboardMarkup(rows))
    return WHERE


async def where_button(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    draft = _draft(context)
    _ = await person_translator(update, context)
    areas = context.services.settings.reports.common_areas
    if len(parts) == 4 and parts[2] == "u" and parts[3].isdigit():
        async with context.services.db.transaction() as conn:
            ties = await residents.of_person(conn, user.id, draft.get("community"))
        found = [(tie, address) for tie, address in ties
                 if tie.unit_id == int(parts[3]) and tie.status is Status.VERIFIED]
        if not found:
            await refuse(update, context, N_("This button is out of date."))
            return WHERE
        draft.update(where=found[0][1].code, unit=found[0][0].unit_id)
    elif len(parts) == 4 and parts[2] == "a" and parts[3].isdigit() \
            and int(parts[3]) < len(areas):
        draft.update(where=display_name(AREA_NAMES, areas[int(parts[3])], _), unit=None)
    else:
        await refuse(update, context, N_("This button is out of date."))
        return WHERE
    return await _confirm(update, context)


async def where_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = _draft(context)
    if message.location is not None:
        draft.update(latitude=message.location.latitude, longitude=message.location.longitude,
                     where=f"{message.location.latitude:.5f}, {message.location.longitude:.5f}",
                     unit=None)
    else:
        draft.update(where=(message.text or "").strip()[:200], unit=None)
    return await _confirm(update, context)


def _summary(draft: dict[str, Any], _: Translator) -> str:
    return "\n".join([
        _("<b>Check your report</b>"),
        _("Kind: {category}").format(category=display_name(CATEGORY_NAMES, draft["category"], _)),
        _("What: {description}").format(description=html.escape(draft["description"])),
        _("Where: {where}").format(where=html.escape(draft["where"])),
        _("Photos: {count}").format(count=len(draft["photos"])),
        _("Shown to the group and the handlers: {who}").format(
            who=_("anonymously") if draft.get("anonymous") else _("with your name")),
    ])


async def _confirm(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    await flow_reply(update, _summary(draft, _), InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Send the report"), callback_data="rp:go")],
        [InlineKeyboardButton(_("Show my name") if draft.get("anonymous")
                              else _("Stay anonymous"), callback_data="rp:anon")],
    ]))
    return CONFIRM


async def toggle_anonymous(update: Update, context: YishiContext) -> int:
    draft = _draft(context)
    draft["anonymous"] = not draft.get("anonymous", False)
    return await _confirm(update, context)


async def submit(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, {})
    _ = await person_translator(update, context)
    services = context.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, draft.get("community", 0))
    if community is None or "where" not in draft:
        await flow_reply(update, _("This button is out of date."))
        return ConversationHandler.END
    now = services.clock.now()
    async with services.db.transaction() as conn:
        report = await store.create(
            conn, community_id=community.id, now=now, photos=draft["photos"],
            category=draft["category"], description=draft["description"],
            voice_file_id=draft.get("voice"), where_text=draft["where"],
            unit_id=draft.get("unit"), latitude=draft.get("latitude"),
            longitude=draft.get("longitude"), reporter_id=user.id,
            anonymous=bool(draft.get("anonymous")))
        await award(conn, services.settings.points, community, user_id=user.id,
                    action=Action.REPORT, ref=f"report:{report.id}", now=now)
        # Its time limits are written with it: a crash right after cannot leave it without.
        ack_due, resolve_due = limits_for(services.settings, report.category).due(now)
        await _arm_limit(conn, report.id, ACK_LIMIT, ACK_SOON, ack_due, now)
        await _arm_limit(conn, report.id, RESOLVE_LIMIT, RESOLVE_SOON, resolve_due, now)
    await flow_reply(update, _("Thank you! Your report is {ref}. The handlers have it; I will "
                               "tell you of every change.").format(ref=report.ref) + "\n\n"
                     + _summary(draft, _).split("\n", 1)[1])
    await _route(context, community, report)
    if services.settings.reports.post_to_group:
        await _group_notice(context, community, report, "new")
    return ConversationHandler.END


async def _arm_limit(conn: AsyncConnection, report_id: int, limit: str, soon: str,
                     due: datetime, now: datetime) -> None:
    """A time limit, and the handlers' reminder a quarter of the way before it (at most
    two hours before)."""
    payload = {"report": report_id}
    await due_work.schedule(conn, kind=limit, key=str(report_id), due_at=due, now=now,
                            payload=payload)
    await due_work.schedule(conn, kind=soon, key=str(report_id),
                            due_at=due - min(timedelta(hours=2), (due - now) / 4), now=now,
                            payload=payload)


# --- routing and handling ----------------------------------------------------------------


async def handler_ids(context: YishiContext, community: Community, category: str) -> list[int]:
    """Who handles a category: its handlers (and those handling all), else the moderators."""
    async with context.services.db.transaction() as conn:
        handlers_ = await memberships.handlers_of(conn, community.id, category)
    return handlers_ or await moderator_ids(context.bot, context.services, community)


async def _card(conn: AsyncConnection, report: Report, _: Translator, *,
                for_group: bool = False) -> str:
    """A report as handlers see it; in the group, a private unit and an anonymous reporter
    are never shown."""
    where = report.where_text
    if for_group and report.unit_id is not None:
        where = _("a home in the building")
    reporter = _("anonymous")
    named = await people.names(conn, [u for u in (report.reporter_id, report.assignee_id)
                                      if u is not None])
    count = len(await store.photos(conn, report.id))
    followers = len(await store.followers(conn, report.id))
    if not report.anonymous and report.reporter_id in named:
        reporter = named[report.reporter_id].name
    lines = [f"<b>{report.ref} · {display_name(CATEGORY_NAMES, report.category, _)}</b>",
             html.escape(report.description),
             _("Where: {where}").format(where=html.escape(where)),
             _("Reported by {name}").format(name=html.escape(reporter)),
             _("Status: {status}").format(status=_(STATUS_NAMES[report.status]))]
    if report.assignee_id in named and not for_group:
        lines.append(_("With: {name}").format(name=html.escape(named[report.assignee_id].name)))
    if count:
        lines.append(_("Photos: {count}").format(count=count))
    if followers:
        lines.append(_("Neighbours affected too: {count}").format(count=followers))
    return "\n".join(lines)


def _handler_buttons(report: Report, _: Translator) -> InlineKeyboardMarkup | None:
    rows = []
    labels = {"ack": _("Acknowledge"), "start": _("Start work"), "resolve": _("Resolved"),
              "reject": _("Reject")}
    for action, target in HANDLER_ACTIONS.items():
        if can_move(report.status, target):
            rows.append(InlineKeyboardButton(labels[action],
                                             callback_data=f"rh:{report.id}:{action}"))
    if report.status in OPEN_STATUSES:
        rows.append(InlineKeyboardButton(_("Reassign"), callback_data=f"rh:{report.id}:pass"))
    if not rows:
        return None
    return InlineKeyboardMarkup([rows[i:i + 2] for i in range(0, len(rows), 2)])


async def _send_card(context: YishiContext, chat_id: int, report: Report, _: Translator, *,
                     heading: str = "") -> list[int] | None:
    """The report's card, with its first photo, sent to one chat: [chat id, message id], or
    None if that chat cannot be reached."""
    async with context.services.db.transaction() as conn:
        first_photo = (await store.photos(conn, report.id))[:1]
        text = heading + await _card(conn, report, _)
    try:
        if first_photo:
            sent = await context.bot.send_photo(chat_id, first_photo[0], caption=text[:1000],
                                                reply_markup=_handler_buttons(report, _))
        else:
            sent = await context.bot.send_message(chat_id, text,
                                                  reply_markup=_handler_buttons(report, _))
    except (Forbidden, BadRequest):
        log.info("a report copy could not be delivered", extra={"report": report.id})
        return None
    return [sent.chat_id, sent.message_id]


async def _route(context: YishiContext, community: Community, report: Report) -> None:
    """A new report goes to the handlers' chat if one is linked, else to each handler of
    its category who has a private chat with the bot."""
    copies: list[list[int]] = []
    if community.handlers_chat_id is not None:
        copy = await _send_card(context, community.handlers_chat_id, report,
                                translator(community.language))
        copies += [copy] if copy else []
    if not copies:
        recipients = await handler_ids(context, community, report.category)
        async with context.services.db.transaction() as conn:
            reachable = [p for p in (await people.names(conn, recipients)).values() if p.started]
        for person in reachable:
            copy = await _send_card(context, person.user_id, report,
                                    translator(person.reads(context.services.default_language)))
            copies += [copy] if copy else []
    async with context.services.db.transaction() as conn:
        await store.set_notices(conn, report.id, copies)
    if not copies:
        await _group_notice(context, community, report, "unreached")


async def _group_notice(context: YishiContext, community: Community, report: Report,
                        what: str) -> None:
    """Tell the group of a new report, a resolution, or a report nobody could receive;
    in the group's quiet hours it waits for the morning."""
    services = context.services
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        await services.scheduler.schedule(kind=GROUP_NOTICE, key=f"{report.id}:{what}",
                                          due_at=quiet_until,
                                          payload={"report": report.id, "what": what})
        return
    await _send_group_notice(context, community, report, what)


async def _send_group_notice(context: YishiContext, community: Community, report: Report,
                             what: str) -> None:
    _ = translator(community.language)
    if what == "unreached":
        await context.bot.send_message(
            community.chat_id,
            _("A new report waits for a handler. Handlers and moderators: start a private chat "
              "with me to receive reports."),
            reply_markup=private_link(context, "group", community, _("Talk to me in private")))
    elif what == "new" and report.status in OPEN_STATUSES:
        async with context.services.db.transaction() as conn:
            card = await _card(conn, report, _, for_group=True)
        sent = await context.bot.send_message(
            community.chat_id, card,
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                _("Me too"), callback_data=f"rm:{report.id}")]]))
        async with context.services.db.transaction() as conn:
            await store.set_post(conn, report.id, sent.chat_id, sent.message_id)
    elif what == "resolved":
        services = context.services
        now = services.clock.now()
        async with services.db.transaction() as conn:
            await outbox.queue(conn, [await _resolved_notice(conn, report, community,
                                                             f"report:{report.id}:resolved",
                                                             now)], now)
        services.outbox.kick()


async def _resolved_notice(conn: AsyncConnection, report: Report, community: Community,
                           key: str, now: datetime) -> Outgoing:
    """The group hears a report is resolved (with the "after" photo, if there is one), as
    a reply to the report's post; in quiet hours it waits for the morning."""
    _ = translator(community.language)
    after = await store.photos(conn, report.id, after=True)
    events = await store.timeline(conn, report.id)
    notes = [e.note for e in events if e.status is ReportStatus.RESOLVED and e.note
             and not e.note.startswith(MARKED_NOTES)]
    text = _("{ref} ({category}) is resolved.").format(
        ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _))
    if notes:
        text += "\n" + _("Note: {note}").format(note=html.escape(notes[-1]))
    quiet_until = community.quiet_until(now)
    if after:
        return outgoing.photo(f"{key}:group", community.chat_id, after[-1], text,
                              reply_to=report.post_message_id, not_before=quiet_until)
    return outgoing.message(f"{key}:group", community.chat_id, text,
                            reply_to=report.post_message_id, not_before=quiet_until)


async def group_notice(app: YishiApp, work: DueWork) -> Outcome:
    """A group notice held back by quiet hours."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None or not community.active:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    await _send_group_notice(YishiContext(app), community, report, work.payload["what"])
    return Done()


async def _load(context: YishiContext, data: str | None) -> tuple[Report | None,
                                                                 Community | None]:
    parts = (data or "").split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    async with context.services.db.transaction() as conn:
        report = await store.get(conn, int(parts[1]))
        community = await communities.by_id(conn, report.community_id) if report else None
    return report, community


async def _may_handle(context: YishiContext, community: Community, user_id: int,
                      category: str | None = None) -> bool:
    """Moderators handle every report; a handler those of their categories (all, if they
    were given none). Without a category: whether they handle any."""
    role = await user_role(context, community, user_id)
    if role is Role.MODERATOR:
        return True
    if role is not Role.HANDLER:
        return False
    if category is None:
        return True
    async with context.services.db.transaction() as conn:
        membership = await memberships.get(conn, community.id, user_id)
    return membership is not None and membership.handles(category)


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
    buttons = [InlineKeyboardButton(person.name[:32], callback_data=f"ra:{report.id}:"
                                                                    f"{person.user_id}")
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
    copy = await _send_card(context, assignee.user_id, updated, theirs, heading=theirs(N_(
        "{name} passed this report to you.")).format(name=html.escape(user.full_name)) + "\n\n")
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


async def change_status(services: Services, report: Report, community: Community,
                        target: ReportStatus, *, actor: int | None,
                        note: str | None = None, original: Report | None = None) -> bool:
    """Move the report and put it on the timeline; in the same transaction, queue what the
    move owes (the reporter's and followers' news, the handlers' copies and the group post
    brought up to date, the "is it fixed?" question and the group's word on a resolution)
    and arm what it starts (the wait for an answer, the check weeks later, a reopened
    report's new resolve limit)."""
    now = services.clock.now()
    settings = services.settings.reports
    async with services.db.transaction() as conn:
        if original is not None:
            event = await store.mark_duplicate(conn, report.id, original_id=original.id,
                                               from_status=report.status, actor_id=actor,
                                               now=now, note=note or "")
        else:
            event = await store.move(conn, report.id, from_status=report.status,
                                     to_status=target, actor_id=actor, now=now, note=note)
        updated = await store.get(conn, report.id)
        if event is None or updated is None:
            return False
        # The timeline entry names this change for good: its messages go once each.
        key = f"report:{report.id}:event:{event}"
        owed = [*await _news(conn, services, updated, note, key, original=original),
                *await _copy_edits(conn, services, updated, community, key)]
        payload = {"report": report.id}
        if target is ReportStatus.RESOLVED:
            owed += await _fixed_question(conn, services, updated, key)
            await due_work.schedule(conn, kind=CONFIRM_WAIT, key=str(report.id), now=now,
                                    due_at=now + timedelta(days=settings.confirm_days),
                                    payload=payload)
            if settings.post_to_group:
                owed.append(await _resolved_notice(conn, updated, community, key, now))
        elif target is ReportStatus.CLOSED:
            await due_work.schedule(conn, kind=STILL_FIXED, key=str(report.id), now=now,
                                    due_at=now + timedelta(days=settings.still_fixed_days),
                                    payload=payload)
        elif target is ReportStatus.REOPENED:
            # A reopened report has its resolve limit again, counted from now.
            resolve_due = now + limits_for(services.settings, report.category).resolve
            await _arm_limit(conn, report.id, RESOLVE_LIMIT, RESOLVE_SOON, resolve_due, now)
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return True


async def _news(conn: AsyncConnection, services: Services, report: Report, note: str | None,
                key: str, *, original: Report | None = None) -> list[Outgoing]:
    """The reporter and the followers hear of the change, each in their language."""
    followers = await store.followers(conn, report.id)
    known = await people.names(conn, [u for u in [report.reporter_id, *followers] if u])
    owed = []
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(services.default_language))
        text = _("{ref} ({category}) is now {status}.").format(
            ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _),
            status=_(STATUS_NAMES[report.status]))
        if note:
            text += "\n" + _("Note: {note}").format(note=html.escape(_(note)))
        if original is not None:
            text += "\n" + _("I will tell you how {ref} goes instead.").format(ref=original.ref)
        owed.append(outgoing.message(f"{key}:news:{person.user_id}", person.user_id, text))
    return owed


async def _copy_edits(conn: AsyncConnection, services: Services, report: Report,
                      community: Community, key: str, *,
                      group_post: bool = True) -> list[Outgoing]:
    """Handlers' copies show the new status and the buttons that still make sense; the
    group post (unless only what handlers see changed) shows the status."""
    with_photo = bool(await store.photos(conn, report.id))
    owed = []
    for chat_id, message_id in report.notices:
        _ = await _copy_language(conn, services, community, chat_id)
        text = await _card(conn, report, _)
        name = f"{key}:copy:{chat_id}:{message_id}"
        owed.append(outgoing.edit_caption(name, chat_id, message_id, text,
                                          markup=_handler_buttons(report, _)) if with_photo
                    else outgoing.edit_text(name, chat_id, message_id, text,
                                            markup=_handler_buttons(report, _)))
    if group_post and report.post_message_id is not None and report.post_chat_id is not None:
        _ = translator(community.language)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Me too"), callback_data=f"rm:{report.id}")]]) \
            if report.status in OPEN_STATUSES else None
        owed.append(outgoing.edit_text(f"{key}:post", report.post_chat_id,
                                       report.post_message_id,
                                       await _card(conn, report, _, for_group=True),
                                       markup=markup))
    return owed


async def _copy_language(conn: AsyncConnection, services: Services, community: Community,
                         chat_id: int) -> Translator:
    """The language of one copy: a person's own in private, the group's in a group."""
    if chat_id < 0:
        return translator(community.language)
    reader = await people.get(conn, chat_id)
    return translator(reader.reads(services.default_language) if reader
                      else community.language)


async def _refresh_copies(context: YishiContext, report: Report, community: Community, *,
                          group_post: bool = True) -> None:
    """Bring every copy up to date now (a follower joined, the report changed hands)."""
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        current = await store.get(conn, report.id) or report
        # Named by what they show: the same view is never sent twice.
        shown = f"report:{report.id}:view:{now.isoformat()}:{secrets.token_hex(4)}"
        await outbox.queue(conn, await _copy_edits(conn, services, current, community, shown,
                                                   group_post=group_post), now)
    services.outbox.kick()


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


# --- is it fixed? ----------------------------------------------------------------------------


def _fixed_buttons(report: Report, _: Translator, *, answered: bool = False,
                   rated: bool = False) -> InlineKeyboardMarkup | None:
    rows = []
    if not answered:
        rows.append([
            InlineKeyboardButton(_("Yes, fixed"), callback_data=f"rf:{report.id}:yes"),
            InlineKeyboardButton(_("No, not fixed"), callback_data=f"rf:{report.id}:no")])
    if not rated:
        rows.append([InlineKeyboardButton("⭐" * n, callback_data=f"rr:{report.id}:{n}")
                     for n in range(1, 6)])
    return InlineKeyboardMarkup(rows) if rows else None


async def _fixed_question(conn: AsyncConnection, services: Services, report: Report,
                          key: str) -> list[Outgoing]:
    """The reporter is asked whether it is really fixed, and how it was handled."""
    if report.reporter_id is None:
        return []
    person = await people.get(conn, report.reporter_id)
    if person is None or not person.started:
        return []
    _ = translator(person.reads(services.default_language))
    return [outgoing.message(
        f"{key}:fixed?", person.user_id,
        _("Is {ref} really fixed? You can also rate how it was handled.").format(
            ref=report.ref), markup=_fixed_buttons(report, _))]


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
    await _tell_handlers(context, community, report, N_(
        "{ref} was reopened: the reporter says it is not fixed."))
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
        if any(e.note and e.note.startswith("rating:") for e in events):
            rated = True
        else:
            rated = False
            await store.record_note(conn, report.id, actor_id=user.id,
                                    note=f"rating:{stars}", now=context.services.clock.now())
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
        await store.record_note(conn, report.id, actor_id=user.id, note=f"comment:{text}",
                                now=context.services.clock.now())
        if message.photo:
            await store.add_photo(conn, report.id, message.photo[-1].file_id, after=False)
    if pending["kind"] in ("not_fixed", "not_fixed_later"):
        await _tell_handlers(context, community, report, N_(
            "About {ref}, the reporter adds: {comment}") if pending["kind"] == "not_fixed"
            else N_("About {ref}, a neighbour adds: {comment}"), comment=html.escape(text),
            photo=message.photo[-1].file_id if message.photo else None)
    await message.reply_text(_("Thank you, I added it to {ref}.").format(ref=report.ref))
    return ConversationHandler.END


async def _tell_handlers(context: YishiContext | YishiApp, community: Community,
                         report: Report, msgid: str, *, photo: str | None = None,
                         **values: str) -> None:
    """The handler who has the report (else the category's handlers) hears in private."""
    ctx = context if isinstance(context, YishiContext) else YishiContext(context)
    async with ctx.services.db.transaction() as conn:
        events = await store.timeline(conn, report.id)
    # Who last moved it forward (a note keeps the status, so it is not a move).
    took = [e.actor_id for before, e in zip(events, events[1:], strict=False)
            if e.status is not before.status and e.actor_id and e.status in (
                ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS, ReportStatus.RESOLVED)]
    recipients = [report.assignee_id] if report.assignee_id else took[-1:]
    recipients = recipients or await handler_ids(ctx, community, report.category)
    async with ctx.services.db.transaction() as conn:
        known = await people.names(conn, recipients)
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(ctx.services.default_language))
        text = _(msgid).format(
            ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _),
            status=_(STATUS_NAMES[report.status]), **values)
        try:
            if photo is not None:
                await ctx.bot.send_photo(person.user_id, photo, caption=text[:1000])
            else:
                await ctx.bot.send_message(person.user_id, text)
        except Forbidden:
            continue


async def still_fixed(app: YishiApp, work: DueWork) -> Outcome:
    """Weeks after closing (FixMyStreet asks after four), the reporter and the followers are
    asked once whether it stayed fixed."""
    found = await _still_due(app, work, (ReportStatus.CLOSED,))
    if not isinstance(found, tuple):
        return found
    report, _community = found
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        followers = await store.followers(conn, report.id)
        known = await people.names(conn, [u for u in (report.reporter_id, *followers) if u])
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(services.default_language))
        try:
            await app.bot.send_message(
                person.user_id,
                _("A few weeks ago {ref} ({category}) was fixed. Is it still fixed?").format(
                    ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _)),
                reply_markup=InlineKeyboardMarkup([[
                    InlineKeyboardButton(_("Yes, still fixed"),
                                         callback_data=f"rk:{report.id}:yes"),
                    InlineKeyboardButton(_("No, it is broken again"),
                                         callback_data=f"rk:{report.id}:no")]]))
        except Forbidden:
            continue
    return Done()


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
        await _tell_handlers(context, community, report, N_(
            "{ref} was reopened: a neighbour says it is broken again."))
    await query.answer(_("{ref} is reopened; the handlers are told.").format(ref=report.ref))
    return await _ask_comment(update, context, report,
                              "not_fixed" if user.id == report.reporter_id
                              else "not_fixed_later")


# --- time limits and the follow-up's deadline --------------------------------------------------


async def _still_due(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...], *,
                    quiet: bool = True) -> tuple[Report, Community] | Outcome:
    """The report a due item is about and its community, if the report is still in one of
    ``still``; otherwise what the scheduler is to do: Done (it was handled in time, or is
    gone), or, with ``quiet``, Defer to the end of the group's quiet hours."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None or report.status not in still:
        return Done()
    quiet_until = community.quiet_until(services.clock.now()) if quiet else None
    if quiet_until is not None:
        return Defer(quiet_until)
    return report, community


async def _escalate(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...],
                    msgid: str, *,
                    then: Callable[[AsyncConnection, datetime], Awaitable[None]] | None = None,
                    ) -> Outcome:
    """The moderators hear that a limit passed; ``then`` arms what follows, in the same
    transaction."""
    found = await _still_due(app, work, still)
    if not isinstance(found, tuple):
        return found
    report, community = found
    services = app.bot_data.services
    now = services.clock.now()
    recipients = await moderator_ids(app.bot, services, community)
    async with services.db.transaction() as conn:
        # Each moderator's word is queued under the limit's name and the report's round (a
        # reopened report has its limits again): an escalation run again after a crash, or
        # a send retried, reaches nobody twice.
        rounds = sum(e.status is ReportStatus.REOPENED
                     for e in await store.timeline(conn, report.id))
        key = f"report:{report.id}:{work.kind}:{rounds}"
        known = await people.names(conn, recipients)
        owed = []
        for person in known.values():
            if not person.started:
                continue
            _ = translator(person.reads(services.default_language))
            owed.append(outgoing.message(f"{key}:{person.user_id}", person.user_id, _(
                msgid).format(
                ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _),
                status=_(STATUS_NAMES[report.status]), group=html.escape(community.title))))
        await outbox.queue(conn, owed, now)
        if then is not None:
            await then(conn, now)
    services.outbox.kick()
    return Done()


async def _remind_handlers(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...],
                           msgid: str) -> Outcome:
    """Before a limit passes: whoever has the report (else its handlers) hears."""
    found = await _still_due(app, work, still)
    if not isinstance(found, tuple):
        return found
    report, community = found
    await _tell_handlers(app, community, report, msgid)
    return Done()


async def acknowledge_soon(app: YishiApp, work: DueWork) -> Outcome:
    return await _remind_handlers(app, work, (ReportStatus.NEW,), N_(
        "Reminder: {ref} ({category}) needs acknowledging soon; it is still {status}."))


async def resolve_soon(app: YishiApp, work: DueWork) -> Outcome:
    return await _remind_handlers(app, work, OPEN_STATUSES, N_(
        "Reminder: {ref} ({category}) should be resolved soon; it is {status}."))


async def acknowledge_limit(app: YishiApp, work: DueWork) -> Outcome:
    return await _escalate(app, work, (ReportStatus.NEW,), N_(
        "Overdue in {group}: {ref} ({category}) was not acknowledged in time; it is still "
        "{status}."))


async def resolve_limit(app: YishiApp, work: DueWork) -> Outcome:
    days = app.bot_data.services.settings.reports.overdue_reminder_days

    async def remind_from_now_on(conn: AsyncConnection, now: datetime) -> None:
        # The moderators heard once; from now on whoever has it is reminded until it is
        # resolved, so an overdue report never just sits.
        await due_work.schedule(conn, kind=OVERDUE_REMINDER, key=str(work.payload["report"]),
                                due_at=now + timedelta(days=days), now=now,
                                payload={"report": work.payload["report"]})

    return await _escalate(app, work, OPEN_STATUSES, N_(
        "Overdue in {group}: {ref} ({category}) was not resolved in time; it is {status}."),
        then=remind_from_now_on)


async def overdue_reminder(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``report_overdue``: remind whoever has an overdue report, every
    overdue_reminder_days, until it is resolved (or rejected)."""
    found = await _still_due(app, work, OPEN_STATUSES)
    if not isinstance(found, tuple):
        return found
    report, community = found
    services = app.bot_data.services
    now = services.clock.now()
    late = now - report.created_at
    await _tell_handlers(app, community, report, N_(
        "Still overdue: {ref} ({category}) was filed {days} days ago and is {status}. "
        "Please resolve it or say what is holding it up."), days=str(late.days))
    return Defer(now + timedelta(days=services.settings.reports.overdue_reminder_days))


async def confirm_wait(app: YishiApp, work: DueWork) -> Outcome:
    """No answer to "is it fixed?" within confirm_days: closed as resolved, unconfirmed."""
    found = await _still_due(app, work, (ReportStatus.RESOLVED,), quiet=False)
    if not isinstance(found, tuple):
        return found
    report, community = found
    # System notes are stored as their English source and translated for each reader.
    await change_status(app.bot_data.services, report, community, ReportStatus.CLOSED,
                        actor=None,
                        note=N_("Resolved, unconfirmed: the reporter did not answer."))
    return Done()


# --- looking things up --------------------------------------------------------------------------


async def my_reports(update: Update, context: YishiContext) -> None:
    """/reports in private: my reports. Handlers and moderators: /reports open or
    /reports overdue for their buildings."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    which = (context.args or [""])[0].lower()
    if which in ("open", "overdue"):
        await _open_reports(update, context, overdue_only=which == "overdue",
                            filters=(context.args or [])[1:])
        return
    async with context.services.db.transaction() as conn:
        mine = await store.of_reporter(conn, user.id)
    if not mine:
        await message.reply_text(_("You have not reported anything yet. Send /report to report "
                                   "a problem."))
        return
    lines = [_("<b>Your reports</b>")] + [
        f"{r.ref} · {display_name(CATEGORY_NAMES, r.category, _)} · {_(STATUS_NAMES[r.status])}"
        for r in mine]
    await message.reply_text("\n".join(lines))


def _status_key(text: str) -> ReportStatus | None:
    """A status as typed: its key (``in_progress``) or its name in either language."""
    wanted = text.strip().lower()
    for status, msgid in STATUS_NAMES.items():
        if status in OPEN_STATUSES and wanted in {status.value, msgid.lower(),
                                                  translator("zh")(msgid).lower()}:
            return status
    return None


async def _open_reports(update: Update, context: YishiContext, *, overdue_only: bool,
                        filters: list[str]) -> None:
    """Open reports of the buildings this person handles, most followed first; optionally
    only one category and/or one status (/reports open lift new)."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    services = context.services
    categories = {category_key(f, services.settings.reports.categories) for f in filters} - {None}
    statuses = {_status_key(f) for f in filters} - {None}
    if len(categories) + len(statuses) < len(filters):
        await message.reply_text(_("I can filter by kind ({categories}) and by status ({statuses})"
                                   ". Example: /reports open lift new").format(
            categories=", ".join(services.settings.reports.categories),
            statuses=", ".join(s.value for s in OPEN_STATUSES)))
        return
    now = services.clock.now()
    blocks = []
    for community in await communities_of(context, user.id):
        if not await _may_handle(context, community, user.id):
            continue
        async with services.db.transaction() as conn:
            mine = await store.open_in(conn, community.id)
        # A handler sees the reports of their own categories.
        mine = [r for r in mine if (not categories or r.category in categories)
                and (not statuses or r.status in statuses)
                and await _may_handle(context, community, user.id, r.category)]
        async with services.db.transaction() as conn:
            listed = [(r, len(await store.followers(conn, r.id))) for r in mine]
        if overdue_only:
            listed = [(r, n) for r, n in listed if overdue(
                r.status, r.created_at, limits_for(services.settings, r.category), now)]
        lines = [_("<b>Open reports in {group}</b>").format(group=html.escape(community.title))
                 if not overdue_only else
                 _("<b>Overdue reports in {group}</b>").format(
                     group=html.escape(community.title))]
        for report, followers in sorted(listed, key=lambda item: (-item[1],
                                                                  item[0].created_at))[:50]:
            lines.append(f"{report.ref} · {display_name(CATEGORY_NAMES, report.category, _)} · "
                         f"{_(STATUS_NAMES[report.status])}"
                         + (f" · +{followers}" if followers else ""))
        if len(listed) > 50:
            lines.append(_("… and {count} more.").format(count=len(listed) - 50))
        if not listed:
            lines.append(_("None."))
        blocks.append("\n".join(lines))
    if not blocks:
        await message.reply_text(_("Sorry, only the building's handlers can do that. "
                                   "Nothing was changed."))
        return
    await message.reply_text("\n\n".join(blocks)[:4096])


async def show_report(update: Update, context: YishiContext, number: int) -> None:
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    found = None
    for community in await communities_of(context, user.id):
        async with context.services.db.transaction() as conn:
            report = await store.by_number(conn, community.id, number)
        if report is not None and (report.reporter_id == user.id or await _may_handle(
                context, community, user.id, report.category)):
            found = (report, community)
            break
    if found is None:
        await message.reply_text(_("I know of no such report of yours."))
        return
    report, community = found
    async with context.services.db.transaction() as conn:
        events = await store.timeline(conn, report.id)
    zone = community.timezone
    assigned = [int(e.note.split(":", 1)[1]) for e in events
                if e.note and e.note.startswith("assign:")]
    async with context.services.db.transaction() as conn:
        named = await people.names(conn, assigned)
    async with context.services.db.transaction() as conn:
        card = await _card(conn, report, _)
    lines = [card, "", _("<b>Timeline</b>")]
    for event in events:
        note = event_note(event.note, _, named)
        if event.note and note is None:
            continue
        when = f"{event.at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
        line = f"{when} · {_(STATUS_NAMES[event.status])}"
        if note:
            line += f" — {html.escape(note)}"
        lines.append(line)
    await message.reply_text("\n".join(lines)[:4096])


def event_note(note: str | None, _: Translator, named: dict[int, Person]) -> str | None:
    """A timeline note as a reader sees it; None for one kept out of sight (a rating)."""
    if not note or note.startswith("rating:"):
        return None
    kind, _sep, rest = note.partition(":")
    if kind == "assign" and rest.isdigit():
        person = named.get(int(rest))
        return _("Passed to {name}").format(name=person.name if person else "?")
    if kind == "comment":
        return _("Comment: {text}").format(text=rest)
    return _(note)


async def report_with_reference(update: Update, context: YishiContext) -> int:
    """/report R-0042 in private shows it; plain /report starts a new one."""
    argument = (context.args or [""])[0].upper()
    if argument.startswith("R-") and argument[2:].isdigit():
        await show_report(update, context, int(argument[2:]))
        return ConversationHandler.END
    return await report_command(update, context)


async def stale_report_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /report to start "
                                     "again."))


def register(app: YishiApp) -> None:
    private = F.ChatType.PRIVATE
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("report", report_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="report", command="report", start=report_with_reference,
        from_link=report_from_link, link="report",
        states={
            CATEGORY: [CallbackQueryHandler(category_button, pattern=r"^rp:c:")],
            PHOTOS: [MessageHandler(F.PHOTO, photo_sent),
                     CallbackQueryHandler(photos_done, pattern=r"^rp:p:done$")],
            DESCRIPTION: [MessageHandler(typed | F.VOICE, description_typed)],
            WHERE: [CallbackQueryHandler(where_button, pattern=r"^rp:w:"),
                    MessageHandler(typed | F.LOCATION, where_typed)],
            CONFIRM: [CallbackQueryHandler(submit, pattern=r"^rp:go$"),
                      CallbackQueryHandler(toggle_anonymous, pattern=r"^rp:anon$")],
        },
    ))
    app.add_handler(flow(
        app, name="report_note", command="reports",
        entry_points=[CallbackQueryHandler(handler_button, pattern=r"^rh:\d+:\w+$")],
        states={HANDLER_NOTE: [MessageHandler((F.TEXT & ~F.COMMAND) | F.PHOTO,
                                              handler_note)]},
    ))
    app.add_handler(flow(
        app, name="report_feedback", command="reports",
        entry_points=[CallbackQueryHandler(fixed_answer, pattern=r"^rf:"),
                      CallbackQueryHandler(rating, pattern=r"^rr:"),
                      CallbackQueryHandler(still_fixed_answer, pattern=r"^rk:")],
        states={COMMENT: [MessageHandler((F.TEXT & ~F.COMMAND) | F.PHOTO, comment_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(me_too, pattern=r"^rm:"))
    app.add_handler(CallbackQueryHandler(reassign, pattern=r"^ra:"))
    app.add_handler(CallbackQueryHandler(stale_report_button, pattern=r"^(rp|rh):"))
    app.add_handler(CommandHandler("reports", my_reports, filters=private))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(ACK_LIMIT, acknowledge_limit)
    scheduler.on(RESOLVE_LIMIT, resolve_limit)
    scheduler.on(CONFIRM_WAIT, confirm_wait)
    scheduler.on(ACK_SOON, acknowledge_soon)
    scheduler.on(RESOLVE_SOON, resolve_soon)
    scheduler.on(GROUP_NOTICE, group_notice)
    scheduler.on(STILL_FIXED, still_fixed)
    scheduler.on(OVERDUE_REMINDER, overdue_reminder)


# --- exports ---------------------------------------------------------------------------------

OPEN311_CLOSED = (ReportStatus.RESOLVED, ReportStatus.CLOSED, ReportStatus.REJECTED,
                  ReportStatus.DUPLICATE)


def export_period(words: list[str], zone: ZoneInfo,
                  now: datetime) -> tuple[datetime | None, datetime | None] | None:
    """/export reports [30 | 2026-11]: the last N days, or a calendar month in the group's
    time zone; nothing means everything. None if it cannot be read."""
    if not words:
        return None, None
    word = words[0]
    if word.isdigit() and 0 < int(word) <= 3660:
        return now - timedelta(days=int(word)), None
    month = re.fullmatch(r"(\d{4})-(\d{1,2})", word)
    if month and 1 <= int(month.group(2)) <= 12:
        year, number = int(month.group(1)), int(month.group(2))
        start = datetime(year, number, 1, tzinfo=zone)
        end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
        return start, end
    return None


async def export_reports(update: Update, context: YishiContext, community: Community, *,
                         period: list[str]) -> None:
    """/export reports [period] (moderators): CSV, XLSX and Open311 GeoReport v2 JSON, sent
    in private."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = translator(community.language)
    services = context.services
    bounds = export_period(period, ZoneInfo(community.timezone), services.clock.now())
    if bounds is None:
        await message.reply_text(_("Give the period as a number of days or a month, e.g. "
                                   "/export reports 30 or /export reports 2026-11."))
        return
    since, until = bounds
    async with services.db.transaction() as conn:
        listed = [r for r in await store.all_in(conn, community.id, since=since)
                  if until is None or r.created_at < until]
        details = {r.id: (await store.timeline(conn, r.id), await store.photos(conn, r.id),
                          len(await store.followers(conn, r.id))) for r in listed}
    zone = ZoneInfo(community.timezone)
    header = [_("Reference"), _("Kind"), _("Status"), _("Reported"), _("Updated"), _("Where"),
              _("What"), _("Neighbours affected too"), _("Photos")]
    rows = [[r.ref, display_name(CATEGORY_NAMES, r.category, _), _(STATUS_NAMES[r.status]),
             f"{r.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
             f"{r.updated_at.astimezone(zone):%Y-%m-%d %H:%M}", r.where_text, r.description,
             str(details[r.id][2]), str(len(details[r.id][1]))] for r in listed]
    open311 = []
    for r in listed:
        events, photos, _followers = details[r.id]
        notes = [e.note for e in events if e.note and not e.note.startswith(MARKED_NOTES)]
        resolve_by = limits_for(services.settings, r.category).due(r.created_at)[1]
        request: dict[str, Any] = {
            "service_request_id": r.ref,
            "status": "closed" if r.status in OPEN311_CLOSED else "open",
            "status_notes": _(notes[-1]) if notes else None,
            "service_name": display_name(CATEGORY_NAMES, r.category, _),
            "service_code": r.category,
            "description": r.description,
            "requested_datetime": r.created_at.astimezone(zone).isoformat(),
            "updated_datetime": r.updated_at.astimezone(zone).isoformat(),
            "expected_datetime": resolve_by.astimezone(zone).isoformat(),
            "address": _("a home in the building") if r.unit_id else r.where_text,
            "lat": r.latitude, "long": r.longitude,
            "media_url": photos[0] if photos else None,
        }
        open311.append(request)
    summary = [[_("Reports of {group}").format(group=community.title)]]
    if period:
        summary.append([_("Period: {period}").format(period=period[0])])
    try:
        await context.bot.send_document(user.id, csv_bytes(summary, [header, *rows]),
                                        filename="reports.csv")
        await context.bot.send_document(user.id, xlsx_bytes(summary, [header, *rows]),
                                        filename="reports.xlsx")
        await context.bot.send_document(
            user.id, json.dumps(open311, ensure_ascii=False, indent=1).encode(),
            filename="reports-open311.json")
    except Forbidden:
        await message.reply_text(_("I can only send the export in private. Start a chat with "
                                   "me, then send /export reports again."))
        return
    await record_audit(context, community, update, "reports.export", count=len(listed))
    await message.reply_text(_("I sent you the reports of {group} in private.").format(
        group=html.escape(community.title)))
