"""/announce: a moderator writes an announcement in private and chooses when it goes
(now, once, every day, week or month) and whether it is pinned."""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.announcements import (
    Repeat,
    next_run,
    parse_repeat,
    to_cron,
)
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, Role
from bot.i18n import N_, translator
from handlers.announcements import callbacks
from handlers.announcements.lifecycle import RUN, run_messages
from handlers.announcements.texts import _preview_text, _when
from handlers.common import (
    ANONYMOUS_CONTINUE,
    audit_in,
    begin_for_chosen,
    begin_for_moderator,
    begin_from_link,
    date_examples,
    ensure_community,
    flow_reply,
    is_anonymous_admin,
    person_translator,
    private_link,
    record_audit,
    refuse,
    role_of,
    time_problem,
    user_role,
)
from storage import announcements as store
from storage import communities, outbox

CHOOSE, TEXT, WHEN, DETAIL, CONFIRM = range(70, 75)


# A day typed without a time of day means this time that day.
SEND_TIME = time(9, 0)

DRAFT = "announcement"


TEXT_MAX, CAPTION_MAX = 3500, 1000


NOT_MODERATOR = N_("Only moderators can make announcements. You are not a moderator of any "
                   "group I am in.")


async def announce_in_group(update: Update, context: YishiContext) -> None:
    """/announce in the group (moderators): written in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if await role_of(context, community, update) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    text = _("Announcements are written in a private chat with me, then sent here.")
    if is_anonymous_admin(update, community):
        text = _("{first} {then}").format(first=text, then=_(ANONYMOUS_CONTINUE))
    await message.reply_text(text, reply_markup=private_link(
        context, "announce", community, _("Write an announcement")))


async def announce_command(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    return await begin_for_moderator(update, context, begin=_begin, choose_state=CHOOSE,
                                     choose=callbacks.CREATE_FOR,
                                     refusal=NOT_MODERATOR)


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
        [InlineKeyboardButton(_("Now"), callback_data=callbacks.WHEN.data("now")),
         InlineKeyboardButton(_("Once, later"), callback_data=callbacks.WHEN.data("once"))],
        [InlineKeyboardButton(_("Every day"),
                              callback_data=callbacks.WHEN.data(Repeat.DAILY.value)),
         InlineKeyboardButton(_("Every week"),
                              callback_data=callbacks.WHEN.data(Repeat.WEEKLY.value)),
         InlineKeyboardButton(_("Every month"),
                              callback_data=callbacks.WHEN.data(Repeat.MONTHLY.value))]]))
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
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    zone = community.timezone if community else context.services.settings.community.timezone
    prompts = {
        "once": _("When? Type the local date and time ({examples}).").format(
            examples=date_examples(_, context.services.clock.now(), zone, at=SEND_TIME)),
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
                                maximum=timedelta(days=366), default_time=SEND_TIME)
        except DeadlineError as exc:
            await message.reply_text(time_problem(_, exc.code, now, community.timezone,
                                                  at=SEND_TIME))
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


async def _preview(update: Update, context: YishiContext) -> int:
    draft = context.user_data[DRAFT]
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    if community is None:
        return ConversationHandler.END
    rows = [[InlineKeyboardButton(_("Don't pin") if draft["pin"] else _("Pin it"),
                                  callback_data=callbacks.OPTION.data("pin"))]]
    if draft.get("mode") != "now":
        rows[0].append(InlineKeyboardButton(
            _("Wait for quiet hours to end") if draft["quiet"] else _("Send in quiet hours too"),
            callback_data=callbacks.OPTION.data("quiet")))
    rows.append([InlineKeyboardButton(_("Send now") if draft.get("mode") == "now"
                                      else _("Schedule it"),
                                          callback_data=callbacks.PUBLISH.data())])
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
            # Sent by hand (quiet hours do not apply), with its record and its audit line.
            await outbox.queue(conn, run_messages(made, community, now), now)
            await store.ran(conn, made.id, now=now, next_run=None)
            await audit_in(conn, context, community, update, "announcement.send",
                           announcement=made.id)
    if draft["mode"] == "now":
        services.outbox.kick()
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
