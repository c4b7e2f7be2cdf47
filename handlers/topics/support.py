"""Support buttons under a topic in the group, and /topics."""

from __future__ import annotations

import html

from telegram import Update

from bot.context import YishiContext
from bot.domain.topics import (
    LISTED,
    Ranked,
    TopicStatus,
    rank,
)
from bot.i18n import N_, translator
from handlers.common import (
    communities_of,
    ensure_community,
    person_translator,
    refuse,
)
from handlers.topics.lifecycle import _load, _toggle_support, _topic_id
from handlers.topics.texts import STATUS_NAMES, category_name
from storage import topics as store


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


async def stale_topic_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /topic to start "
                                     "again."))
