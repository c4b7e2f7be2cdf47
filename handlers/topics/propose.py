"""/topic: a resident proposes a topic in private (title, with similar open topics offered
first, details, category, a photo, anonymous or not)."""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Community
from bot.domain.topics import (
    DETAILS_MAX,
    LISTED,
    TITLE_MAX,
    similar,
    week_start,
)
from bot.domain.typed import visible
from bot.i18n import N_, translator
from handlers.common import (
    communities_of,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_translator,
    private_link,
    refuse,
)
from handlers.moderators import readers
from handlers.topics import callbacks
from handlers.topics.lifecycle import _load, _toggle_support, _topic_id, review_in
from handlers.topics.texts import category_name
from storage import communities, outbox
from storage import topics as store

TITLE, SIMILAR, DETAILS, CATEGORY, PHOTO, ANONYMITY = range(6)


DRAFT = "topic"


PREFILL = "topic_prefill"


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


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
            [[InlineKeyboardButton(c.title,
                                   callback_data=callbacks.PROPOSE_FOR.data(c.id))] for c in mine]))
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
    title = " ".join(visible(title).split())
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
                                             callback_data=callbacks.SUPPORT_SIMILAR.data(topic.id))])
    buttons.append([InlineKeyboardButton(_("Mine is different: continue"),
                                         callback_data=callbacks.PROPOSE_ANYWAY.data())])
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
    details = visible(message.text)
    if not details:
        await message.reply_text(_("That message shows nothing. Describe the topic in a few "
                                   "sentences."))
        return DETAILS
    if len(details) > DETAILS_MAX:
        await message.reply_text(_("That is {length} characters; please keep it under {limit}.")
                                 .format(length=len(details), limit=DETAILS_MAX))
        return DETAILS
    _draft(context)["details"] = details
    categories = context.services.settings.topics.categories
    buttons = [InlineKeyboardButton(category_name(c, _), callback_data=callbacks.CATEGORY.data(c))
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
                                                           callback_data=callbacks.NO_PHOTO.data())]]))
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
                   InlineKeyboardButton(_("Show my name"),
                                        callback_data=callbacks.ANONYMITY.data("name")),
                   InlineKeyboardButton(_("Stay anonymous"),
                                        callback_data=callbacks.ANONYMITY.data("anon"))]]))
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
    moderators = await readers(context.bot, services, community)
    async with services.db.transaction() as conn:
        topic = await store.create(
            conn, community_id=community.id, title=draft["title"], details=draft["details"],
            category=draft["category"], photo_file_id=draft.get("photo"),
            author_id=user.id if choice == "name" else None, now=now)
        await store.count_proposal(conn, community.id, user.id, week)
        await outbox.queue(conn, await review_in(conn, services, community, moderators,
                                                 topic), now)
    services.outbox.kick()
    lines = [_("Thank you! {ref} “{title}” went to the moderators.").format(
        ref=topic.ref, title=html.escape(topic.title))]
    if topic.anonymous:
        lines.append(_("It is anonymous: I keep no link between you and it, so I cannot tell "
                       "you what the moderators decide. Follow {ref} with /topics.").format(
            ref=topic.ref))
    else:
        lines.append(_("I will tell you what they decide."))
    await flow_reply(update, "\n".join(lines))
    return ConversationHandler.END
