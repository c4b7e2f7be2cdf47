"""Topics (议题众筹): residents propose, moderators moderate, the building backs what
matters, and every week the top topics are put in front of everyone.

Anonymous means anonymous: an anonymous topic stores no author, so no message, list or
export can name one; the proposer is told so, and follows the topic by its number.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.durations import next_weekly
from bot.domain.models import Community, DueWork, Role
from bot.domain.points import Action
from bot.domain.topics import (
    DETAILS_MAX,
    LISTED,
    TITLE_MAX,
    Ranked,
    Topic,
    TopicStatus,
    rank,
    similar,
    week_start,
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
    schedule_spaced,
    user_role,
)
from handlers.flows import flow, private_flow
from handlers.moderators import copy_language, send_to_moderators
from storage import communities, due_work, people, residents
from storage import topics as store
from storage.residents import Status

log = logging.getLogger(__name__)

TITLE, SIMILAR, DETAILS, CATEGORY, PHOTO, ANONYMITY = range(6)
REASON, MEETING_DATE = range(10, 12)
DRAFT = "topic"
PREFILL = "topic_prefill"
ROUNDUP = "topic_roundup"

CATEGORY_NAMES = {
    "parking": N_("Parking"), "greening": N_("Greening"), "safety": N_("Safety"),
    "facilities": N_("Facilities"), "hygiene": N_("Hygiene"), "noise": N_("Noise"),
    "pets": N_("Pets"), "other": N_("Other"),
}
STATUS_NAMES = {
    TopicStatus.PENDING: N_("waiting for moderators"), TopicStatus.OPEN: N_("open"),
    TopicStatus.SELECTED_VOTE: N_("to be voted on"),
    TopicStatus.SELECTED_MEETING: N_("to be discussed at a meeting"),
    TopicStatus.DECIDED: N_("decided"), TopicStatus.CLOSED: N_("closed"),
    TopicStatus.REJECTED: N_("not accepted"), TopicStatus.MERGED: N_("merged"),
}


def category_name(category: str, _: Translator) -> str:
    return _(CATEGORY_NAMES[category]) if category in CATEGORY_NAMES else category


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


async def _load(topic_id: int, context: YishiContext) -> tuple[Topic | None, Community | None]:
    async with context.services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        community = await communities.by_id(conn, topic.community_id) if topic else None
    return topic, community


def _topic_id(data: str | None, position: int = 1) -> int | None:
    parts = (data or "").split(":")
    return int(parts[position]) if len(parts) > position and parts[position].isdigit() else None


# --- proposing ----------------------------------------------------------------------------


async def topic_in_group(update: Update, context: YishiContext) -> None:
    """/topic [title] in the group: the proposal continues in private, title kept."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    title = " ".join(context.args or []).strip()
    if user is not None and title:
        context.application.user_data[user.id][PREFILL] = {"community": community.id,
                                                           "title": title[:TITLE_MAX]}
    await message.reply_text(
        _("Topics are written in a private chat with me. Press the button to continue."),
        reply_markup=private_link(context, "topic", community, _("Propose a topic")))


async def topic_command(update: Update, context: YishiContext) -> int:
    """/topic [title] in private."""
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await communities_of(context, user.id)
    if not mine:
        await flow_reply(update, _("I do not know your building's group yet. Send /topic in the "
                             "group to start from there."))
        return ConversationHandler.END
    title = " ".join(context.args or []).strip() or None
    if len(mine) > 1:
        _draft(context).update(title=title)
        await flow_reply(update, _("Which building is your topic for?"), InlineKeyboardMarkup(
            [[InlineKeyboardButton(c.title, callback_data=f"tn:g:{c.id}")] for c in mine]))
        return TITLE
    return await _begin(update, context, mine[0], title)


async def topic_from_link(update: Update, context: YishiContext) -> int:
    """/start topic_<community>, from the group's button (with the title if one was given)."""
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, link.community_id) if link else None
    if community is None or not community.active:
        _ = await person_translator(update, context)
        await flow_reply(update, _("That link is not valid any more, so I started from the "
                             "beginning.") + "\n" + _("Send /topic to propose a topic."))
        return ConversationHandler.END
    prefill = context.user_data.pop(PREFILL, None) or {}
    title = prefill.get("title") if prefill.get("community") == community.id else None
    return await _begin(update, context, community, title)


async def community_button(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = _topic_id(query.data, 2)
    mine = {c.id: c for c in await communities_of(context, user.id)}
    if wanted not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return TITLE
    return await _begin(update, context, mine[wanted], _draft(context).get("title"))


async def _begin(update: Update, context: YishiContext, community: Community,
                 title: str | None) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can propose topics there.").format(
            group=html.escape(community.title)))
        return ConversationHandler.END
    if await _over_limit(context, community, user.id):
        return await _limit_reached(update, context)
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, context.services.clock.now())
    context.user_data[DRAFT] = {"community": community.id}
    if title:
        return await _take_title(update, context, title)
    await flow_reply(update, _("What is your topic for {group}? Write a short title (at most "
                         "{limit} characters), e.g. “Night parking in front of building 3”.")
               .format(group=html.escape(community.title), limit=TITLE_MAX))
    return TITLE


async def _over_limit(context: YishiContext, community: Community, user_id: int) -> bool:
    week = week_start(context.services.clock.now(), community.timezone).date().isoformat()
    async with context.services.db.transaction() as conn:
        done = await store.proposed_in_week(conn, community.id, user_id, week)
    return done >= context.services.settings.topics.weekly_limit


async def _limit_reached(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("You have proposed {limit} topics this week, the most one "
                               "person can. Please support others' topics, or try again next "
                               "week.").format(limit=context.services.settings.topics.weekly_limit))
    return ConversationHandler.END


async def title_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    if "community" not in _draft(context):
        return await topic_command(update, context)
    return await _take_title(update, context, message.text)


async def _take_title(update: Update, context: YishiContext, title: str) -> int:
    _ = await person_translator(update, context)
    title = " ".join(title.split())
    if not title or len(title) > TITLE_MAX:
        await flow_reply(update, _("A title needs 1 to {limit} characters; yours has {length}. "
                             "Please shorten it.").format(limit=TITLE_MAX, length=len(title)))
        return TITLE
    draft = _draft(context)
    draft["title"] = title
    async with context.services.db.transaction() as conn:
        open_ones = await store.listed(conn, draft["community"], LISTED)
    by_id = {topic.id: (topic, supports) for topic, supports in open_ones}
    close = similar(title, [(t.id, t.title) for t, _n in open_ones],
                    threshold=context.services.settings.topics.similar_threshold)
    if not close:
        return await _ask_details(update, context)
    lines = [_("Similar topics are already open. Supporting one of them may help more than "
               "a new one:")]
    buttons = []
    for topic_id in close:
        topic, supports = by_id[topic_id]
        lines.append(_("{ref} “{title}” — {count} supporters").format(
            ref=topic.ref, title=html.escape(topic.title), count=supports))
        buttons.append([InlineKeyboardButton(_("Support {ref} instead").format(ref=topic.ref),
                                             callback_data=f"tn:s:{topic.id}")])
    buttons.append([InlineKeyboardButton(_("Mine is different: continue"),
                                         callback_data="tn:go")])
    await flow_reply(update, "\n".join(lines), InlineKeyboardMarkup(buttons))
    return SIMILAR


async def support_instead(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data, 2) or 0, context)
    if topic is None or community is None or topic.community_id != _draft(context).get(
            "community") or topic.status not in LISTED:
        await refuse(update, context, N_("This button is out of date."))
        return SIMILAR
    outcome = await _toggle_support(update, context, topic, community, only_add=True)
    if outcome is None:
        return SIMILAR
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    await flow_reply(update, _("Thank you! You support {ref} “{title}” now; nothing new was "
                         "proposed.").format(ref=topic.ref, title=html.escape(topic.title)))
    return ConversationHandler.END


async def continue_anyway(update: Update, context: YishiContext) -> int:
    return await _ask_details(update, context)


async def _ask_details(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("Describe it in a few sentences: what happens, where, since when, "
                         "and what you would like done."))
    return DETAILS


async def details_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    details = message.text.strip()
    if len(details) > DETAILS_MAX:
        await message.reply_text(_("That is {length} characters; please keep it under {limit}.")
                                 .format(length=len(details), limit=DETAILS_MAX))
        return DETAILS
    _draft(context)["details"] = details
    categories = context.services.settings.topics.categories
    buttons = [InlineKeyboardButton(category_name(c, _), callback_data=f"tn:c:{c}")
               for c in categories]
    await message.reply_text(_("Which kind of topic is it?"), reply_markup=InlineKeyboardMarkup(
        [buttons[i:i + 4] for i in range(0, len(buttons), 4)]))
    return CATEGORY


async def category_button(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    category = (query.data or "").split(":")[-1]
    if category not in context.services.settings.topics.categories:
        await refuse(update, context, N_("This button is out of date."))
        return CATEGORY
    _draft(context)["category"] = category
    _ = await person_translator(update, context)
    await flow_reply(update, _("A photo helps neighbours see it. Send one now, or skip."),
               InlineKeyboardMarkup([[InlineKeyboardButton(_("Skip"),
                                                           callback_data="tn:p:skip")]]))
    return PHOTO


async def photo_sent(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.photo
    _draft(context)["photo"] = message.photo[-1].file_id
    return await _ask_anonymity(update, context)


async def photo_skipped(update: Update, context: YishiContext) -> int:
    _draft(context)["photo"] = None
    return await _ask_anonymity(update, context)


async def _ask_anonymity(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("Last step: should neighbours see that the topic is yours?"),
               InlineKeyboardMarkup([[
                   InlineKeyboardButton(_("Show my name"), callback_data="tn:a:name"),
                   InlineKeyboardButton(_("Stay anonymous"), callback_data="tn:a:anon")]]))
    return ANONYMITY


async def anonymity_button(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    choice = (query.data or "").split(":")[-1]
    if choice not in ("name", "anon"):
        await refuse(update, context, N_("This button is out of date."))
        return ANONYMITY
    draft = context.user_data.pop(DRAFT, {})
    services = context.services
    _ = await person_translator(update, context)
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, draft["community"])
    assert community is not None
    if await _over_limit(context, community, user.id):
        return await _limit_reached(update, context)
    now = services.clock.now()
    week = week_start(now, community.timezone).date().isoformat()
    async with services.db.transaction() as conn:
        topic = await store.create(
            conn, community_id=community.id, title=draft["title"], details=draft["details"],
            category=draft["category"], photo_file_id=draft.get("photo"),
            author_id=user.id if choice == "name" else None, now=now)
        await store.count_proposal(conn, community.id, user.id, week)
    lines = [_("Thank you! {ref} “{title}” went to the moderators.").format(
        ref=topic.ref, title=html.escape(topic.title))]
    if topic.anonymous:
        lines.append(_("It is anonymous: I keep no link between you and it, so I cannot tell "
                       "you what the moderators decide. Follow {ref} with /topics.").format(
            ref=topic.ref))
    else:
        lines.append(_("I will tell you what they decide."))
    await flow_reply(update, "\n".join(lines))
    await _send_for_moderation(context, community, topic)
    return ConversationHandler.END


# --- moderation ---------------------------------------------------------------------------


def _card(topic: Topic, supports: int | None, author: str | None, _: Translator) -> str:
    """A topic as everyone sees it (never with an anonymous author)."""
    lines = [f"<b>{topic.ref} · {html.escape(topic.title)}</b>",
             _("Category: {category}").format(category=category_name(topic.category, _))]
    if topic.details:
        lines += ["", html.escape(topic.details), ""]
    lines.append(_("Proposed by {name}").format(name=html.escape(author))
                 if author and not topic.anonymous else _("Proposed anonymously"))
    if topic.urgent:
        lines.append(_("Marked urgent by the moderators"))
    if supports is not None:
        lines.append(_("Supporters: {count}").format(count=supports))
    return "\n".join(lines)


async def _author_name(context: YishiContext, topic: Topic) -> str | None:
    if topic.anonymous or topic.author_id is None:
        return None
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, topic.author_id)
    return person.name if person else None


def _moderation_buttons(topic: Topic, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Approve"), callback_data=f"tp:{topic.id}:ok"),
        InlineKeyboardButton(_("Reject"), callback_data=f"tp:{topic.id}:no"),
        InlineKeyboardButton(_("Merge into…"), callback_data=f"tp:{topic.id}:mg"),
    ]])


async def _send_for_moderation(context: YishiContext, community: Community,
                               topic: Topic) -> None:
    author = await _author_name(context, topic)

    async def render(_: Translator) -> tuple[str, InlineKeyboardMarkup]:
        head = _("<b>New topic</b> for {group}").format(group=html.escape(community.title))
        return head + "\n\n" + _card(topic, None, author, _), _moderation_buttons(topic, _)

    copies = await send_to_moderators(
        context, community, render,
        unreachable_note=N_("A new topic waits for a moderator. Moderators: start a private "
                            "chat with me to review it."))
    async with context.services.db.transaction() as conn:
        await store.set_notices(conn, topic.id, copies)


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
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=TopicStatus.PENDING,
                                 to_status=TopicStatus.OPEN, now=services.clock.now())
    if not moved:
        await refuse(update, context, N_("This button is out of date."))
        return
    await query.answer(await _done_text(update, context, N_("Approved.")))
    await record_audit(context, community, update, "topic.approve", topic=topic.id)
    await _ensure_roundup(context.application, community)
    await _post_in_group(context, community, topic.id)
    await _tell(context, topic, [topic.author_id], N_(
        "Your topic {ref} “{title}” was approved and posted in the group, where neighbours "
        "can support it."))
    await _close_moderation(context, topic.id, update, N_("✅ Approved by {name}"))


async def _done_text(update: Update, context: YishiContext, msgid: str) -> str:
    return (await person_translator(update, context))(msgid)


async def _post_in_group(context: YishiContext, community: Community, topic_id: int) -> None:
    """Post an approved topic in the group with its Support button."""
    async with context.services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        count = await store.supports(conn, topic_id)
    assert topic is not None
    _ = translator(community.language)
    text, markup = _card(topic, count, await _author_name(context, topic), _), _support_button(
        topic, count, _)
    if topic.photo_file_id:
        sent = await context.bot.send_photo(community.chat_id, topic.photo_file_id,
                                            caption=_trim_caption(text), reply_markup=markup)
    else:
        sent = await context.bot.send_message(community.chat_id, text, reply_markup=markup)
    async with context.services.db.transaction() as conn:
        await store.set_post(conn, topic_id, sent.chat_id, sent.message_id,
                             _digest(text, markup))


def _digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    shown = json.dumps([text, markup.to_dict() if markup else None], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()


def _trim_caption(text: str) -> str:
    return text if len(text) <= 1000 else text[:990] + "…"


def _support_button(topic: Topic, count: int, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("👍 Support ({count})").format(count=count), callback_data=f"sp:{topic.id}")]])


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
                                     callback_data=f"tm:{topic.id}:{t.id}")]
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
    if not moved:
        await refuse(update, context, N_("This button is out of date."))
        return
    _ = await person_translator(update, context)
    await query.answer(_("Merged into {ref}.").format(ref=target.ref))
    await query.edit_message_text(_("Merged {ref} into {target}.").format(
        ref=topic.ref, target=target.ref))
    await record_audit(context, community, update, "topic.merge", topic=topic.id,
                       into=target.id)
    await refresh_post(context.application, target.id)
    await _tell(context, topic, [topic.author_id], N_(
        "Your topic {ref} “{title}” is about the same thing as {target}, so the moderators "
        "merged it there; you now support {target}."), target=target.ref)
    await _close_moderation(context, topic.id, update, N_("🔀 Merged by {name}"))


# --- asking a moderator for a reason or a date -------------------------------------------


async def ask_reason(update: Update, context: YishiContext) -> int:
    """Reject (pending) or Close (selected for the roundup): both need a reason."""
    query = update.callback_query
    assert query is not None
    closing = (query.data or "").startswith("ts:")
    topic, community = await _load(_topic_id(query.data) or 0, context)
    expected = (TopicStatus.OPEN,) if closing else (TopicStatus.PENDING,)
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
    source = TopicStatus.OPEN if pending["close"] else TopicStatus.PENDING
    target = TopicStatus.CLOSED if pending["close"] else TopicStatus.REJECTED
    async with context.services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=source, to_status=target,
                                 now=context.services.clock.now(), reason=reason)
    if not moved:
        await message.reply_text(_("{ref} is already {status}.").format(
            ref=topic.ref, status=_(STATUS_NAMES[topic.status])))
        return ConversationHandler.END
    await record_audit(context, community, update,
                       "topic.close" if pending["close"] else "topic.reject", topic=topic.id,
                       reason=reason)
    await message.reply_text(_("Done: {ref} is {status}.").format(
        ref=topic.ref, status=_(STATUS_NAMES[target])))
    if pending["close"]:
        await _tell_everyone(context, topic, N_(
            "{ref} “{title}” was closed by the moderators. Reason: {reason}"), reason=reason)
        await refresh_post(context.application, topic.id)
    else:
        await _tell(context, topic, [topic.author_id], N_(
            "Your topic {ref} “{title}” was not accepted. Reason: {reason}"), reason=reason)
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
    await query.message.reply_text(_("When is the meeting? Reply with a date and time like "
                                     "2026-12-01 19:30. /cancel to stop."))
    return MEETING_DATE


async def meeting_date_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    topic, community = await _load(context.user_data.get("topic_meeting", 0), context)
    if topic is None or community is None:
        return ConversationHandler.END
    try:
        local = datetime.strptime(message.text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        await message.reply_text(_("Please write it like 2026-12-01 19:30."))
        return MEETING_DATE
    when = local.replace(tzinfo=ZoneInfo(community.timezone))
    if when <= context.services.clock.now():
        await message.reply_text(_("That time has passed; please give a future one."))
        return MEETING_DATE
    context.user_data.pop("topic_meeting", None)
    await _select(update, context, topic, community, TopicStatus.SELECTED_MEETING,
                  meeting_at=when)
    return ConversationHandler.END


# --- selection from the roundup -----------------------------------------------------------


async def select_for_vote(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if not await _as_moderator(update, context, topic, community, (TopicStatus.OPEN,)):
        return
    assert topic is not None and community is not None
    await query.answer()
    await _select(update, context, topic, community, TopicStatus.SELECTED_VOTE)


async def _select(update: Update, context: YishiContext, topic: Topic, community: Community,
                  status: TopicStatus, meeting_at: datetime | None = None) -> None:
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=TopicStatus.OPEN,
                                 to_status=status, now=now, meeting_at=meeting_at)
        if moved and topic.author_id is not None:
            await award(conn, services.settings.points, community, user_id=topic.author_id,
                        action=Action.TOPIC_ADOPTED, ref=f"topic:{topic.id}", now=now)
    _ = await person_translator(update, context)
    if not moved:
        await update.effective_chat.send_message(_("This button is out of date."))
        return
    await record_audit(context, community, update, f"topic.{status.value}", topic=topic.id)
    await update.effective_chat.send_message(_("Done: {ref} is {status}.").format(
        ref=topic.ref, status=_(STATUS_NAMES[status])))
    if status is TopicStatus.SELECTED_VOTE:
        await _offer_poll(update, context, topic, community)
        await _tell_everyone(context, topic, N_(
            "{ref} “{title}” will be put to a vote. Watch the group for the poll."))
    else:
        local = meeting_at.astimezone(ZoneInfo(community.timezone)) if meeting_at else None
        await _tell_everyone(context, topic, N_(
            "{ref} “{title}” will be discussed at the meeting on {when}."),
            when=f"{local:%Y-%m-%d %H:%M}" if local else "?")
    await refresh_post(context.application, topic.id)


async def _offer_poll(update: Update, context: YishiContext, topic: Topic,
                      community: Community) -> None:
    """The moderator who chose a vote gets the poll flow with the question filled in."""
    user = update.effective_user
    if user is None:
        return
    context.application.user_data[user.id]["poll_prefill"] = {
        "community": community.id, "topic": topic.id, "question": topic.title}
    _ = await person_translator(update, context)
    await update.effective_chat.send_message(
        _("Prepare the poll for {ref} now; the question is filled in.").format(ref=topic.ref),
        reply_markup=private_link(context, "poll", community, _("Prepare the poll")))


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


# --- supporting -----------------------------------------------------------------------------


async def support_button(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    topic, community = await _load(_topic_id(query.data) or 0, context)
    if topic is None or community is None or query.message is None \
            or query.message.chat.id != community.chat_id:
        await refuse(update, context, N_("This button is out of date."))
        return
    if topic.status is not TopicStatus.OPEN:
        _ = await person_translator(update, context)
        await query.answer(_("{ref} is already {status}.").format(
            ref=topic.ref, status=_(STATUS_NAMES[topic.status])), show_alert=True)
        return
    await _toggle_support(update, context, topic, community)


async def _toggle_support(update: Update, context: YishiContext, topic: Topic,
                          community: Community, *, only_add: bool = False) -> bool | None:
    """Support, or withdraw a support; answers the press. None if the person may not."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.services
    _ = await person_translator(update, context)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        ties = await residents.of_person(conn, user.id, community.id)
        if not any(tie.status is Status.VERIFIED for tie, _a in ties):
            verified = False
        else:
            verified = True
            added = await store.add_support(conn, topic.id, user.id, now)
            if not added and not only_add:
                await store.remove_support(conn, topic.id, user.id)
            if added:
                await award(conn, services.settings.points, community, user_id=user.id,
                            action=Action.TOPIC_SUPPORTED, ref=f"topic:{topic.id}", now=now)
            count = await store.supports(conn, topic.id)
    if not verified:
        await query.answer(_("Only residents on the roster can support topics. Send /join to "
                             "me in private to join it."), show_alert=True)
        return None
    if added or only_add:
        await query.answer(_("You support {ref}. Supporters: {count}.").format(
            ref=topic.ref, count=count))
    else:
        await query.answer(_("You withdrew your support for {ref}. Supporters: {count}.")
                           .format(ref=topic.ref, count=count))
    schedule_post_refresh(context.application, topic.id)
    return True


def schedule_post_refresh(app: YishiApp, topic_id: int) -> None:
    """Edit the group post soon, but never more often than post_refresh_seconds: a burst
    of presses becomes one edit."""
    schedule_spaced(app, f"topic-post:{topic_id}",
                    app.bot_data.services.settings.topics.post_refresh_seconds,
                    _refresh_job, topic_id)


async def _refresh_job(context: YishiContext) -> None:
    assert context.job is not None
    await refresh_post(context.application, int(context.job.data))


async def refresh_post(app: YishiApp, topic_id: int) -> None:
    """Bring the group post in line with the topic: count, state, and the button."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        count = await store.supports(conn, topic_id)
        community = await communities.by_id(conn, topic.community_id) if topic else None
    if topic is None or community is None or topic.post_message_id is None:
        return
    _ = translator(community.language)
    context = YishiContext(app)
    text = _card(topic, count, await _author_name(context, topic), _)
    markup = None
    if topic.status is TopicStatus.OPEN:
        markup = _support_button(topic, count, _)
    else:
        text += "\n" + _("Status: {status}").format(status=_(STATUS_NAMES[topic.status]))
    async with services.db.transaction() as conn:
        changed = await store.swap_post_digest(conn, topic_id, _digest(text, markup))
    if not changed:
        return  # the post already shows this; Telegram refuses an edit that changes nothing
    try:
        if topic.photo_file_id:
            await app.bot.edit_message_caption(chat_id=topic.post_chat_id,
                                               message_id=topic.post_message_id,
                                               caption=_trim_caption(text), reply_markup=markup)
        else:
            await app.bot.edit_message_text(text, chat_id=topic.post_chat_id,
                                            message_id=topic.post_message_id,
                                            reply_markup=markup)
    except BadRequest as exc:
        log.info("topic post not edited", extra={"topic": topic_id, "error": str(exc)})


# --- telling people -------------------------------------------------------------------------


async def _tell(context: YishiContext, topic: Topic, user_ids: list[int | None], msgid: str,
                **values: str) -> None:
    """A private note to each of these people, in their language (unreachable: skipped)."""
    wanted = [u for u in dict.fromkeys(user_ids) if u is not None]
    if not wanted:
        return
    async with context.services.db.transaction() as conn:
        known = await people.names(conn, wanted)
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(context.services.default_language))
        text = _(msgid).format(ref=topic.ref, title=html.escape(topic.title),
                               **{k: html.escape(v) for k, v in values.items()})
        try:
            await context.bot.send_message(person.user_id, text)
        except Forbidden:
            continue


async def _tell_everyone(context: YishiContext, topic: Topic, msgid: str, **values: str) -> None:
    async with context.services.db.transaction() as conn:
        backers = await store.supporters(conn, topic.id)
    await _tell(context, topic, [topic.author_id, *backers], msgid, **values)


async def _close_moderation(context: YishiContext, topic_id: int, update: Update,
                            outcome_msgid: str) -> None:
    """Every moderator's copy shows what was decided, and by whom, without buttons."""
    async with context.services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        community = await communities.by_id(conn, topic.community_id) if topic else None
    if topic is None or community is None:
        return
    copies = list(topic.notices)
    pressed = update.callback_query.message if update.callback_query else None
    if isinstance(pressed, Message) and [pressed.chat_id, pressed.message_id] not in copies:
        copies.append([pressed.chat_id, pressed.message_id])
    name = update.effective_user.full_name if update.effective_user else "?"
    author = await _author_name(context, topic)
    for chat_id, message_id in copies:
        _ = await copy_language(context, community, chat_id)
        text = (_("<b>New topic</b> for {group}").format(group=html.escape(community.title))
                + "\n\n" + _card(topic, None, author, _) + "\n\n"
                + _(outcome_msgid).format(name=html.escape(name)))
        try:
            await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except BadRequest:
            pass


# --- listing and the weekly roundup ---------------------------------------------------------


async def list_topics(update: Update, context: YishiContext) -> None:
    """/topics: open and selected topics, most supported first, newest first on ties."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    assert chat is not None and message is not None
    if chat.type == "private":
        _ = await person_translator(update, context)
        mine = await communities_of(context, user.id) if user else []
    else:
        community = await ensure_community(context, chat)
        _ = translator(community.language)
        mine = [community]
    blocks = []
    for community in mine:
        async with context.services.db.transaction() as conn:
            listed = await store.listed(conn, community.id, LISTED)
        lines = [_("<b>Topics in {group}</b>").format(group=html.escape(community.title))]
        by_id = {t.id: (t, n) for t, n in listed}
        order = rank(Ranked(id=t.id, supports=n, urgent=t.urgent, created_at=t.created_at)
                     for t, n in listed)
        for entry in order[:30]:
            topic, supports = by_id[entry.id]
            lines.append(_("{ref} “{title}” · {category} · {count} supporters · {status}")
                         .format(ref=topic.ref, title=html.escape(topic.title),
                                 category=category_name(topic.category, _), count=supports,
                                 status=_(STATUS_NAMES[topic.status])))
        if not listed:
            lines.append(_("No open topics. Propose one with /topic."))
        blocks.append("\n".join(lines))
    if not blocks:
        blocks = [_("I do not know your building's group yet. Send /topic in the group to "
                    "start from there.")]
    await message.reply_text("\n\n".join(blocks))


async def _ensure_roundup(app: YishiApp, community: Community) -> None:
    """Arm the community's weekly roundup if it is not armed yet."""
    services = app.bot_data.services
    settings = services.settings.topics
    async with services.db.transaction() as conn:
        if await due_work.pending(conn, kind=ROUNDUP, key=str(community.id)) is not None:
            return
    due = next_weekly(services.clock.now(), community.timezone, settings.roundup_day,
                       datetime.strptime(settings.roundup_time, "%H:%M").time())
    await services.scheduler.schedule(kind=ROUNDUP, key=str(community.id), due_at=due,
                                      payload={"community": community.id})


async def arm_roundups(app: YishiApp) -> None:
    """At start: every active community with topics has its next roundup armed."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        active = await communities.with_topics(conn)
    for community in active:
        await _ensure_roundup(app, community)


async def post_roundup(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``topic_roundup``: the week's top topics in the group, selection buttons to
    the moderators, and the next week's roundup armed."""
    services = app.bot_data.services
    settings = services.settings.topics
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, work.payload["community"])
    if community is None or not community.active:
        return Done()
    now = services.clock.now()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    async with services.db.transaction() as conn:
        listed = await store.listed(conn, community.id, (TopicStatus.OPEN,))
        fresh = await store.created_since(conn, community.id, work.due_at - timedelta(days=7))
    by_id = {t.id: (t, n) for t, n in listed}
    top = rank((Ranked(id=t.id, supports=n, urgent=t.urgent, created_at=t.created_at)
                for t, n in listed), urgency_first=True)[:settings.roundup_size]
    context = YishiContext(app)
    if top or fresh:
        _ = translator(community.language)
        lines = [_("<b>This week's topics</b>")]
        for place, entry in enumerate(top, start=1):
            topic, supports = by_id[entry.id]
            lines.append(_("{place}. {ref} “{title}” — {count} supporters").format(
                place=place, ref=topic.ref, title=html.escape(topic.title), count=supports)
                + (" ⚡" if topic.urgent else ""))
        if fresh:
            lines += ["", _("New since last week: {refs}").format(
                refs=", ".join(f"{t.ref} “{html.escape(t.title)}”" for t in fresh))]
        lines += ["", _("Support what matters to you with the 👍 button under each topic; "
                        "propose your own with /topic.")]
        await app.bot.send_message(community.chat_id, "\n".join(lines))
        for entry in top:
            await _offer_selection(context, community, by_id[entry.id][0],
                                   by_id[entry.id][1])
    next_due = next_weekly(now, community.timezone, settings.roundup_day,
                            datetime.strptime(settings.roundup_time, "%H:%M").time())
    await services.scheduler.schedule(kind=ROUNDUP, key=str(community.id), due_at=next_due,
                                      payload={"community": community.id})
    return Done()


async def _offer_selection(context: YishiContext, community: Community, topic: Topic,
                           supports: int) -> None:
    async def render(_: Translator) -> tuple[str, InlineKeyboardMarkup]:
        text = _("<b>Roundup</b>: what should happen with this topic?") + "\n\n" + _card(
            topic, supports, await _author_name(context, topic), _)
        return text, InlineKeyboardMarkup([
            [InlineKeyboardButton(_("Put to a vote"), callback_data=f"ts:{topic.id}:vote"),
             InlineKeyboardButton(_("Discuss at a meeting"),
                                  callback_data=f"ts:{topic.id}:meet")],
            [InlineKeyboardButton(_("Close"), callback_data=f"ts:{topic.id}:close"),
             InlineKeyboardButton(_("Urgent on/off"), callback_data=f"ts:{topic.id}:urgent")],
        ])

    await send_to_moderators(context, community, render,
                             unreachable_note=N_("The weekly topics are ready for the "
                                                 "moderators. Moderators: start a private "
                                                 "chat with me to choose what happens next."))


async def stale_topic_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /topic to start "
                                     "again."))


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("topic", topic_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="topic", command="topic", start=topic_command,
        from_link=topic_from_link, link="topic",
        states={
            TITLE: [CallbackQueryHandler(community_button, pattern=r"^tn:g:"),
                    MessageHandler(typed, title_typed)],
            SIMILAR: [CallbackQueryHandler(support_instead, pattern=r"^tn:s:"),
                      CallbackQueryHandler(continue_anyway, pattern=r"^tn:go$")],
            DETAILS: [MessageHandler(typed, details_typed)],
            CATEGORY: [CallbackQueryHandler(category_button, pattern=r"^tn:c:")],
            PHOTO: [MessageHandler(F.PHOTO, photo_sent),
                    CallbackQueryHandler(photo_skipped, pattern=r"^tn:p:skip$")],
            ANONYMITY: [CallbackQueryHandler(anonymity_button, pattern=r"^tn:a:")],
        },
    ))
    # Moderators answer a reason or a date in the chat where they pressed the button.
    app.add_handler(flow(
        app, name="topic_decision", command="topics",
        entry_points=[CallbackQueryHandler(ask_reason, pattern=r"^tp:\d+:no$"),
                      CallbackQueryHandler(ask_reason, pattern=r"^ts:\d+:close$"),
                      CallbackQueryHandler(ask_meeting_date, pattern=r"^ts:\d+:meet$")],
        states={REASON: [MessageHandler(F.TEXT & ~F.COMMAND, reason_typed)],
                MEETING_DATE: [MessageHandler(F.TEXT & ~F.COMMAND, meeting_date_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(approve, pattern=r"^tp:\d+:ok$"))
    app.add_handler(CallbackQueryHandler(merge_choices, pattern=r"^tp:\d+:mg$"))
    app.add_handler(CallbackQueryHandler(merge, pattern=r"^tm:\d+:\d+$"))
    app.add_handler(CallbackQueryHandler(select_for_vote, pattern=r"^ts:\d+:vote$"))
    app.add_handler(CallbackQueryHandler(toggle_urgent, pattern=r"^ts:\d+:urgent$"))
    app.add_handler(CallbackQueryHandler(support_button, pattern=r"^sp:"))
    app.add_handler(CallbackQueryHandler(stale_topic_button, pattern=r"^(tn|tp|ts|tm):"))
    app.add_handler(CommandHandler("topics", list_topics))
    services = app.bot_data.services
    services.scheduler.on(ROUNDUP, post_roundup, concurrent=True)
    services.startup.append(arm_roundups)

