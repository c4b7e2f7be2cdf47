"""Issue reports (随手拍): file in a few taps, route to the handlers, follow every change,
escalate past the time limits, and ask the reporter whether it is really fixed.

Callback data: ``rp:*`` the filing flow, ``rh:<report>:<action>`` a handler's buttons,
``rm:<report>`` "me too" in the group, ``rf:<report>:yes|no`` and ``rr:<report>:<1-5>``
the reporter's answer. All checked against the database.
"""

from __future__ import annotations

import html
import json
import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.config import Settings
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink, payload_pattern
from bot.domain.models import Community, DueWork, Role
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
from handlers.flows import flow
from handlers.moderators import copy_language, moderator_ids
from storage import communities, memberships, people, residents
from storage import reports as store
from storage.residents import Status

log = logging.getLogger(__name__)

CATEGORY, PHOTOS, DESCRIPTION, WHERE, CONFIRM = range(40, 45)
HANDLER_NOTE = 46
DRAFT = "report"
PREFILL = "report_prefill"
ACK_LIMIT, RESOLVE_LIMIT, CONFIRM_WAIT = "report_ack", "report_resolve", "report_confirm"
ACK_SOON, RESOLVE_SOON = "report_ack_soon", "report_resolve_soon"

CATEGORY_NAMES = {
    "lift": N_("Lift"), "water": N_("Water"), "electricity": N_("Electricity"),
    "cleaning": N_("Cleaning"), "greening": N_("Greening"), "security": N_("Security"),
    "parking": N_("Parking"), "other": N_("Other"),
}
AREA_NAMES = {
    "lobby": N_("Lobby"), "lift": N_("Lift"), "stairwell": N_("Stairwell"),
    "garage": N_("Garage"), "garden": N_("Garden"), "gate": N_("Gate"), "roof": N_("Roof"),
}
STATUS_NAMES = {
    ReportStatus.NEW: N_("new"), ReportStatus.ACKNOWLEDGED: N_("acknowledged"),
    ReportStatus.IN_PROGRESS: N_("being worked on"), ReportStatus.RESOLVED: N_("resolved"),
    ReportStatus.CLOSED: N_("closed"), ReportStatus.REJECTED: N_("rejected"),
    ReportStatus.DUPLICATE: N_("a duplicate"), ReportStatus.REOPENED: N_("reopened"),
}
HANDLER_ACTIONS = {
    "ack": ReportStatus.ACKNOWLEDGED, "start": ReportStatus.IN_PROGRESS,
    "resolve": ReportStatus.RESOLVED, "reject": ReportStatus.REJECTED,
}


def _name(table: dict[str, str], key: str, _: Translator) -> str:
    return _(table[key]) if key in table else key


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
    buttons = [InlineKeyboardButton(_name(CATEGORY_NAMES, c, _), callback_data=f"rp:c:{c}")
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
    if len(draft["photos"]) >= 10:
        return PHOTOS
    draft["photos"].append(message.photo[-1].file_id)
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
    areas = [InlineKeyboardButton(_name(AREA_NAMES, a, _), callback_data=f"rp:w:a:{i}")
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
        draft.update(where=_name(AREA_NAMES, areas[int(parts[3])], _), unit=None)
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
        _("Kind: {category}").format(category=_name(CATEGORY_NAMES, draft["category"], _)),
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
    ack_due, resolve_due = limits_for(services.settings, report.category).due(now)
    await services.scheduler.schedule(kind=ACK_LIMIT, key=str(report.id), due_at=ack_due,
                                      payload={"report": report.id})
    await services.scheduler.schedule(kind=RESOLVE_LIMIT, key=str(report.id),
                                      due_at=resolve_due, payload={"report": report.id})
    # A reminder to the handlers a quarter of the way before each limit (at most 2 hours).
    for kind, due in ((ACK_SOON, ack_due), (RESOLVE_SOON, resolve_due)):
        lead = min(timedelta(hours=2), (due - now) / 4)
        await services.scheduler.schedule(kind=kind, key=str(report.id), due_at=due - lead,
                                          payload={"report": report.id})
    await flow_reply(update, _("Thank you! Your report is {ref}. The handlers have it; I will "
                               "tell you of every change.").format(ref=report.ref) + "\n\n"
                     + _summary(draft, _).split("\n", 1)[1])
    await _route(context, community, report)
    if services.settings.reports.post_to_group:
        await _post_in_group(context, community, report)
    return ConversationHandler.END


# --- routing and handling ----------------------------------------------------------------


async def handler_ids(context: YishiContext, community: Community) -> list[int]:
    """Who handles reports: people with the handler role, else the moderators."""
    async with context.services.db.transaction() as conn:
        handlers_ = await memberships.with_role(conn, community.id, Role.HANDLER)
    return handlers_ or await moderator_ids(context, community)


async def _card(context: YishiContext, report: Report, _: Translator, *,
                for_group: bool = False) -> str:
    """A report as handlers see it; in the group, a private unit and an anonymous reporter
    are never shown."""
    where = report.where_text
    if for_group and report.unit_id is not None:
        where = _("a home in the building")
    reporter = _("anonymous")
    if not report.anonymous and report.reporter_id is not None:
        async with context.services.db.transaction() as conn:
            person = await people.get(conn, report.reporter_id)
        reporter = person.name if person else "?"
    async with context.services.db.transaction() as conn:
        count = len(await store.photos(conn, report.id))
        followers = len(await store.followers(conn, report.id))
    lines = [f"<b>{report.ref} · {_name(CATEGORY_NAMES, report.category, _)}</b>",
             html.escape(report.description),
             _("Where: {where}").format(where=html.escape(where)),
             _("Reported by {name}").format(name=html.escape(reporter)),
             _("Status: {status}").format(status=_(STATUS_NAMES[report.status]))]
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
    if not rows:
        return None
    return InlineKeyboardMarkup([rows[i:i + 2] for i in range(0, len(rows), 2)])


async def _route(context: YishiContext, community: Community, report: Report) -> None:
    """Send the new report, with its first photo, to each handler who can be reached."""
    copies: list[list[int]] = []
    recipients = await handler_ids(context, community)
    async with context.services.db.transaction() as conn:
        reachable = [p for p in (await people.names(conn, recipients)).values() if p.started]
        first_photo = (await store.photos(conn, report.id))[:1]
    for person in reachable:
        _ = translator(person.reads(context.services.default_language))
        text = await _card(context, report, _)
        try:
            if first_photo:
                sent = await context.bot.send_photo(person.user_id, first_photo[0],
                                                    caption=text[:1000],
                                                    reply_markup=_handler_buttons(report, _))
            else:
                sent = await context.bot.send_message(person.user_id, text,
                                                      reply_markup=_handler_buttons(report, _))
        except Forbidden:
            continue
        copies.append([sent.chat_id, sent.message_id])
    async with context.services.db.transaction() as conn:
        await store.set_notices(conn, report.id, copies)
    if not copies:
        _ = translator(community.language)
        await context.bot.send_message(
            community.chat_id,
            _("A new report waits for a handler. Handlers and moderators: start a private chat "
              "with me to receive reports."),
            reply_markup=private_link(context, "group", community, _("Talk to me in private")))


async def _post_in_group(context: YishiContext, community: Community, report: Report) -> None:
    _ = translator(community.language)
    sent = await context.bot.send_message(
        community.chat_id, await _card(context, report, _, for_group=True),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Me too"), callback_data=f"rm:{report.id}")]]))
    async with context.services.db.transaction() as conn:
        await store.set_post(conn, report.id, sent.chat_id, sent.message_id)


async def _load(context: YishiContext, data: str | None) -> tuple[Report | None,
                                                                 Community | None]:
    parts = (data or "").split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    async with context.services.db.transaction() as conn:
        report = await store.get(conn, int(parts[1]))
        community = await communities.by_id(conn, report.community_id) if report else None
    return report, community


async def _may_handle(context: YishiContext, community: Community, user_id: int) -> bool:
    role = await user_role(context, community, user_id)
    return role in (Role.HANDLER, Role.MODERATOR)


async def handler_button(update: Update, context: YishiContext) -> int:
    """Acknowledge / Start work at once; Resolved and Reject ask for a note first."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    action = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None or action not in HANDLER_ACTIONS:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if not await _may_handle(context, community, user.id):
        await refuse(update, context, N_("Sorry, only the building's handlers can do that. "
                                         "Nothing was changed."))
        return ConversationHandler.END
    target = HANDLER_ACTIONS[action]
    _ = await person_translator(update, context)
    if not can_move(report.status, target):
        await query.answer(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])), show_alert=True)
        return ConversationHandler.END
    if target in (ReportStatus.RESOLVED, ReportStatus.REJECTED):
        context.user_data["report_note"] = {"report": report.id, "status": target.value}
        await query.answer()
        await update.effective_chat.send_message(
            _("What was done? Reply with a short note for the reporter (you may attach an "
              "“after” photo with it). /cancel to stop.") if target is ReportStatus.RESOLVED
            else _("Why is it rejected? Not ours, a duplicate of R-…, or not a problem? "
                   "Reply with the reason. /cancel to stop."))
        return HANDLER_NOTE
    await query.answer(_("{ref} is now {status}.").format(ref=report.ref,
                                                         status=_(STATUS_NAMES[target])))
    await change_status(context, report, community, target, actor=user.id)
    return ConversationHandler.END


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
            or not await _may_handle(context, community, user.id):
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    note = (message.text or message.caption or "").strip()[:500]
    target = ReportStatus(pending["status"])
    if message.photo and target is ReportStatus.RESOLVED:
        async with context.services.db.transaction() as conn:
            await store.add_photo(conn, report.id, message.photo[-1].file_id, after=True)
    if not await change_status(context, report, community, target, actor=user.id, note=note):
        await message.reply_text(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])))
        return ConversationHandler.END
    await message.reply_text(_("{ref} is now {status}.").format(ref=report.ref,
                                                               status=_(STATUS_NAMES[target])))
    return ConversationHandler.END


async def change_status(context: YishiContext, report: Report, community: Community,
                        target: ReportStatus, *, actor: int | None,
                        note: str | None = None) -> bool:
    """Move the report, record it on the timeline, and tell everyone who follows it."""
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        moved = await store.move(conn, report.id, from_status=report.status, to_status=target,
                                 actor_id=actor, now=now, note=note)
        updated = await store.get(conn, report.id)
    if not moved or updated is None:
        return False
    await _tell(context, updated, note)
    await _refresh_copies(context, updated, community)
    if target is ReportStatus.RESOLVED:
        await _ask_if_fixed(context, updated)
        await services.scheduler.schedule(
            kind=CONFIRM_WAIT, key=str(report.id),
            due_at=now + timedelta(days=services.settings.reports.confirm_days),
            payload={"report": report.id})
    return True


async def _tell(context: YishiContext, report: Report, note: str | None) -> None:
    """The reporter and the followers hear of the change, each in their language."""
    async with context.services.db.transaction() as conn:
        followers = await store.followers(conn, report.id)
        known = await people.names(conn, [u for u in [report.reporter_id, *followers] if u])
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(context.services.default_language))
        text = _("{ref} ({category}) is now {status}.").format(
            ref=report.ref, category=_name(CATEGORY_NAMES, report.category, _),
            status=_(STATUS_NAMES[report.status]))
        if note:
            text += "\n" + _("Note: {note}").format(note=html.escape(_(note)))
        try:
            await context.bot.send_message(person.user_id, text)
        except Forbidden:
            continue


async def _refresh_copies(context: YishiContext, report: Report, community: Community) -> None:
    """Handlers' copies show the new status and the buttons that still make sense; the
    group post shows the status."""
    with_photo = await _is_photo(context, report)
    for chat_id, message_id in report.notices:
        _ = await copy_language(context, community, chat_id)
        text = await _card(context, report, _)
        try:
            if with_photo:
                await context.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=text[:1000],
                    reply_markup=_handler_buttons(report, _))
            else:
                await context.bot.edit_message_text(text, chat_id=chat_id,
                                                    message_id=message_id,
                                                    reply_markup=_handler_buttons(report, _))
        except BadRequest:
            pass
    if report.post_message_id is not None:
        _ = translator(community.language)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Me too"), callback_data=f"rm:{report.id}")]]) \
            if report.status in OPEN_STATUSES else None
        try:
            await context.bot.edit_message_text(
                await _card(context, report, _, for_group=True), chat_id=report.post_chat_id,
                message_id=report.post_message_id, reply_markup=markup)
        except BadRequest:
            pass


async def _is_photo(context: YishiContext, report: Report) -> bool:
    async with context.services.db.transaction() as conn:
        return bool(await store.photos(conn, report.id))


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


async def _ask_if_fixed(context: YishiContext, report: Report) -> None:
    if report.reporter_id is None:
        return
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, report.reporter_id)
    if person is None or not person.started:
        return
    _ = translator(person.reads(context.services.default_language))
    try:
        await context.bot.send_message(
            person.user_id, _("Is {ref} really fixed?").format(ref=report.ref),
            reply_markup=InlineKeyboardMarkup([
                [InlineKeyboardButton(_("Yes, fixed"), callback_data=f"rf:{report.id}:yes"),
                 InlineKeyboardButton(_("No, not fixed"), callback_data=f"rf:{report.id}:no")],
                [InlineKeyboardButton("⭐" * n, callback_data=f"rr:{report.id}:{n}")
                 for n in range(1, 6)],
            ]))
    except Forbidden:
        log.info("reporter unreachable for the follow-up", extra={"report": report.id})


async def fixed_answer(update: Update, context: YishiContext) -> None:
    """The reporter's answer: yes closes the report, no reopens it and tells the handlers."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    answer = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None or report.reporter_id != user.id \
            or answer not in ("yes", "no"):
        await refuse(update, context, N_("This button is out of date."))
        return
    _ = await person_translator(update, context)
    if report.status is not ReportStatus.RESOLVED:
        await query.answer(_("{ref} is already {status}.").format(
            ref=report.ref, status=_(STATUS_NAMES[report.status])), show_alert=True)
        return
    if answer == "yes":
        await change_status(context, report, community, ReportStatus.CLOSED, actor=user.id,
                            note=N_("Confirmed fixed by the reporter."))
        now = context.services.clock.now()
        async with context.services.db.transaction() as conn:
            await award(conn, context.services.settings.points, community, user_id=user.id,
                        action=Action.REPORT_CONFIRMED_FIXED, ref=f"report:{report.id}",
                        now=now)
        await query.answer(_("Thank you! {ref} is closed.").format(ref=report.ref))
    else:
        await change_status(context, report, community, ReportStatus.REOPENED, actor=user.id,
                            note=N_("The reporter says it is not fixed."))
        await query.answer(_("{ref} is reopened; the handlers are told.").format(
            ref=report.ref))
        await _notify_handlers_reopened(context, community, report)
    await query.edit_message_reply_markup(None)


async def _notify_handlers_reopened(context: YishiContext, community: Community,
                                    report: Report) -> None:
    recipients = await handler_ids(context, community)
    async with context.services.db.transaction() as conn:
        known = await people.names(conn, recipients)
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(context.services.default_language))
        try:
            await context.bot.send_message(person.user_id, _(
                "{ref} was reopened: the reporter says it is not fixed.").format(ref=report.ref))
        except Forbidden:
            continue


async def rating(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    report, community = await _load(context, query.data)
    stars = (query.data or "").rsplit(":", 1)[-1]
    if report is None or community is None or report.reporter_id != user.id \
            or stars not in {"1", "2", "3", "4", "5"}:
        await refuse(update, context, N_("This button is out of date."))
        return
    async with context.services.db.transaction() as conn:
        await store.record_note(conn, report.id, actor_id=user.id,
                                note=f"rating:{stars}", now=context.services.clock.now())
    _ = await person_translator(update, context)
    await query.answer(_("Thank you for rating it {stars} of 5.").format(stars=stars))


# --- time limits and the follow-up's deadline --------------------------------------------------


async def _escalate(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...],
                    msgid: str) -> Outcome:
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None or report.status not in still:
        return Done()  # handled in time
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    recipients = await moderator_ids(YishiContext(app), community)
    async with services.db.transaction() as conn:
        known = await people.names(conn, recipients)
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(services.default_language))
        try:
            await app.bot.send_message(person.user_id, _(msgid).format(
                ref=report.ref, category=_name(CATEGORY_NAMES, report.category, _),
                status=_(STATUS_NAMES[report.status]), group=html.escape(community.title)))
        except Forbidden:
            continue
    return Done()


async def _remind_handlers(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...],
                           msgid: str) -> Outcome:
    """Before a limit passes: the handler who took the report (else every handler) hears."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
        events = await store.timeline(conn, report.id) if report else []
    if report is None or community is None or report.status not in still:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    took = [e.actor_id for e in events if e.status in (ReportStatus.ACKNOWLEDGED,
                                                       ReportStatus.IN_PROGRESS) and e.actor_id]
    recipients = took[-1:] or await handler_ids(YishiContext(app), community)
    async with services.db.transaction() as conn:
        known = await people.names(conn, recipients)
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(services.default_language))
        try:
            await app.bot.send_message(person.user_id, _(msgid).format(
                ref=report.ref, category=_name(CATEGORY_NAMES, report.category, _),
                status=_(STATUS_NAMES[report.status])))
        except Forbidden:
            continue
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
    return await _escalate(app, work, OPEN_STATUSES, N_(
        "Overdue in {group}: {ref} ({category}) was not resolved in time; it is {status}."))


async def confirm_wait(app: YishiApp, work: DueWork) -> Outcome:
    """No answer to "is it fixed?" within confirm_days: closed as resolved, unconfirmed."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None or report.status is not ReportStatus.RESOLVED:
        return Done()
    # System notes are stored as their English source and translated for each reader.
    await change_status(YishiContext(app), report, community, ReportStatus.CLOSED, actor=None,
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
        await _open_reports(update, context, overdue_only=which == "overdue")
        return
    async with context.services.db.transaction() as conn:
        mine = await store.of_reporter(conn, user.id)
    if not mine:
        await message.reply_text(_("You have not reported anything yet. Send /report to report "
                                   "a problem."))
        return
    lines = [_("<b>Your reports</b>")] + [
        f"{r.ref} · {_name(CATEGORY_NAMES, r.category, _)} · {_(STATUS_NAMES[r.status])}"
        for r in mine]
    await message.reply_text("\n".join(lines))


async def _open_reports(update: Update, context: YishiContext, *, overdue_only: bool) -> None:
    """Open reports of the buildings this person handles, most followed first."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    services = context.services
    now = services.clock.now()
    blocks = []
    for community in await communities_of(context, user.id):
        if not await _may_handle(context, community, user.id):
            continue
        async with services.db.transaction() as conn:
            listed = [(r, len(await store.followers(conn, r.id)))
                      for r in await store.open_in(conn, community.id)]
        if overdue_only:
            listed = [(r, n) for r, n in listed if overdue(
                r.status, r.created_at, limits_for(services.settings, r.category), now)]
        lines = [_("<b>Open reports in {group}</b>").format(group=html.escape(community.title))
                 if not overdue_only else
                 _("<b>Overdue reports in {group}</b>").format(
                     group=html.escape(community.title))]
        for report, followers in sorted(listed, key=lambda item: (-item[1],
                                                                  item[0].created_at)):
            lines.append(f"{report.ref} · {_name(CATEGORY_NAMES, report.category, _)} · "
                         f"{_(STATUS_NAMES[report.status])}"
                         + (f" · +{followers}" if followers else ""))
        if not listed:
            lines.append(_("None."))
        blocks.append("\n".join(lines))
    if not blocks:
        await message.reply_text(_("Sorry, only the building's handlers can do that. "
                                   "Nothing was changed."))
        return
    await message.reply_text("\n\n".join(blocks))


async def show_report(update: Update, context: YishiContext, number: int) -> None:
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    found = None
    for community in await communities_of(context, user.id):
        async with context.services.db.transaction() as conn:
            report = await store.by_number(conn, community.id, number)
        if report is not None and (report.reporter_id == user.id
                                   or await _may_handle(context, community, user.id)):
            found = (report, community)
            break
    if found is None:
        await message.reply_text(_("I know of no such report of yours."))
        return
    report, community = found
    async with context.services.db.transaction() as conn:
        events = await store.timeline(conn, report.id)
    zone = community.timezone
    lines = [await _card(context, report, _), "", _("<b>Timeline</b>")]
    for event in events:
        if event.note and event.note.startswith("rating:"):
            continue
        when = f"{event.at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
        line = f"{when} · {_(STATUS_NAMES[event.status])}"
        if event.note:
            line += f" — {html.escape(_(event.note))}"
        lines.append(line)
    await message.reply_text("\n".join(lines))


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
    app.add_handler(flow(
        app, name="report", command="report",
        entry_points=[
            CommandHandler("report", report_with_reference, filters=private),
            CommandHandler("start", report_from_link,
                           filters=private & F.Regex(payload_pattern("report"))),
        ],
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
    app.add_handler(CallbackQueryHandler(me_too, pattern=r"^rm:"))
    app.add_handler(CallbackQueryHandler(fixed_answer, pattern=r"^rf:"))
    app.add_handler(CallbackQueryHandler(rating, pattern=r"^rr:"))
    app.add_handler(CallbackQueryHandler(stale_report_button, pattern=r"^(rp|rh):"))
    app.add_handler(CommandHandler("reports", my_reports, filters=private))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(ACK_LIMIT, acknowledge_limit)
    scheduler.on(RESOLVE_LIMIT, resolve_limit)
    scheduler.on(CONFIRM_WAIT, confirm_wait)
    scheduler.on(ACK_SOON, acknowledge_soon)
    scheduler.on(RESOLVE_SOON, resolve_soon)


# --- exports ---------------------------------------------------------------------------------

OPEN311_CLOSED = (ReportStatus.RESOLVED, ReportStatus.CLOSED, ReportStatus.REJECTED,
                  ReportStatus.DUPLICATE)


async def export_reports(update: Update, context: YishiContext, community: Community) -> None:
    """/export reports (moderators): CSV, XLSX and Open311 GeoReport v2 JSON, in private."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = translator(community.language)
    services = context.services
    async with services.db.transaction() as conn:
        listed = await store.all_in(conn, community.id)
        details = {r.id: (await store.timeline(conn, r.id), await store.photos(conn, r.id),
                          len(await store.followers(conn, r.id))) for r in listed}
    zone = ZoneInfo(community.timezone)
    header = [_("Reference"), _("Kind"), _("Status"), _("Reported"), _("Updated"), _("Where"),
              _("What"), _("Neighbours affected too"), _("Photos")]
    rows = [[r.ref, _name(CATEGORY_NAMES, r.category, _), _(STATUS_NAMES[r.status]),
             f"{r.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
             f"{r.updated_at.astimezone(zone):%Y-%m-%d %H:%M}", r.where_text, r.description,
             str(details[r.id][2]), str(len(details[r.id][1]))] for r in listed]
    open311 = []
    for r in listed:
        events, photos, _followers = details[r.id]
        notes = [e.note for e in events if e.note and not e.note.startswith("rating:")]
        resolve_by = limits_for(services.settings, r.category).due(r.created_at)[1]
        request: dict[str, Any] = {
            "service_request_id": r.ref,
            "status": "closed" if r.status in OPEN311_CLOSED else "open",
            "status_notes": _(notes[-1]) if notes else None,
            "service_name": _name(CATEGORY_NAMES, r.category, _),
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
