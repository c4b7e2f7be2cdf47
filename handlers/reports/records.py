"""/reports (mine, open, overdue), /report R-n with its timeline, and the reports for
/export reports (CSV, XLSX, Open311)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import (
    InputMediaPhoto,
    Update,
)
from telegram.error import Forbidden
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.models import Community
from bot.domain.reports import (
    OPEN_STATUSES,
    NoteKind,
    ReportStatus,
    overdue,
)
from bot.exports import csv_bytes, xlsx_bytes
from bot.i18n import N_, translator
from bot.report_names import (
    CATEGORY_NAMES,
    STATUS_NAMES,
    category_key,
    display_name,
)
from handlers.common import (
    communities_of,
    person_translator,
    record_audit,
    refuse,
)
from handlers.reports.file import report_command
from handlers.reports.lifecycle import _may_handle, limits_for
from handlers.reports.texts import _card, event_note
from storage import people
from storage import reports as store


async def my_reports(update: Update, context: YishiContext) -> None:
    """/reports in private: my reports. Handlers and moderators: /reports open or
    /reports overdue for their buildings."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    which = (context.args or [""])[0].lower()
    if which in ("open", "overdue"):
        await _open_reports(update, context, overdue_only=which == "overdue",
                            filters=(context.args or [])[1:])
        return
    async with context.services.db.transaction() as conn:
        mine = await store.of_reporter(conn, user.id)
    if not mine:
        await message.reply_text(_("You have not reported anything yet. Send /report to report "
                                   "a problem."))
        return
    lines = [_("<b>Your reports</b>")] + [
        f"{r.ref} · {display_name(CATEGORY_NAMES, r.category, _)} · {_(STATUS_NAMES[r.status])}"
        for r in mine]
    await message.reply_text("\n".join(lines))


def _status_key(text: str) -> ReportStatus | None:
    """A status as typed: its key (``in_progress``) or its name in either language."""
    wanted = text.strip().lower()
    for status, msgid in STATUS_NAMES.items():
        if status in OPEN_STATUSES and wanted in {status.value, msgid.lower(),
                                                  translator("zh")(msgid).lower()}:
            return status
    return None


async def _open_reports(update: Update, context: YishiContext, *, overdue_only: bool,
                        filters: list[str]) -> None:
    """Open reports of the buildings this person handles, most followed first; optionally
    only one category and/or one status (/reports open lift new)."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    services = context.services
    categories = {category_key(f, services.settings.reports.categories) for f in filters} - {None}
    statuses = {_status_key(f) for f in filters} - {None}
    if len(categories) + len(statuses) < len(filters):
        await message.reply_text(_("I can filter by kind ({categories}) and by status ({statuses})"
                                   ". Example: /reports open lift new").format(
            categories=_.join(services.settings.reports.categories),
            statuses=_.join(s.value for s in OPEN_STATUSES)))
        return
    now = services.clock.now()
    blocks = []
    for community in await communities_of(context, user.id):
        if not await _may_handle(context, community, user.id):
            continue
        async with services.db.transaction() as conn:
            mine = await store.open_in(conn, community.id)
        # A handler sees the reports of their own categories.
        mine = [r for r in mine if (not categories or r.category in categories)
                and (not statuses or r.status in statuses)
                and await _may_handle(context, community, user.id, r.category)]
        async with services.db.transaction() as conn:
            listed = [(r, len(await store.followers(conn, r.id))) for r in mine]
        if overdue_only:
            listed = [(r, n) for r, n in listed if overdue(
                r.status, r.created_at, limits_for(services.settings, r.category), now)]
        lines = [_("<b>Open reports in {group}</b>").format(group=html.escape(community.title))
                 if not overdue_only else
                 _("<b>Overdue reports in {group}</b>").format(
                     group=html.escape(community.title))]
        for report, followers in sorted(listed, key=lambda item: (-item[1],
                                                                  item[0].created_at))[:50]:
            lines.append(f"{report.ref} · {display_name(CATEGORY_NAMES, report.category, _)} · "
                         f"{_(STATUS_NAMES[report.status])}"
                         + (f" · +{followers}" if followers else ""))
        if len(listed) > 50:
            lines.append(_("… and {count} more.").format(count=len(listed) - 50))
        if not listed:
            lines.append(_("None."))
        blocks.append("\n".join(lines))
    if not blocks:
        await message.reply_text(_("Sorry, only the building's handlers can do that. "
                                   "Nothing was changed."))
        return
    await message.reply_text("\n\n".join(blocks)[:4096])


async def show_report(update: Update, context: YishiContext, number: int) -> None:
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    found = None
    for community in await communities_of(context, user.id):
        async with context.services.db.transaction() as conn:
            report = await store.by_number(conn, community.id, number)
        if report is not None and (report.reporter_id == user.id or await _may_handle(
                context, community, user.id, report.category)):
            found = (report, community)
            break
    if found is None:
        await message.reply_text(_("I know of no such report of yours."))
        return
    report, community = found
    async with context.services.db.transaction() as conn:
        events = await store.timeline(conn, report.id)
        photos = await store.photos(conn, report.id)
        after = await store.photos(conn, report.id, after=True)
    zone = community.timezone
    assigned = [e.noted.number for e in events
                if e.noted is not None and e.noted.kind is NoteKind.ASSIGN and e.noted.number]
    async with context.services.db.transaction() as conn:
        named = await people.names(conn, assigned)
    async with context.services.db.transaction() as conn:
        card = await _card(conn, report, _)
    lines = [card, "", _("<b>Timeline</b>")]
    for event in events:
        note = event_note(event.noted, _, named)
        if event.note and note is None:
            continue
        when = f"{event.at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
        line = f"{when} · {_(STATUS_NAMES[event.status])}"
        if note:
            line += f" — {html.escape(note)}"
        lines.append(line)
    await message.reply_text("\n".join(lines))
    # Every photo: the reporter's, then the handler's "after" ones.
    shown = [*photos, *after][:10]
    if len(shown) == 1:
        await message.reply_photo(shown[0])
    elif shown:
        await message.reply_media_group([InputMediaPhoto(p) for p in shown])


async def report_with_reference(update: Update, context: YishiContext) -> int:
    """/report R-0042 in private shows it; plain /report starts a new one."""
    argument = (context.args or [""])[0].upper()
    if argument.startswith("R-") and argument[2:].isdigit():
        await show_report(update, context, int(argument[2:]))
        return ConversationHandler.END
    return await report_command(update, context)


async def stale_report_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /report to start "
                                     "again."))


OPEN311_CLOSED = (ReportStatus.RESOLVED, ReportStatus.CLOSED, ReportStatus.REJECTED,
                  ReportStatus.DUPLICATE)


def export_period(words: list[str], zone: ZoneInfo,
                  now: datetime) -> tuple[datetime | None, datetime | None] | None:
    """/export reports [30 | 2026-11]: the last N days, or a calendar month in the group's
    time zone; nothing means everything. None if it cannot be read."""
    if not words:
        return None, None
    word = words[0]
    if word.isdigit() and 0 < int(word) <= 3660:
        return now - timedelta(days=int(word)), None
    month = re.fullmatch(r"(\d{4})-(\d{1,2})", word)
    if month and 1 <= int(month.group(2)) <= 12:
        year, number = int(month.group(1)), int(month.group(2))
        start = datetime(year, number, 1, tzinfo=zone)
        end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
        return start, end
    return None


async def export_reports(update: Update, context: YishiContext, community: Community, *,
                         period: list[str]) -> None:
    """/export reports [period] (moderators): CSV, XLSX and Open311 GeoReport v2 JSON, sent
    in private."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = translator(community.language)
    services = context.services
    bounds = export_period(period, ZoneInfo(community.timezone), services.clock.now())
    if bounds is None:
        await message.reply_text(_("Give the period as a number of days or a month, e.g. "
                                   "/export reports 30 or /export reports 2026-11."))
        return
    since, until = bounds
    async with services.db.transaction() as conn:
        listed = [r for r in await store.all_in(conn, community.id, since=since)
                  if until is None or r.created_at < until]
        details = {r.id: (await store.timeline(conn, r.id), await store.photos(conn, r.id),
                          len(await store.followers(conn, r.id))) for r in listed}
    zone = ZoneInfo(community.timezone)
    header = [_("Reference"), _("Kind"), _("Status"), _("Reported"), _("Updated"), _("Where"),
              _("What"), _("Neighbours affected too"), _("Photos")]
    rows = [[r.ref, display_name(CATEGORY_NAMES, r.category, _), _(STATUS_NAMES[r.status]),
             f"{r.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
             f"{r.updated_at.astimezone(zone):%Y-%m-%d %H:%M}", r.where_text, r.description,
             str(details[r.id][2]), str(len(details[r.id][1]))] for r in listed]
    open311 = []
    for r in listed:
        events, photos, _followers = details[r.id]
        notes = [e.plain_note for e in events if e.plain_note]
        resolve_by = limits_for(services.settings, r.category).due(r.created_at)[1]
        request: dict[str, Any] = {
            "service_request_id": r.ref,
            "status": "closed" if r.status in OPEN311_CLOSED else "open",
            "status_notes": _(notes[-1]) if notes else None,
            "service_name": display_name(CATEGORY_NAMES, r.category, _),
            "service_code": r.category,
            "description": r.description,
            "requested_datetime": r.created_at.astimezone(zone).isoformat(),
            "updated_datetime": r.updated_at.astimezone(zone).isoformat(),
            "expected_datetime": resolve_by.astimezone(zone).isoformat(),
            "address": _("a home in the building") if r.unit_id else r.where_text,
            "lat": r.latitude, "long": r.longitude,
            # No media_url: a photo lives in Telegram, whose download link carries the bot's
            # token and expires; the count says how many photos the report has.
            "media_count": len(photos),
        }
        open311.append(request)
    summary = [[_("Reports of {group}").format(group=community.title)]]
    if period:
        summary.append([_("Period: {period}").format(period=period[0])])
    try:
        await context.bot.send_document(user.id, csv_bytes(summary, [header, *rows]),
                                        filename="reports.csv")
        await context.bot.send_document(user.id, await asyncio.to_thread(
            xlsx_bytes, summary, [header, *rows]), filename="reports.xlsx")
        await context.bot.send_document(
            user.id, json.dumps(open311, ensure_ascii=False, indent=1).encode(),
            filename="reports-open311.json")
    except Forbidden:
        await message.reply_text(_("I can only send the export in private. Start a chat with "
                                   "me, then send /export reports again."))
        return
    await record_audit(context, community, update, "reports.export", count=len(listed))
    await message.reply_text(_("I sent you the reports of {group} in private.").format(
        group=html.escape(community.title)))
