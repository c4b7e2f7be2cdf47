"""A moderator's decisions on a topic: approve, reject with a reason, merge into a
duplicate, select for a vote or a meeting, mark urgent."""

from __future__ import annotations

import html
import secrets
from datetime import time, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, Role
from bot.domain.topics import (
    AWAITING_OUTCOME,
    LISTED,
    Topic,
    TopicStatus,
    moves_into,
)
from bot.i18n import N_
from handlers.common import (
    audit_in,
    date_examples,
    person_translator,
    record_audit,
    refuse,
    time_problem,
    user_role,
)
from handlers.topics import callbacks
from handlers.topics.jobs import ensure_roundup_in
from handlers.topics.lifecycle import (
    _close_moderation,
    _load,
    _select,
    _topic_id,
    group_post,
    post_update,
    refresh_post,
    told,
    told_everyone,
)
from handlers.topics.texts import STATUS_NAMES, _done_text
from storage import outbox
from storage import topics as store

REASON, MEETING_DATE = range(10, 12)
# A meeting day typed without a time of day means this time that day.
MEETING_TIME = time(19, 30)
# A moderator closes a topic from the list or after its meeting (one in a vote ends with
# the vote, or goes back to the list when the poll is cancelled).
CLOSABLE = (TopicStatus.OPEN, *AWAITING_OUTCOME)


async def _as_moderator(update: Update, context: YishiContext, topic: Topic | None,
                        community: Community | None,
                        expected: tuple[TopicStatus, ...]) -> bool:
    """The guard for every moderation button: a real topic, in the right state, pressed by
    one of its community's moderators. Refuses politely otherwise."""
    user = update.effective_user
    if topic is None or community is None or user is None:
        await refuse(update, context, N_("This button is out of date."))
        return False
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return False
    if topic.status not in expected:
        _ = await person_translator(update, context)
        await update.callback_query.answer(
            _("{ref} is already {status}.").format(ref=topic.ref,
                                                   status=_(STATUS_NAMES[topic.status])),
            show_alert=True)
        return False
    return True


async def approve(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community, (TopicStatus.PENDING,)):
        return
    assert topic is not None and community is not None
    services = context.services
    now = services.clock.now()
    # One transaction: the topic opens, the audit says who opened it, and its post in the
    # group and the word to its author are queued (a crash after it loses neither).
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=TopicStatus.PENDING,
                                 to_status=TopicStatus.OPEN, now=now)
        if moved:
            await audit_in(conn, context, community, update, "topic.approve", topic=topic.id)
            await ensure_roundup_in(conn, services, community)
            await outbox.queue(conn, [
                await group_post(conn, community, topic.id),
                *await told(conn, services, topic, [topic.author_id], N_(
                    "Your topic {ref} “{title}” was approved and posted in the group, where "
                    "neighbours can support it."))], now)
    if not moved:
        await refuse(update, context, N_("This button is out of date."))
        return
    services.outbox.kick()
    await query.answer(await _done_text(update, context, N_("Approved.")))
    await _close_moderation(context, topic.id, update, N_("✅ Approved by {name}"))


async def merge_choices(update: Update, context: YishiContext) -> None:
    """Merge into…: offer the community's open topics."""
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community, (TopicStatus.PENDING,)):
        return
    assert topic is not None
    async with context.services.db.transaction() as conn:
        targets = [t for t, _n in await store.listed(conn, topic.community_id, LISTED)]
    _ = await person_translator(update, context)
    if not targets:
        await query.answer(_("There is no open topic to merge it into."), show_alert=True)
        return
    await query.answer()
    buttons = [[InlineKeyboardButton(f"{t.ref} {t.title}"[:60],
                                     callback_data=callbacks.MERGE_INTO.data(topic.id, t.id))]
               for t in sorted(targets, key=lambda t: -t.number)[:20]]
    await query.message.reply_text(_("Merge {ref} into which topic?").format(ref=topic.ref),
                                   reply_markup=InlineKeyboardMarkup(buttons))


async def merge(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community, (TopicStatus.PENDING,)):
        return
    assert topic is not None and community is not None
    target, _c = await _load(_topic_id(query.data, 2) or 0, context)
    if target is None or target.community_id != topic.community_id \
            or target.status not in LISTED or target.id == topic.id:
        await refuse(update, context, N_("This button is out of date."))
        return
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=TopicStatus.PENDING,
                                 to_status=TopicStatus.MERGED, now=now, merged_into=target.id)
        if moved:
            await store.move_supports(conn, topic.id, target.id, now)
            if topic.author_id is not None:
                await store.add_support(conn, target.id, topic.author_id, now)
            await audit_in(conn, context, community, update, "topic.merge", topic=topic.id,
                           into=target.id)
            await outbox.queue(conn, [
                *await post_update(conn, target.id, f"merged:{topic.id}"),
                *await told(conn, context.services, topic, [topic.author_id], N_(
                    "Your topic {ref} “{title}” is about the same thing as {target}, so the "
                    "moderators merged it there; you now support {target}."),
                    target=target.ref)], now)
    if not moved:
        await refuse(update, context, N_("This button is out of date."))
        return
    context.services.outbox.kick()
    _ = await person_translator(update, context)
    await query.answer(_("Merged into {ref}.").format(ref=target.ref))
    await query.edit_message_text(_("Merged {ref} into {target}.").format(
        ref=topic.ref, target=target.ref))
    await _close_moderation(context, topic.id, update, N_("🔀 Merged by {name}"))


async def ask_reason(update: Update, context: YishiContext) -> int:
    """Reject (pending) or Close (selected for the roundup): both need a reason."""
    query = update.callback_query
    assert query is not None
    closing = (query.data or "").startswith("ts:")
    topic, community = await _load(_topic_id(query.data) or 0, context)
    expected = CLOSABLE if closing else (TopicStatus.PENDING,)
    if not await _as_moderator(update, context, topic, community, expected):
        return ConversationHandler.END
    assert topic is not None
    context.user_data["topic_decision"] = {"topic": topic.id, "close": closing}
    _ = await person_translator(update, context)
    await query.answer()
    await query.message.reply_text(
        _("Why? Reply with the reason for {ref}; the author and supporters will read it. "
          "/cancel to stop.").format(ref=topic.ref))
    return REASON


async def reason_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    pending = context.user_data.pop("topic_decision", None)
    if pending is None:
        return ConversationHandler.END
    topic, community = await _load(pending["topic"], context)
    _ = await person_translator(update, context)
    user = update.effective_user
    if topic is None or community is None or user is None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    reason = message.text.strip()[:500]
    source = CLOSABLE if pending["close"] else TopicStatus.PENDING
    target = TopicStatus.CLOSED if pending["close"] else TopicStatus.REJECTED
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=source, to_status=target,
                                 now=now, reason=reason)
        if moved:
            await audit_in(conn, context, community, update,
                           "topic.close" if pending["close"] else "topic.reject",
                           topic=topic.id, reason=reason)
            if pending["close"]:
                owed = [*await told_everyone(conn, services, topic, N_(
                    "{ref} “{title}” was closed by the moderators. Reason: {reason}"),
                    reason=reason), *await post_update(conn, topic.id, "closed")]
            else:
                owed = await told(conn, services, topic, [topic.author_id], N_(
                    "Your topic {ref} “{title}” was not accepted. Reason: {reason}"),
                    reason=reason)
            await outbox.queue(conn, owed, now)
    if not moved:
        await message.reply_text(_("{ref} is already {status}.").format(
            ref=topic.ref, status=_(STATUS_NAMES[topic.status])))
        return ConversationHandler.END
    services.outbox.kick()
    await message.reply_text(_("Done: {ref} is {status}.").format(
        ref=topic.ref, status=_(STATUS_NAMES[target])))
    if not pending["close"]:
        await _close_moderation(context, topic.id, update, N_("❌ Rejected by {name}"))
    return ConversationHandler.END


async def ask_meeting_date(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community, (TopicStatus.OPEN,)):
        return ConversationHandler.END
    assert topic is not None
    context.user_data["topic_meeting"] = topic.id
    _ = await person_translator(update, context)
    await query.answer()
    await query.message.reply_text(_("When is the meeting? Reply with a date and time ("
                                     "{examples}). /cancel to stop.").format(
        examples=date_examples(_, context.services.clock.now(), community.timezone,
                               at=MEETING_TIME)))
    return MEETING_DATE


async def meeting_date_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    topic, community = await _load(context.user_data.get("topic_meeting", 0), context)
    if topic is None or community is None:
        return ConversationHandler.END
    now = context.services.clock.now()
    try:
        when = parse_deadline(message.text.strip(), now, community.timezone,
                              minimum=timedelta(minutes=1), maximum=timedelta(days=366),
                              default_time=MEETING_TIME)
    except DeadlineError as exc:
        await message.reply_text(time_problem(_, exc.code, now, community.timezone,
                                              at=MEETING_TIME))
        return MEETING_DATE
    context.user_data.pop("topic_meeting", None)
    await _select(update, context, topic, community, TopicStatus.SELECTED_MEETING,
                  meeting_at=when)
    return ConversationHandler.END


async def select_for_vote(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community,
                               moves_into(TopicStatus.SELECTED_VOTE)):
        return
    assert topic is not None and community is not None
    await query.answer()
    await _select(update, context, topic, community, TopicStatus.SELECTED_VOTE)


async def after_meeting(update: Update, context: YishiContext) -> None:
    """What came of the meeting: agreed there (the topic is decided) or back on the list."""
    query = update.callback_query
    assert query is not None
    parsed = callbacks.SELECT.parse(query.data)
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if parsed is None or not await _as_moderator(update, context, topic, community,
                                                 AWAITING_OUTCOME):
        return
    assert topic is not None and community is not None
    target = TopicStatus.DECIDED if parsed[1] == "agreed" else TopicStatus.OPEN
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=AWAITING_OUTCOME,
                                 to_status=target, now=now)
        if moved:
            await audit_in(conn, context, community, update, f"topic.{target.value}",
                           topic=topic.id)
            if target is TopicStatus.DECIDED:
                owed = await told_everyone(conn, services, topic, N_(
                    "{ref} “{title}” was agreed at the meeting."))
            else:
                owed = await told_everyone(conn, services, topic, N_(
                    "{ref} “{title}” was discussed at the meeting and is back on the list "
                    "of open topics, where it can still be supported."))
            await outbox.queue(conn, [*owed, *await post_update(
                conn, topic.id, f"met:{secrets.token_hex(4)}")], now)
    _ = await person_translator(update, context)
    if not moved:
        await refuse(update, context, N_("This button is out of date."))
        return
    services.outbox.kick()
    await query.answer()
    name = update.effective_user.full_name if update.effective_user else "?"
    await query.edit_message_text(_("{ref} “{title}”: {outcome} ({name}).").format(
        ref=topic.ref, title=html.escape(topic.title), name=html.escape(name),
        outcome=_("agreed at the meeting") if target is TopicStatus.DECIDED
        else _("back on the list")))


async def toggle_urgent(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community, LISTED):
        return
    assert topic is not None and community is not None
    async with context.services.db.transaction() as conn:
        await store.set_urgent(conn, topic.id, not topic.urgent)
    await record_audit(context, community, update, "topic.urgent", topic=topic.id,
                       urgent=not topic.urgent)
    _ = await person_translator(update, context)
    await query.answer(_("Marked urgent.") if not topic.urgent else _("No longer urgent."))
    await refresh_post(context.application, topic.id)
