"""/announcements: the list, with pause, resume and delete buttons."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import YishiContext
from bot.domain.announcements import (
    Status,
    next_run,
)
from bot.domain.models import Community, Role
from bot.i18n import N_, Translator, translator
from handlers.announcements import callbacks
from handlers.announcements.create import NOT_MODERATOR
from handlers.announcements.lifecycle import RUN
from handlers.announcements.texts import _when
from handlers.common import (
    ensure_community,
    moderated_by,
    person_translator,
    record_audit,
    refuse,
    role_of,
    user_role,
)
from storage import announcements as store
from storage import communities, due_work


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
                                              callback_data=callbacks.MANAGE.data(a.id, toggle[0])),
                         InlineKeyboardButton(_("Delete #{number}").format(number=a.id),
                                              callback_data=callbacks.MANAGE.data(a.id, "delete"))])
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
        if await role_of(context, community, update) is not Role.MODERATOR:
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
