"""What a topic shows: its card, the moderators' buttons, the Support button."""

from __future__ import annotations

import hashlib
import html
import json

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import YishiContext
from bot.domain.topics import (
    Topic,
    TopicStatus,
)
from bot.i18n import N_, Translator
from bot.services import Services
from handlers.common import (
    person_translator,
)
from handlers.topics import callbacks
from storage import people

CATEGORY_NAMES = {
    "parking": N_("Parking"), "greening": N_("Greening"), "safety": N_("Safety"),
    "facilities": N_("Facilities"), "hygiene": N_("Hygiene"), "noise": N_("Noise"),
    "pets": N_("Pets"), "other": N_("Other"),
}


STATUS_NAMES = {
    TopicStatus.PENDING: N_("waiting for moderators"), TopicStatus.OPEN: N_("open"),
    TopicStatus.SELECTED_VOTE: N_("to be voted on"),
    TopicStatus.SELECTED_MEETING: N_("to be discussed at a meeting"),
    TopicStatus.DISCUSSED: N_("discussed at a round-table meeting"),
    TopicStatus.DECIDED: N_("decided"), TopicStatus.CLOSED: N_("closed"),
    TopicStatus.REJECTED: N_("not accepted"), TopicStatus.MERGED: N_("merged"),
}


def category_name(category: str, _: Translator) -> str:
    return _(CATEGORY_NAMES[category]) if category in CATEGORY_NAMES else category


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
    if topic.status is TopicStatus.DISCUSSED and topic.discussed_at:
        lines.append((_("Discussed at the round-table meeting {meeting}; the minutes: {link}")
                      if topic.minutes_link else
                      _("Discussed at the round-table meeting {meeting}; the minutes are in "
                        "the group.")).format(meeting=topic.discussed_at,
                                              link=topic.minutes_link or ""))
    return "\n".join(lines)


async def _author_name(services: Services, topic: Topic) -> str | None:
    if topic.anonymous or topic.author_id is None:
        return None
    async with services.db.transaction() as conn:
        person = await people.get(conn, topic.author_id)
    return person.name if person else None


def _moderation_buttons(topic: Topic, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Approve"), callback_data=callbacks.MODERATE.data(topic.id, "ok")),
        InlineKeyboardButton(_("Reject"), callback_data=callbacks.MODERATE.data(topic.id, "no")),
        InlineKeyboardButton(_("Merge into…"),
                             callback_data=callbacks.MODERATE.data(topic.id, "mg")),
    ]])


async def _done_text(update: Update, context: YishiContext, msgid: str) -> str:
    return (await person_translator(update, context))(msgid)


def _digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    shown = json.dumps([text, markup.to_dict() if markup else None], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()


def _trim_caption(text: str) -> str:
    return text if len(text) <= 1000 else text[:990] + "…"


def _support_button(topic: Topic, count: int, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("👍 Support ({count})").format(count=count),
            callback_data=callbacks.SUPPORT.data(topic.id))]])
