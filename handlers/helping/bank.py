"""/timebank: in private, a person's balance and history in each building, giving credits
to a member of their household (who accepts), and ``/timebank certificate [year]``, a PDF
of the hours they gave; in the group, the rates, and for moderators
``/timebank rate <kind> <credits>`` and ``/timebank undo H-3 <reason>``."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import YishiContext
from bot.domain.helping import EntryKind, Kind, TransferStatus, hours, shown
from bot.domain.models import Community, Role
from bot.exports import pdf_bytes
from bot.i18n import N_, Translator, translator
from handlers import outgoing
from handlers.common import (
    communities_of,
    ensure_community,
    person_translator,
    record_audit,
    refuse,
    role_of,
)
from handlers.helping import callbacks
from handlers.helping.reversals import take_back, take_back_transfer
from handlers.helping.texts import KIND_NAMES, local
from storage import communities, outbox, people, residents, volunteering
from storage import helping as store

HISTORY_SHOWN = 10
REASON_MAX = 300

_ENTRY = {
    EntryKind.DEPOSIT: N_("{when} +{amount} for helping ({ref})"),
    EntryKind.WITHDRAWAL: N_("{when} −{amount} paid for help ({ref})"),
    EntryKind.TRANSFER_OUT: N_("{when} −{amount} given to your household ({ref})"),
    EntryKind.TRANSFER_IN: N_("{when} +{amount} from your household ({ref})"),
    EntryKind.REVERSAL: N_("{when} {sign}{amount} taken back by the moderators ({ref}): "
                           "{reason}"),
}


async def timebank(update: Update, context: YishiContext) -> None:
    """/timebank: private view, or the group's rates and the moderators' subcommands."""
    chat = update.effective_chat
    if chat is not None and chat.type != chat.PRIVATE:
        await _in_group(update, context)
        return
    args = context.args or []
    if args and args[0].lower() == "certificate":
        await _certificate(update, context, args[1:])
        return
    await _mine(update, context)


async def _certificate(update: Update, context: YishiContext, args: list[str]) -> None:
    """/timebank certificate [year]: a PDF per building of the hours the person gave that
    year — each piece of help confirmed and each volunteer activity attended."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    now = context.services.clock.now()
    year = int(args[0]) if args and args[0].isascii() and args[0].isdigit() \
        and 2000 <= int(args[0]) <= now.year else now.year
    sent = False
    for community in await communities_of(context, user.id):
        zone = ZoneInfo(community.timezone)
        start = datetime(year, 1, 1, tzinfo=zone)
        end = datetime(year + 1, 1, 1, tzinfo=zone)
        async with context.services.db.transaction() as conn:
            given = await store.given_by(conn, community.id, user.id, start, end)
            came = await volunteering.attended_by(conn, community.id, user.id, start, end)
            person = await people.get(conn, user.id)
        if not given and not came:
            continue
        rows = sorted([(h.starts_at, f"{h.ref} {_(KIND_NAMES[h.kind])}",
                        h.claimed_minutes or 0) for h in given]
                      + [(a.starts_at, f"{a.ref} {a.title}", a.minutes) for a in came])
        minutes = sum(m for _at, _what, m in rows)
        name = person.name if person else user.full_name
        paragraphs = [
            _("{name} gave {hours} h of service to the neighbours of {group} in {year}: "
              "helping a neighbour {helps} times and at {activities} volunteer activities.")
            .format(name=name, hours=hours(minutes), group=community.title, year=year,
                    helps=len(given), activities=len(came)),
            _("From the records of the group's time bank, confirmed by the neighbours helped "
              "and by the organisers. Issued {date}.").format(
                date=f"{now.astimezone(zone):%Y-%m-%d}"),
        ]
        table = [[_("Date"), _("Service"), _("Hours")]] + [
            [f"{at.astimezone(zone):%Y-%m-%d}", what, hours(m)] for at, what, m in rows]
        # reportlab takes a while: in a thread, so answers to others do not wait on it.
        pdf = await asyncio.to_thread(
            pdf_bytes, _("Certificate of volunteer service, {year}").format(year=year),
            paragraphs, table)
        await message.reply_document(
            pdf, filename=f"volunteer-hours-{year}.pdf",
            caption=_("Your volunteer hours in {group} for {year}: {hours} h.").format(
                group=html.escape(community.title), year=year, hours=hours(minutes)))
        sent = True
    if not sent:
        await message.reply_text(_("You have no confirmed volunteer hours in {year} yet.")
                                 .format(year=year))


async def _mine(update: Update, context: YishiContext) -> None:
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    mine = await communities_of(context, user.id)
    if not mine:
        await message.reply_text(_("I do not know your building's group yet."))
        return
    parts, rows = [], []
    async with context.services.db.transaction() as conn:
        for community in mine:
            have = await store.balance(conn, community.id, user.id)
            history = await store.history(conn, community.id, user.id)
            lines = [_("<b>Time bank in {group}</b>: {balance} credits").format(
                group=html.escape(community.title), balance=shown(have))]
            lines += [_entry_line(e, community, _) for e in history[-HISTORY_SHOWN:]]
            if not history:
                lines.append(_("Nothing yet. Help a neighbour (/offerhelp, or answer a "
                               "request in the group) and the hours come here."))
            parts.append("\n".join(lines))
            if have > 0:
                family = await _household(conn, community.id, user.id)
                names = await people.names(conn, family)
                rows += [[InlineKeyboardButton(
                    _("Give credits to {name}").format(name=names[m].name),
                    callback_data=callbacks.GIVE_TO.data(community.id, m))]
                    for m in family if m in names and names[m].started]
    await message.reply_text("\n\n".join(parts),
                             reply_markup=InlineKeyboardMarkup(rows) if rows else None)


def _entry_line(entry: Any, community: Community, _: Translator) -> str:
    return _(_ENTRY[entry.kind]).format(
        when=local(entry.at, community)[:10], amount=shown(abs(entry.amount)), ref=entry.ref,
        sign="+" if entry.amount > 0 else "−", reason=html.escape(entry.reason or ""))


async def _household(conn: Any, community_id: int, user_id: int) -> list[int]:
    """The other verified members of the person's units in the community."""
    mine = (await residents.households_of(conn, community_id, [user_id])).get(user_id, [])
    return sorted({m.user_id for h in mine for m in h.members if m.user_id != user_id})


async def _in_group(update: Update, context: YishiContext) -> None:
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    args = context.args or []
    if args and args[0].lower() in ("rate", "undo"):
        if await role_of(context, community, update) is not Role.MODERATOR:
            await message.reply_text(_("Sorry, only the group's moderators can do that. "
                                       "Nothing was changed."))
            return
        if args[0].lower() == "rate":
            await _set_rate(update, context, community, args[1:])
        else:
            await _undo(update, context, community, args[1:])
        return
    async with context.services.db.transaction() as conn:
        rates = await store.rates(conn, community.id, context.services.settings.timebank.rates)
    lines = [_("<b>Time bank in {group}</b>: an hour of help earns, in credits:").format(
        group=html.escape(community.title))]
    lines += [_("{kind}: {rate}").format(kind=_(KIND_NAMES[k]), rate=shown(int(rates.of(k)
                                                                              * 100)))
              for k in Kind]
    lines.append(_("Ask for help with /needhelp, offer it with /offerhelp; send /timebank to "
                   "me in private for your balance."))
    await message.reply_text("\n".join(lines))


async def _set_rate(update: Update, context: YishiContext, community: Community,
                    args: list[str]) -> None:
    message = update.effective_message
    assert message is not None
    _ = translator(community.language)
    kind = Kind(args[0].lower()) if args and args[0].lower() in {k.value for k in Kind} \
        else None
    try:
        rate = Decimal(args[1]) if len(args) == 2 else None
    except InvalidOperation:
        rate = None
    if kind is None or rate is None or not Decimal(0) <= rate <= Decimal(10) \
            or rate != rate.quantize(Decimal("0.01")):
        await message.reply_text(_("Write it like this: /timebank rate elderly 1.5 (kinds: "
                                   "{kinds}; from 0 to 10 credits an hour, at most two "
                                   "decimals). Nothing was changed.").format(
            kinds=", ".join(k.value for k in Kind)))
        return
    async with context.services.db.transaction() as conn:
        await store.set_rate(conn, community.id, kind, rate)
    await record_audit(context, community, update, "timebank.rate", kind=kind.value,
                       rate=str(rate))
    await message.reply_text(_("An hour of “{kind}” now earns {rate} credits in {group}.")
                             .format(kind=_(KIND_NAMES[kind]), rate=shown(int(rate * 100)),
                                     group=html.escape(community.title)))


async def _undo(update: Update, context: YishiContext, community: Community,
                args: list[str]) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = translator(community.language)
    ref = args[0].upper() if args else ""
    reason = " ".join(args[1:]).strip()
    if not (ref[:2] in ("H-", "T-") and ref[2:].isascii() and ref[2:].isdigit()) \
            or not reason or len(reason) > REASON_MAX:
        await message.reply_text(_("Write it like this: /timebank undo H-3 the reason, or "
                                   "T-2 for a transfer (at most {limit} characters; the "
                                   "neighbours concerned are shown it). Nothing was "
                                   "changed.").format(limit=REASON_MAX))
        return
    services = context.services
    now = services.clock.now()
    try:
        async with services.db.transaction() as conn:
            if ref.startswith("H-"):
                code, _found, taken = await take_back(conn, services, community, int(ref[2:]),
                                                      user.id, reason, now)
            else:
                code, taken = await take_back_transfer(conn, services, community,
                                                       int(ref[2:]), user.id, reason, now)
            if code is not None:
                raise _Refused(code)  # nothing of a refused reversal is kept
    except _Refused as refused:
        code = refused.msgid
    if code is not None:
        refusals = {
            "gone": _("There is no {ref} in this group."),
            "not_done": _("{ref} was not confirmed, so there is nothing to take back."),
            "reversed": _("{ref} was reversed before."),
            "spent": _("The credits of {ref} have been spent or given since, so they cannot "
                       "be taken back. Nothing was changed."),
        }
        await message.reply_text(refusals[code].format(ref=ref))
        return
    services.outbox.kick()
    if ref.startswith("T-"):
        await message.reply_text(_("Reversed {ref}: {credits} credits are back with the "
                                   "giver. Both were told the reason.").format(
            ref=ref, credits=shown(taken)))
        return
    await message.reply_text(_("Took back {ref}: {credits} credits and its points. Both "
                               "neighbours were told the reason.").format(
        ref=ref, credits=shown(taken)))


# --- giving credits to one's household ---------------------------------------------------


async def _giver_check(update: Update, context: YishiContext, community_id: int,
                       receiver: int) -> tuple[Community, int, str] | None:
    """The community, the giver's balance and the receiver's name, if the receiver is in
    the giver's household there; else refused."""
    user = update.effective_user
    assert user is not None
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, community_id)
        family = await _household(conn, community_id, user.id) if community else []
        have = await store.balance(conn, community_id, user.id)
        names = await people.names(conn, [receiver])
    if community is None or receiver not in family or receiver not in names:
        await refuse(update, context, N_("Credits can be given only to a member of your "
                                         "household on the building's roster."))
        return None
    if not names[receiver].started:
        await refuse(update, context, N_("They have not started a chat with me yet, so I "
                                         "cannot ask them to accept. Ask them to send me "
                                         "/start first."))
        return None
    return community, have, names[receiver].name


async def give_to(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    values = callbacks.GIVE_TO.parse(query.data)
    assert values is not None
    checked = await _giver_check(update, context, *values)
    if checked is None:
        return
    _community, have, name = checked
    _ = await person_translator(update, context)
    amounts = sorted({a for a in (100, 200, 500) if a < have} | {have})
    await query.answer()
    await query.edit_message_text(
        _("How many credits for {name}? You have {balance}.").format(
            name=html.escape(name), balance=shown(have)),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
            shown(a), callback_data=callbacks.GIVE_AMOUNT.data(values[0], values[1], a))
            for a in amounts]]))


async def give_amount(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    values = callbacks.GIVE_AMOUNT.parse(query.data)
    assert values is not None
    checked = await _giver_check(update, context, values[0], values[1])
    if checked is None:
        return
    _community, have, name = checked
    _ = await person_translator(update, context)
    if not 0 < values[2] <= have:
        await refuse(update, context, N_("You do not have that many credits."))
        return
    await query.answer()
    await query.edit_message_text(
        _("Give {amount} credits to {name}? They will be asked to accept.").format(
            amount=shown(values[2]), name=html.escape(name)),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Give"), callback_data=callbacks.GIVE_SURE.data(*values))]]))


async def give_sure(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = callbacks.GIVE_SURE.parse(query.data)
    assert values is not None
    checked = await _giver_check(update, context, values[0], values[1])
    if checked is None:
        return
    community, have, name = checked
    if not 0 < values[2] <= have:
        await refuse(update, context, N_("You do not have that many credits."))
        return
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        transfer_id = await store.ask_transfer(conn, community_id=community.id,
                                               from_id=user.id, to_id=values[1],
                                               amount=values[2], now=now)
        giver = await people.names(conn, [user.id])
        await outbox.queue(conn, await outgoing.to_people(
            conn, [values[1]], f"transfer:{transfer_id}:ask", services.default_language,
            lambda _: _("{name} would like to give you {amount} credits from their time bank "
                        "in {group}. Accept them?").format(
                name=html.escape(giver[user.id].name if user.id in giver else "?"),
                amount=shown(values[2]), group=html.escape(community.title)),
            buttons=lambda _: InlineKeyboardMarkup([[
                InlineKeyboardButton(_("Accept"),
                                     callback_data=callbacks.ACCEPT.data(transfer_id, "yes")),
                InlineKeyboardButton(_("No, thank you"),
                                     callback_data=callbacks.ACCEPT.data(transfer_id, "no"))]])),
            now)
    services.outbox.kick()
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(_("Asked {name} to accept {amount} credits (T-{number}).")
                                  .format(name=html.escape(name), amount=shown(values[2]),
                                          number=transfer_id))


class _Refused(Exception):
    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid


async def accept(update: Update, context: YishiContext) -> None:
    """The receiver accepts (or not): the credits move in one transaction, or not at all."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = callbacks.ACCEPT.parse(query.data)
    assert values is not None
    services = context.services
    now = services.clock.now()
    status = TransferStatus.DONE if values[1] == "yes" else TransferStatus.DECLINED
    try:
        async with services.db.transaction() as conn:
            row = await store.transfer(conn, values[0])
            if row is None or row["to_id"] != user.id:
                raise _Refused(N_("This button is out of date."))
            if not await store.decide_transfer(conn, values[0], status, now):
                raise _Refused(N_("This was settled before."))
            ref = f"T-{values[0]}"
            if status is TransferStatus.DONE:
                try:
                    await store.enter(conn, community_id=row["community_id"],
                                      user_id=row["from_id"], kind=EntryKind.TRANSFER_OUT,
                                      amount=-row["amount"], ref=ref, now=now)
                except store.Overdrawn:
                    raise _Refused(N_("The giver no longer has that many credits. Nothing "
                                      "was changed.")) from None
                await store.enter(conn, community_id=row["community_id"], user_id=user.id,
                                  kind=EntryKind.TRANSFER_IN, amount=row["amount"], ref=ref,
                                  now=now)
            names = await people.names(conn, [user.id])
            said = (N_("{name} accepted the {amount} credits you gave ({ref}).")
                    if status is TransferStatus.DONE else
                    N_("{name} did not accept the {amount} credits ({ref}); they stay "
                       "yours."))
            await outbox.queue(conn, await outgoing.to_people(
                conn, [row["from_id"]], f"transfer:{values[0]}:{status.value}",
                services.default_language, lambda _: _(said).format(
                    name=html.escape(names[user.id].name if user.id in names else "?"),
                    amount=shown(row["amount"]), ref=ref)), now)
    except _Refused as refused:
        await refuse(update, context, refused.msgid)
        return
    services.outbox.kick()
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(
        _("Accepted: {amount} credits are in your time bank ({ref}).").format(
            amount=shown(row["amount"]), ref=ref) if status is TransferStatus.DONE else
        _("Declined ({ref}).").format(ref=ref))
