"""Announcements (/announce, moderators): sent now, once at a local time, or every day,
week or month; pinned if asked; listed, paused and deleted with /announcements.

A moderator's "send now" ignores quiet hours (it is sent by hand); scheduled ones wait
for them to end unless the moderator said otherwise. A run missed while the bot was down
is sent on return if it is at most ``[announcements] grace_minutes`` late, else skipped.

Callback data: ``ac:*`` the creation flow, ``an:<id>:pause|resume|delete`` the list.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from bot.domain.announcements import (
    Announcement,
    Repeat,
    Status,
    from_cron,
    next_run,
    parse_repeat,
    to_cron,
)
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, DueWork, Role
from bot.i18n import N_, Translator, translator
from bot.scheduler import Defer, Done, Outcome
from handlers.common import (
    begin_for_chosen,
    begin_for_moderator,
    begin_from_link,
    ensure_community,
    flow_reply,
    moderated_by,
    person_translator,
    private_link,
    record_audit,
    refuse,
    user_role,
)
from handlers.flows import private_flow
from storage import announcements as store
from storage import communities, due_work, people

log = logging.getLogger(__name__)

CHOOSE, TEXT, WHEN, DETAIL, CONFIRM = range(70, 75)
DRAFT = "announcement"
RUN = "announcement"
TEXT_MAX, CAPTION_MAX = 3500, 1000
NOT_MODERATOR = N_("Only moderators can make announcements. You are not a moderator of any "
                   "group I am in.")

WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                 N_("Saturday"), N_("Sunday"))


def _when(cron: str | None, run_at: datetime | None, community: Community,
          _: Translator) -> str:
    if cron is None:
        if run_at is None:
            return _("now")
        return _("once, {when}").format(
            when=f"{run_at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}")
    schedule = from_cron(cron)
    at = f"{schedule.at:%H:%M}"
    if schedule.repeat is Repeat.DAILY:
        return _("every day at {time}").format(time=at)
    if schedule.repeat is Repeat.WEEKLY:
        assert schedule.weekday is not None
        return _("every {weekday} at {time}").format(weekday=_(WEEKDAY_NAMES[schedule.weekday]),
                                                     time=at)
    return _("on day {day} of every month at {time}").format(day=schedule.day, time=at)


# --- creating -------------------------------------------------------------------------------


async def announce_in_group(update: Update, context: YishiContext) -> None:
    """/announce in the group (moderators): written in private."""
    chat, message, user = update.effective_chat, update.effective_message, \
        update.effective_user
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if user is None or message.sender_chat is not None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    await message.reply_text(
        _("Announcements are written in a private chat with me, then sent here."),
        reply_markup=private_link(context, "announce", community, _("Write an announcement")))


async def announce_command(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    return await begin_for_moderator(update, context, begin=_begin, choose_state=CHOOSE,
                                     button_prefix="ac:g:", refusal=NOT_MODERATOR)


async def announce_from_link(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    return await begin_from_link(update, context, begin=_begin, refusal=NOT_MODERATOR)


async def group_chosen(update: Update, context: YishiContext) -> int:
    return await begin_for_chosen(update, context, begin=_begin, choose_state=CHOOSE)


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    context.user_data[DRAFT] = {"community": community.id, "pin": False, "quiet": False}
    _ = await person_translator(update, context)
    await flow_reply(update, _("Send the announcement for {group}: a text, or a photo with a "
                               "caption. /cancel to stop.").format(
        group=html.escape(community.title)))
    return TEXT


async def text_sent(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = context.user_data.get(DRAFT)
    _ = await person_translator(update, context)
    if draft is None:
        return ConversationHandler.END
    text = (message.text or message.caption or "").strip()
    limit = CAPTION_MAX if message.photo else TEXT_MAX
    if not text and not message.photo:
        await message.reply_text(_("Please send a text or a photo."))
        return TEXT
    if len(text) > limit:
        await message.reply_text(_("That is {length} characters; please keep it under "
                                   "{limit}.").format(length=len(text), limit=limit))
        return TEXT
    draft["text"] = text
    draft["photo"] = message.photo[-1].file_id if message.photo else None
    await message.reply_text(_("When should it go out?"), reply_markup=InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Now"), callback_data="ac:w:now"),
         InlineKeyboardButton(_("Once, later"), callback_data="ac:w:once")],
        [InlineKeyboardButton(_("Every day"), callback_data=f"ac:w:{Repeat.DAILY.value}"),
         InlineKeyboardButton(_("Every week"), callback_data=f"ac:w:{Repeat.WEEKLY.value}"),
         InlineKeyboardButton(_("Every month"),
                              callback_data=f"ac:w:{Repeat.MONTHLY.value}")]]))
    return WHEN


async def when_chosen(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    draft = context.user_data.get(DRAFT)
    mode = (query.data or "").rsplit(":", 1)[-1]
    if draft is None or "text" not in draft or mode not in (
            "now", "once", *(r.value for r in Repeat)):
        await refuse(update, context, N_("This button is out of date."))
        return WHEN
    draft["mode"] = mode
    _ = await person_translator(update, context)
    if mode == "now":
        return await _preview(update, context)
    prompts = {
        "once": _("When? Write the local date and time, like 2026-12-01 09:00."),
        Repeat.DAILY.value: _("At what time each day? For example 08:00."),
        Repeat.WEEKLY.value: _("Which day and time each week? For example mon 08:00 or "
                               "周一 08:00."),
        Repeat.MONTHLY.value: _("Which day of the month (1–28) and time? For example 1 09:00."),
    }
    await flow_reply(update, prompts[mode])
    return DETAIL


async def detail_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = context.user_data.get(DRAFT)
    _ = await person_translator(update, context)
    if draft is None or "mode" not in draft:
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    if community is None:
        return ConversationHandler.END
    text = (message.text or "").strip()
    now = context.services.clock.now()
    if draft["mode"] == "once":
        try:
            at = parse_deadline(text, now, community.timezone, minimum=timedelta(minutes=1),
                                maximum=timedelta(days=366))
        except DeadlineError:
            await message.reply_text(_("Please write a local date and time in the coming year, "
                                       "like 2026-12-01 09:00."))
            return DETAIL
        draft.update(run_at=at.isoformat(), cron=None)
    else:
        schedule = parse_repeat(Repeat(draft["mode"]), text)
        if schedule is None:
            await message.reply_text(_("I could not read that. For example: 08:00 (every day), "
                                       "mon 08:00 (every week), 1 09:00 (every month)."))
            return DETAIL
        draft.update(cron=to_cron(schedule), run_at=None)
    return await _preview(update, context)


def _preview_text(draft: dict[str, Any], community: Community, _: Translator) -> str:
    run_at = datetime.fromisoformat(draft["run_at"]) if draft.get("run_at") else None
    lines = [_("<b>Preview for {group}</b>").format(group=html.escape(community.title)), "",
             html.escape(draft["text"]) if draft["text"] else _("(a photo without text)"), "",
             _("When: {when}").format(when=_when(draft.get("cron"), run_at, community, _)),
             _("Pinned: {answer}").format(answer=_("yes") if draft["pin"] else _("no"))]
    if draft.get("mode") != "now":
        lines.append(_("In quiet hours: {answer}").format(
            answer=_("sent anyway") if draft["quiet"] else _("waits until they end")))
    if draft.get("photo"):
        lines.append(_("With a photo."))
    return "\n".join(lines)


async def _preview(update: Update, context: YishiContext) -> int:
    draft = context.user_data[DRAFT]
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    if community is None:
        return ConversationHandler.END
    rows = [[InlineKeyboardButton(_("Don't pin") if draft["pin"] else _("Pin it"),
                                  callback_data="ac:o:pin")]]
    if draft.get("mode") != "now":
        rows[0].append(InlineKeyboardButton(
            _("Wait for quiet hours to end") if draft["quiet"] else _("Send in quiet hours too"),
            callback_data="ac:o:quiet"))
    rows.append([InlineKeyboardButton(_("Send now") if draft.get("mode") == "now"
                                      else _("Schedule it"), callback_data="ac:go")])
    await flow_reply(update, _preview_text(draft, community, _), InlineKeyboardMarkup(rows))
    return CONFIRM


async def option_toggled(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    draft = context.user_data.get(DRAFT)
    option = (query.data or "").rsplit(":", 1)[-1]
    if draft is None or "mode" not in draft or option not in ("pin", "quiet"):
        await refuse(update, context, N_("This button is out of date."))
        return CONFIRM
    draft[option] = not draft[option]
    return await _preview(update, context)


async def publish(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    services = context.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, (draft or {}).get("community", 0))
    if draft is None or "mode" not in draft or community is None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await flow_reply(update, _("This button is out of date."))
        return ConversationHandler.END
    now = services.clock.now()
    if draft["mode"] == "now":
        first = now
    elif draft.get("cron"):
        first = next_run(draft["cron"], community.timezone, now)
    else:
        first = datetime.fromisoformat(draft["run_at"])
    async with services.db.transaction() as conn:
        made = await store.create(
            conn, community_id=community.id, author_id=user.id, text=draft["text"],
            photo_file_id=draft.get("photo"), cron=draft.get("cron"), run_at=first,
            pin=draft["pin"], in_quiet_hours=draft["quiet"] or draft["mode"] == "now",
            now=now)
    if draft["mode"] == "now":
        # Sent by hand: quiet hours do not apply.
        await _send(context.application, made, community)
        async with services.db.transaction() as conn:
            await store.ran(conn, made.id, now=now, next_run=None)
        await record_audit(context, community, update, "announcement.send",
                           announcement=made.id)
        await flow_reply(update, _("Sent to {group}.").format(group=html.escape(community.title)))
        return ConversationHandler.END
    await services.scheduler.schedule(kind=RUN, key=str(made.id), due_at=first,
                                      payload={"announcement": made.id})
    await record_audit(context, community, update, "announcement.create",
                       announcement=made.id, cron=made.cron)
    await flow_reply(update, _("Scheduled as #{number}: {when}. The first goes out {first}. "
                               "/announcements lists, pauses and deletes them.").format(
        number=made.id, when=_when(made.cron, first, community, _),
        first=f"{first.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"))
    return ConversationHandler.END


# --- sending ----------------------------------------------------------------------------------


async def _send(app: YishiApp, announcement: Announcement, community: Community) -> Message:
    text = html.escape(announcement.text)
    if announcement.photo_file_id:
        sent = await app.bot.send_photo(community.chat_id, announcement.photo_file_id,
                                        caption=text or None)
    else:
        sent = await app.bot.send_message(community.chat_id, text)
    if announcement.pin:
        try:
            await app.bot.pin_chat_message(community.chat_id, sent.message_id,
                                           disable_notification=True)
        except BadRequest as exc:
            log.warning("announcement not pinned", extra={"announcement": announcement.id,
                                                          "why": str(exc)})
            await _tell_author(app, announcement, community, N_(
                "I sent announcement #{number} to {group} but could not pin it: make me an "
                "administrator there with the right to pin messages."))
    return sent


async def _tell_author(app: YishiApp, announcement: Announcement, community: Community,
                       msgid: str) -> None:
    if announcement.author_id is None:
        return
    async with app.bot_data.services.db.transaction() as conn:
        author = await people.get(conn, announcement.author_id)
    if author is None or not author.started:
        return
    _ = translator(author.reads(app.bot_data.services.default_language))
    try:
        await app.bot.send_message(author.user_id, _(msgid).format(
            number=announcement.id, group=html.escape(community.title)))
    except Forbidden:
        pass


async def run(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``announcement``: send this run (or skip it if it is too late), then arm
    the next one."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        announcement = await store.get(conn, work.payload["announcement"])
        community = await communities.by_id(conn, announcement.community_id) \
            if announcement else None
    if announcement is None or community is None or announcement.status is not Status.ACTIVE:
        return Done()
    now = services.clock.now()
    following = next_run(announcement.cron, community.timezone, now) \
        if announcement.cron else None
    grace = timedelta(minutes=services.settings.announcements.grace_minutes)
    if now - work.due_at > grace or not community.active:
        log.warning("announcement run skipped", extra={
            "announcement": announcement.id, "due": work.due_at.isoformat(),
            "late_minutes": int((now - work.due_at).total_seconds() // 60)})
        async with services.db.transaction() as conn:
            await store.skipped(conn, announcement.id, next_run=following)
        return Defer(following) if following else Done()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None and not announcement.in_quiet_hours:
        return Defer(quiet_until)
    await _send(app, announcement, community)
    async with services.db.transaction() as conn:
        await store.ran(conn, announcement.id, now=now, next_run=following)
    return Defer(following) if following else Done()


# --- listing, pausing, deleting ------------------------------------------------------------


async def _listing(context: YishiContext, mine: list[Community],
                   _: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    blocks, rows = [], []
    for community in mine:
        async with context.services.db.transaction() as conn:
            listed = await store.of_community(conn, community.id)
        lines = [_("<b>Announcements of {group}</b>").format(
            group=html.escape(community.title))]
        for a in listed:
            state = _("paused") if a.status is Status.PAUSED else _("next {when}").format(
                when=f"{a.run_at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"
                if a.run_at else "—")
            excerpt = a.text[:40] + ("…" if len(a.text) > 40 else "")
            lines.append(f"#{a.id} · {_when(a.cron, a.run_at, community, _)} · {state}"
                         + (" · 📌" if a.pin else "") + f"\n    {html.escape(excerpt)}")
            toggle = ("resume", _("Resume #{number}")) if a.status is Status.PAUSED \
                else ("pause", _("Pause #{number}"))
            rows.append([InlineKeyboardButton(toggle[1].format(number=a.id),
                                              callback_data=f"an:{a.id}:{toggle[0]}"),
                         InlineKeyboardButton(_("Delete #{number}").format(number=a.id),
                                              callback_data=f"an:{a.id}:delete")])
        if not listed:
            lines.append(_("None scheduled. /announce makes one."))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)[:4096], InlineKeyboardMarkup(rows[:30]) if rows else None


async def list_command(update: Update, context: YishiContext) -> None:
    """/announcements: in the group, its own; in private, those of every group the person
    moderates."""
    chat, message, user = update.effective_chat, update.effective_message, \
        update.effective_user
    assert chat is not None and message is not None
    if chat.type == "private":
        assert user is not None
        mine = await moderated_by(context, user.id)
        _ = await person_translator(update, context)
    else:
        community = await ensure_community(context, chat)
        _ = translator(community.language)
        if user is None or message.sender_chat is not None \
                or await user_role(context, community, user.id) is not Role.MODERATOR:
            await message.reply_text(_("Sorry, only the group's moderators can do that. "
                                       "Nothing was changed."))
            return
        mine = [community]
    if not mine:
        await message.reply_text(_(NOT_MODERATOR))
        return
    text, markup = await _listing(context, mine, _)
    await message.reply_text(text, reply_markup=markup)


async def manage_button(update: Update, context: YishiContext) -> None:
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    parts = (query.data or "").split(":")
    action = parts[-1]
    services = context.services
    async with services.db.transaction() as conn:
        announcement = await store.get(conn, int(parts[1])) if parts[1].isdigit() else None
        community = await communities.by_id(conn, announcement.community_id) \
            if announcement else None
    if announcement is None or community is None \
            or action not in ("pause", "resume", "delete"):
        await refuse(update, context, N_("This button is out of date."))
        return
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return
    _ = await person_translator(update, context)
    now = services.clock.now()
    changed = False
    async with services.db.transaction() as conn:
        if action == "pause":
            changed = await store.set_status(conn, announcement.id, from_status=Status.ACTIVE,
                                             to_status=Status.PAUSED)
        elif action == "delete" and announcement.status in (Status.ACTIVE, Status.PAUSED):
            changed = await store.set_status(conn, announcement.id,
                                             from_status=announcement.status,
                                             to_status=Status.DELETED)
        elif action == "resume" and announcement.status is Status.PAUSED:
            upcoming = next_run(announcement.cron, community.timezone, now) \
                if announcement.cron else announcement.run_at
            if upcoming is None or upcoming <= now:
                await query.answer(_("Its time has passed; delete it or make a new one."),
                                   show_alert=True)
                return
            changed = await store.set_status(conn, announcement.id, from_status=Status.PAUSED,
                                             to_status=Status.ACTIVE, run_at=upcoming)
            if changed:
                await due_work.schedule(conn, kind=RUN, key=str(announcement.id),
                                        due_at=upcoming, now=now,
                                        payload={"announcement": announcement.id})
        if changed and action in ("pause", "delete"):
            await due_work.cancel(conn, kind=RUN, key=str(announcement.id))
    if not changed:
        await refuse(update, context, N_("This button is out of date."))
        return
    await record_audit(context, community, update, f"announcement.{action}",
                       announcement=announcement.id)
    await query.answer({"pause": _("Paused."), "resume": _("Resumed."),
                        "delete": _("Deleted.")}[action])
    mine = [community] if chat.type != "private" else await moderated_by(context, user.id)
    text, markup = await _listing(context, mine, _)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest:
        pass


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("announce", announce_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="announce", command="announce", start=announce_command,
        from_link=announce_from_link, link="announce",
        states={
            CHOOSE: [CallbackQueryHandler(group_chosen, pattern=r"^ac:g:\d+$")],
            TEXT: [MessageHandler(typed | F.PHOTO, text_sent)],
            WHEN: [CallbackQueryHandler(when_chosen, pattern=r"^ac:w:\w+$")],
            DETAIL: [MessageHandler(typed, detail_typed)],
            CONFIRM: [CallbackQueryHandler(option_toggled, pattern=r"^ac:o:\w+$"),
                      CallbackQueryHandler(publish, pattern=r"^ac:go$")],
        },
    ))
    app.add_handler(CommandHandler("announcements", list_command))
    app.add_handler(CallbackQueryHandler(manage_button, pattern=r"^an:\d+:\w+$"))
    app.add_handler(CallbackQueryHandler(
        lambda u, c: refuse(u, c, N_("This button is out of date.")), pattern=r"^(ac|an):"))
    app.bot_data.services.scheduler.on(RUN, run)
