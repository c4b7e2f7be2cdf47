"""What a report shows: its card for handlers and for the group, the handlers' and the
reporter's buttons, and timeline notes in the reader's words."""

from __future__ import annotations

import html
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.domain.models import Community, Person
from bot.domain.reports import (
    OPEN_STATUSES,
    Note,
    NoteKind,
    Report,
    ReportStatus,
    can_move,
)
from bot.i18n import Translator, translator
from bot.report_names import (
    CATEGORY_NAMES,
    STATUS_NAMES,
    display_name,
)
from bot.services import Services
from handlers.reports import callbacks
from storage import Connection, people
from storage import reports as store

# Timeline notes that are not a handler's words: a rating, a comment, a hand-over.


HANDLER_ACTIONS = {
    "ack": ReportStatus.ACKNOWLEDGED, "start": ReportStatus.IN_PROGRESS,
    "resolve": ReportStatus.RESOLVED, "reject": ReportStatus.REJECTED,
}


def _summary(draft: dict[str, Any], _: Translator) -> str:
    return "\n".join([
        _("<b>Check your report</b>"),
        _("Kind: {category}").format(category=display_name(CATEGORY_NAMES, draft["category"], _)),
        _("What: {description}").format(description=html.escape(draft["description"])),
        _("Where: {where}").format(where=html.escape(draft["where"])),
        _("Photos: {count}").format(count=len(draft["photos"])),
        _("Shown to the group and the handlers: {who}").format(
            who=_("anonymously") if draft.get("anonymous") else _("with your name")),
    ])


async def _card(conn: Connection, report: Report, _: Translator, *,
                for_group: bool = False) -> str:
    """A report as handlers see it; in the group, a private unit and an anonymous reporter
    are never shown."""
    where = html.escape(report.where_text)
    if for_group and report.unit_id is not None:
        where = html.escape(_("a home in the building"))
    elif report.latitude is not None and report.longitude is not None \
            and report.where_text == f"{report.latitude:.5f}, {report.longitude:.5f}":
        # Only a pin was sent: a link to the map, not two numbers.
        where = '<a href="https://www.openstreetmap.org/?mlat={lat:.5f}&amp;mlon={lon:.5f}' \
                '#map=18/{lat:.5f}/{lon:.5f}">📍 {label}</a>'.format(
                    lat=report.latitude, lon=report.longitude, label=html.escape(_("map pin")))
    reporter = _("anonymous")
    named = await people.names(conn, [u for u in (report.reporter_id, report.assignee_id)
                                      if u is not None])
    count = len(await store.photos(conn, report.id))
    followers = len(await store.followers(conn, report.id))
    if not report.anonymous and report.reporter_id in named:
        reporter = named[report.reporter_id].name
    lines = [f"<b>{report.ref} · {display_name(CATEGORY_NAMES, report.category, _)}</b>",
             html.escape(report.description),
             _("Where: {where}").format(where=where),
             _("Reported by {name}").format(name=html.escape(reporter)),
             _("Status: {status}").format(status=_(STATUS_NAMES[report.status]))]
    if report.assignee_id in named and not for_group:
        lines.append(_("With: {name}").format(name=html.escape(named[report.assignee_id].name)))
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
            rows.append(InlineKeyboardButton(
                labels[action], callback_data=callbacks.HANDLE.data(report.id, action)))
    if report.status in OPEN_STATUSES:
        rows.append(InlineKeyboardButton(_("Reassign"),
                                         callback_data=callbacks.HANDLE.data(report.id, "pass")))
    if not rows:
        return None
    return InlineKeyboardMarkup([rows[i:i + 2] for i in range(0, len(rows), 2)])


async def _copy_language(conn: Connection, services: Services, community: Community,
                         chat_id: int) -> Translator:
    """The language of one copy: a person's own in private, the group's in a group."""
    if chat_id < 0:
        return translator(community.language)
    reader = await people.get(conn, chat_id)
    return translator(reader.reads(services.default_language) if reader
                      else community.language)


def _fixed_buttons(report: Report, _: Translator, *, answered: bool = False,
                   rated: bool = False) -> InlineKeyboardMarkup | None:
    rows = []
    if not answered:
        rows.append([
            InlineKeyboardButton(_("Yes, fixed"),
                                 callback_data=callbacks.FIXED.data(report.id, "yes")),
            InlineKeyboardButton(_("No, not fixed"),
                                 callback_data=callbacks.FIXED.data(report.id, "no"))])
    if not rated:
        rows.append([InlineKeyboardButton("⭐" * n,
                                          callback_data=callbacks.RATING.data(report.id, n))
                     for n in range(1, 6)])
    return InlineKeyboardMarkup(rows) if rows else None


def event_note(note: Note | None, _: Translator, named: dict[int, Person]) -> str | None:
    """A timeline note as a reader sees it; None for one kept out of sight (a rating)."""
    if note is None or note.kind is NoteKind.RATING:
        return None
    if note.kind is NoteKind.ASSIGN:
        person = named.get(note.number or 0)
        return _("Passed to {name}").format(name=person.name if person else "?")
    if note.kind is NoteKind.COMMENT:
        return _("Comment: {text}").format(text=note.text)
    return _(note.text)
