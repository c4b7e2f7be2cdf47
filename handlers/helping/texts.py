"""What neighbours' help looks like: kinds of service by name, the card in the group."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.helping import Help, HelpStatus, Kind, Side, hours
from bot.domain.models import Community
from bot.i18n import N_, Translator
from handlers.helping import callbacks

KIND_NAMES = {
    Kind.ELDERLY: N_("Caring for an elderly neighbour"),
    Kind.ENVIRONMENT: N_("Tidying the shared space"),
    Kind.MEDIATION: N_("Mediating a dispute"),
    Kind.ERRANDS: N_("Errands and carrying"),
    Kind.REPAIRS: N_("Small repairs"),
    Kind.LESSONS: N_("Lessons and tutoring"),
    Kind.OTHER: N_("Something else"),
}

_STATUS = {
    HelpStatus.MATCHED: N_("A neighbour is helping."),
    HelpStatus.CLAIMED: N_("A neighbour is helping."),
    HelpStatus.DONE: N_("Done: {hours} h given. Thank you!"),
    HelpStatus.NOT_HAPPENED: N_("It did not happen."),
    HelpStatus.CANCELLED: N_("No longer needed."),
    HelpStatus.REVERSED: N_("Taken back by the moderators."),
}


def local(at: datetime, community: Community) -> str:
    return f"{at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


def card(help_: Help, community: Community, author: str, answers: int,
         _: Translator) -> str:
    """The post in the group (or to the moderators), in the group's language."""
    head = _("🤝 {ref} · Asking for help") if help_.side is Side.NEED else \
        _("🤝 {ref} · Offering help")
    lines = [
        "<b>" + head.format(ref=help_.ref) + "</b> · " + _(KIND_NAMES[help_.kind]),
        html.escape(help_.text),
        _("When: {when}, about {hours} h").format(when=local(help_.starts_at, community),
                                                   hours=hours(help_.minutes)),
        _("From: {name}").format(name=html.escape(author)),
    ]
    if help_.status is HelpStatus.OPEN:
        if answers:
            lines.append(_("{count} neighbour(s) answered so far.").format(count=answers))
    else:
        lines.append("<i>" + _(_STATUS[help_.status]).format(
            hours=hours(help_.claimed_minutes or 0)) + "</i>")
    return "\n".join(lines)


def card_buttons(help_: Help, _: Translator) -> InlineKeyboardMarkup | None:
    if help_.status is not HelpStatus.OPEN:
        return None
    label = _("I can help") if help_.side is Side.NEED else _("I would like that")
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        label, callback_data=callbacks.ANSWER.data(help_.id))]])


def claim_buttons(help_: Help, _: Translator) -> InlineKeyboardMarkup:
    """How long it took: half an hour to four hours, or it did not happen."""
    row = [InlineKeyboardButton(_("{hours} h").format(hours=hours(half * 30)),
                                callback_data=callbacks.CLAIM.data(help_.id, half))
           for half in (1, 2, 3, 4, 6, 8)]
    return InlineKeyboardMarkup([row[:3], row[3:], [InlineKeyboardButton(
        _("It did not happen"), callback_data=callbacks.CLAIM.data(help_.id, 0))]])
