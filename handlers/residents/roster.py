"""/residents: moderators see and keep the roster — in private, since it names people and
their units. Typed changes and a CSV import work on the community the moderator chose."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from bot.domain.households import Relation, by_staircase, totals
from bot.domain.models import Community, Person
from bot.domain.polls import m2
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.i18n import N_, Translator, translator
from handlers.common import (
    ensure_community,
    moderated_by,
    moderator_only,
    person_language,
    person_translator,
    private_link,
    record_audit,
    refuse,
)
from handlers.outgoing import chunks
from handlers.residents import callbacks
from handlers.residents.decide import decision_markup, request_text
from handlers.residents.texts import RELATION_WORDS, format_area, parse_area, relation_name
from storage import people, residents, unit_owners, units

log = logging.getLogger(__name__)

CURRENT = "roster_community"
CSV_MAX_BYTES = 512 * 1024


# --- which community ---------------------------------------------------------------------


async def _current(update: Update, context: YishiContext) -> Community | None:
    """The community a moderator is working on in private; asks when it is not clear."""
    user = update.effective_user
    assert user is not None
    mine = await moderated_by(context, user.id)
    _ = await person_translator(update, context)
    chosen = context.user_data.get(CURRENT)
    for community in mine:
        if community.id == chosen or len(mine) == 1:
            return community
    if not mine:
        await update.effective_chat.send_message(
            _("You are not a moderator of any group I am in."))
        return None
    await update.effective_chat.send_message(
        _("Which group's roster?"),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(c.title,
                                   callback_data=callbacks.ROSTER_FOR.data(c.id))] for c in mine]))
    return None


async def choose_community(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = (query.data or "").rsplit(":", 1)[-1]
    mine = {str(c.id): c for c in await moderated_by(context, user.id)}
    if wanted not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return
    context.user_data[CURRENT] = mine[wanted].id
    await query.answer()
    await send_roster(context, user.id, mine[wanted], await person_translator(update, context))


# --- showing the roster -----------------------------------------------------------------


@moderator_only
async def residents_in_group(update: Update, context: YishiContext) -> None:
    """/residents in the group: the roster goes to the moderator in private."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if user is None or message.sender_chat is not None:
        await message.reply_text(_("Send /residents to me in private: the roster names "
                                   "people and their units."))
        return
    context.application.user_data[user.id][CURRENT] = community.id
    try:
        await send_roster(context, user.id, community,
                          translator(await person_language(context, user)))
    except Forbidden:
        await message.reply_text(
            _("I can only send the roster in private. Start a chat with me, then send "
              "/residents again."),
            reply_markup=private_link(context, "group", community, _("Talk to me in private")))
        return
    await message.reply_text(_("I sent you the roster in private."))


async def residents_in_private(update: Update, context: YishiContext) -> None:
    """/residents, or /residents add|remove|area|voter ... in private."""
    args = context.args or []
    community = await _current(update, context)
    if community is None:
        return
    assert update.effective_user is not None
    if not args:
        await send_roster(context, update.effective_user.id, community,
                          await person_translator(update, context))
        return
    await _change(update, context, community, args)


async def send_roster(context: YishiContext, user_id: int, community: Community,
                      _: Translator) -> None:
    services = context.services
    async with services.db.transaction() as conn:
        households = await residents.households(conn, community.id)
        lines = await residents.roster(conn, community.id)
        waiting = await residents.pending(conn, community.id)
    summary = totals(households)
    relations = {r: sum(1 for line in lines if line.relation is r) for r in Relation}
    head = [
        _("<b>Roster of {group}</b>").format(group=html.escape(community.title)),
        _("{residents} verified residents; {units} units, {area} m² in all "
          "({missing} units without an area).").format(
            residents=summary.verified_residents, units=summary.units,
            area=m2(summary.area_m2), missing=summary.units_without_area),
        _("Owners counted for votes: {headcount} ({off} on the register but not on "
          "Telegram).").format(headcount=summary.owner_headcount,
                               off=summary.owners_off_telegram),
        _("By relation: {counts}").format(counts=_.join(
            f"{relation_name(r, _)} {n}" for r, n in relations.items())),
        _("By building and staircase:"),
        *(_("• {place}: {units} units, {area} m², {owners} owners, {residents} residents on "
            "Telegram").format(
            place=f"{building}-{staircase}" if staircase else building, units=t.units,
            area=m2(t.area_m2), owners=t.owner_headcount, residents=t.verified_residents)
          for (building, staircase), t in by_staircase(households).items()),
    ]
    no_area = [h.address.code for h in households if h.area_m2 is None]
    if no_area:
        head += ["", _("<b>Units without an area</b> (a Civil Code poll cannot be published "
                       "until each has one; /residents area 3-2-501 89.5):"),
                 _.join(no_area)]
    off_telegram = [f"{h.address.code} {html.escape(o.name)}" for h in households
                    for o in h.owners_off_telegram]
    if off_telegram:
        head += ["", _("<b>Owners not on Telegram</b> (they vote on paper; when one joins, "
                       "approve them as their entry):"), *off_telegram]
    body = [f"{line.address.code} · {html.escape(line.name)}"
            + (f" @{line.username}" if line.username else "")
            + f" — {relation_name(line.relation, _)}"
            + (f", {format_area(line.area_m2)}" if line.relation is Relation.OWNER else "")
            + (" ★" if line.is_voter else "")
            for line in lines]
    if not body:
        body = [_("Nobody is on the roster yet. Residents send /join; you can also add "
                  "people with /residents add 3-2-501 @name owner 89.5, or send me the "
                  "building's register as a CSV or XLSX file with the columns unit, area, "
                  "name, user, relation.")]
    for chunk in chunks(["\n".join(head), "", *body]):
        await context.bot.send_message(user_id, chunk)
    for request in waiting:
        sent = await context.bot.send_message(
            user_id, await request_text(context, request.id, _),
            reply_markup=await decision_markup(context, request.id, _))
        async with services.db.transaction() as conn:
            await residents.set_notices(conn, request.id,
                                        [*request.notices, [sent.chat_id, sent.message_id]])


# --- changing it by hand -----------------------------------------------------------------

USAGE = N_("Usage: /residents add 3-2-501 @name owner|tenant|family [area]; "
           "/residents remove 3-2-501 @name; /residents area 3-2-501 89.5; "
           "/residents voter 3-2-501 @name")


async def _person(conn: Any, ref: str) -> Person | None:
    if ref.startswith("@"):
        return await people.by_username(conn, ref)
    if ref.lstrip("-").isdigit():
        return await people.get(conn, int(ref))
    return None


async def _change(update: Update, context: YishiContext, community: Community,
                  args: list[str]) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await person_translator(update, context)
    verb = args[0].lower()
    address = UnitAddress.parse(args[1]) if len(args) > 1 else None
    if verb not in ("add", "remove", "area", "voter") or address is None:
        await message.reply_text(_(USAGE))
        return
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        unit = await units.ensure(conn, community.id, address, now) if verb == "add" \
            else await units.find(conn, community.id, address)
        person = await _person(conn, args[2]) if len(args) > 2 and verb != "area" else None
        problem = None
        if unit is None:
            problem = _("{unit} is not on the roster.").format(unit=address.code)
        elif verb == "area":
            area = parse_area(args[2]) if len(args) == 3 else None
            if area is None:
                problem = _(USAGE)
            else:
                await units.set_area(conn, unit.id, area)
        elif person is None:
            problem = _("I do not know that person yet. They need to have written in the "
                        "group or started a chat with me.") if len(args) > 2 else _(USAGE)
        elif verb == "add":
            relation = RELATION_WORDS.get(args[3].lower()) if len(args) > 3 else None
            area = parse_area(args[4]) if len(args) > 4 else None
            if relation is None or (len(args) > 4 and area is None):
                problem = _(USAGE)
            else:
                await residents.request(conn, community_id=community.id,
                                        user_id=person.user_id, unit_id=unit.id,
                                        relation=relation, area_claimed=area, now=now,
                                        status=ResidentStatus.VERIFIED, decided_by=user.id)
                if area is not None and relation is Relation.OWNER:
                    await units.set_area(conn, unit.id, area)
        elif verb == "remove":
            if not await residents.remove(conn, community.id, person.user_id, unit.id):
                problem = _("{name} is not on the roster for {unit}.").format(
                    name=html.escape(person.name), unit=address.code)
        else:  # voter
            tie = await residents.find(conn, community.id, person.user_id, unit.id)
            if tie is None or tie.status is not ResidentStatus.VERIFIED \
                    or tie.relation is not Relation.OWNER:
                problem = _("Only a verified owner of {unit} can vote for it.").format(
                    unit=address.code)
            else:
                await units.set_voter(conn, unit.id, person.user_id)
    if problem is not None:
        await message.reply_text(problem)
        return
    await record_audit(context, community, update, f"roster.{verb}", unit=address.code,
                       user=person.user_id if person else None,
                       value=args[2] if verb == "area" else None)
    await message.reply_text(_("Done: {change}").format(change=html.escape(" ".join(args))))


# --- importing the building's register ------------------------------------------------

# What a header cell may say, in either language, for each column.
COLUMNS = {
    "unit": ("unit", "房号", "单元", "房间", "户号"),
    "area": ("area", "面积", "建筑面积", "面积（㎡）", "面积(㎡)", "area_m2"),
    "name": ("name", "姓名", "业主", "业主姓名", "名字"),
    "user": ("user", "telegram", "账号", "用户", "username", "id"),
    "relation": ("relation", "关系", "身份"),
}
# The form before the register: unit, @username or id, relation, area.
LEGACY = ("unit", "user", "relation", "area")
DEVELOPER_WORDS = {"developer", "开发商", "建设单位"}


def _columns(header: list[str]) -> dict[str, int] | None:
    """Which column holds what, from a header row; None if the row is not a header."""
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        word = cell.strip().lower()
        for column, names in COLUMNS.items():
            if word in names and column not in found:
                found[column] = index
    return found if "unit" in found else None


def _rows_of(raw: bytes, filename: str) -> list[list[str]]:
    """The file's rows as text cells: an XLSX workbook's first sheet, or CSV (UTF-8, or
    GBK as Excel in China saves it)."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook  # loaded when a workbook is sent, not at start

        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
        return [["" if cell is None else str(cell) for cell in row]
                for row in sheet.iter_rows(values_only=True)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    return list(csv.reader(io.StringIO(text)))


async def import_csv(update: Update, context: YishiContext) -> None:
    """A moderator sends the building's register as CSV or XLSX: a header row naming the
    columns unit, area, name, user, relation (any order; user may be empty for an owner
    not on Telegram), or the older four columns unit, @username or id, relation, area."""
    message = update.effective_message
    assert message is not None and message.document is not None
    _ = await person_translator(update, context)
    community = await _current(update, context)
    if community is None:
        return
    if message.document.file_size and message.document.file_size > CSV_MAX_BYTES:
        await message.reply_text(_("That file is too large; a roster CSV should be well under "
                                   "512 KB."))
        return
    file = await message.document.get_file()
    raw = bytes(await file.download_as_bytearray())
    if not raw.strip():
        await message.reply_text(_("That file is empty: send the register with a row per "
                                   "unit."))
        return
    try:
        rows = await asyncio.to_thread(_rows_of, raw, message.document.file_name or "")
        if "\x00" in "".join(cell for row in rows for cell in row):
            raise ValueError("binary")
    except Exception:  # a damaged workbook, a binary file: say so, change nothing
        log.info("roster file not readable", exc_info=True)
        await message.reply_text(_("I could not read that file. Send the register as a CSV "
                                   "file or an Excel workbook (.xlsx)."))
        return
    imported, problems, notes = await _import_rows(context, community,
                                                   update.effective_user.id, rows, _)
    await record_audit(context, community, update, "roster.import", rows=imported,
                       skipped=len(problems))
    lines = [_("Imported {count} rows into the roster of {group}.").format(
        count=imported, group=html.escape(community.title))]
    if problems:
        lines += ["", _("Skipped {count} rows:").format(count=len(problems)), *problems[:30]]
        if len(problems) > 30:
            lines.append("…")
    if notes:
        lines += ["", *notes[:30]]
    for chunk in chunks(lines):
        await message.reply_text(chunk)


async def _import_rows(context: YishiContext, community: Community, moderator_id: int,
                       rows: list[list[str]], _: Translator) -> tuple[int, list[str], list[str]]:
    services = context.services
    now = services.clock.now()
    imported, problems, notes = 0, [], []
    columns = _columns(rows[0]) if rows else None
    start = 2 if columns else 1
    if columns is None:
        columns = {name: index for index, name in enumerate(LEGACY)}
    async with services.db.transaction() as conn:
        for number, row in enumerate(rows[start - 1:], start=start):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue

            def cell(column: str, cells: list[str] = cells) -> str:
                index = columns.get(column)
                return cells[index] if index is not None and index < len(cells) else ""

            unit_text, area_text, name, who = (cell("unit"), cell("area"),
                                               " ".join(cell("name").split())[:100],
                                               cell("user"))
            relation_text = cell("relation").lower()
            developer = relation_text in DEVELOPER_WORDS
            relation = Relation.OWNER if developer or (not relation_text and name) \
                else RELATION_WORDS.get(relation_text)
            address = UnitAddress.parse(unit_text)
            area = parse_area(area_text) if area_text else None
            problem = None
            if address is None:
                problem = _("row {row}: “{unit}” is not a unit like 3-2-501")
            elif area_text and area is None:
                problem = _("row {row}: “{area}” is not an area in m²")
            elif (who or name or relation_text) and relation is None:
                problem = _("row {row}: the relation must be owner, tenant, family or "
                            "developer")
            elif not who and relation not in (None, Relation.OWNER):
                problem = _("row {row}: a tenant or family member is listed with their "
                            "Telegram account (user)")
            person = None
            if problem is None and who:
                person = await _person(conn, who)
                if person is None and who.lstrip("-").isdigit():
                    # Known by id only: listed now, named when they first write to the bot.
                    person = await people.seen(conn, user_id=int(who),
                                               name=name or f"#{who}", username=None, now=now)
                if person is None and not name:
                    problem = _("row {row}: I do not know {who} yet")
                elif person is None:
                    notes.append(_("row {row}: I do not know {who} yet; {name} is on the "
                                   "register, and is linked when they /join.").format(
                        row=number, who=html.escape(who), name=html.escape(name)))
            if problem is not None:
                problems.append(problem.format(row=number, unit=html.escape(unit_text),
                                               area=html.escape(area_text),
                                               who=html.escape(who)))
                continue
            assert address is not None
            unit = await units.ensure(conn, community.id, address, now)
            if area is not None:
                await units.set_area(conn, unit.id, area)
            if person is not None and relation is not None and not developer:
                await residents.request(conn, community_id=community.id,
                                        user_id=person.user_id, unit_id=unit.id,
                                        relation=relation, area_claimed=area, now=now,
                                        status=ResidentStatus.VERIFIED, decided_by=moderator_id)
            if relation is Relation.OWNER and (name or developer):
                await unit_owners.add(conn, community_id=community.id, unit_id=unit.id,
                                   name=name or _("the developer"),
                                   user_id=person.user_id if person else None,
                                   developer=developer, now=now)
            imported += 1
    return imported, problems, notes


async def not_a_moderator_file(update: Update, context: YishiContext) -> None:
    """A file from someone who moderates nothing: say what files are for."""
    _ = await person_translator(update, context)
    await update.effective_message.reply_text(
        _("Only moderators can send me files, to import the roster."))


async def _moderates_any(update: Update, context: YishiContext) -> bool:
    user = update.effective_user
    return user is not None and bool(await moderated_by(context, user.id))


async def document_in_private(update: Update, context: YishiContext) -> None:
    if await _moderates_any(update, context):
        await import_csv(update, context)
    else:
        await not_a_moderator_file(update, context)


def register(app: YishiApp) -> None:
    private = F.ChatType.PRIVATE
    app.add_handler(CommandHandler("residents", residents_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("residents", residents_in_private, filters=private))
    app.add_handler(CallbackQueryHandler(choose_community, pattern=callbacks.ROSTER_FOR.matches))
    app.add_handler(MessageHandler(private & F.Document.ALL, document_in_private))

