"""/polls, /audit P-n (the vote log's chain checked) and the minutes of a poll for
/export P-n."""

from __future__ import annotations

import html
import re
from typing import Any

from telegram import ReplyParameters, Update
from telegram.error import Forbidden

from bot.context import YishiApp, YishiContext
from bot.domain.chain import GENESIS, Link, replay, verify
from bot.domain.models import Community, Role
from bot.domain.polls import (
    Poll,
    PollStatus,
    area,
    m2,
    units_not_voted,
)
from bot.i18n import N_, Translator, translator
from handlers.common import (
    ensure_community,
    person_language,
    record_audit,
    role_of,
    send_tables,
)
from handlers.outgoing import chunks
from handlers.polls.method_texts import ballot_words
from handlers.polls.texts import (
    _count_now,
    _describe,
    _local,
    _settings_of,
    _verdict_short,
    _weight,
    turnout_text,
    verdict_text,
)
from storage import people, residents
from storage import polls as store


async def list_polls(update: Update, context: YishiContext) -> None:
    """/polls in the group: open polls and the most recent closed ones."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    async with context.services.db.transaction() as conn:
        recent = await store.recent(conn, community.id)
    if not recent:
        await message.reply_text(_("No polls yet. Moderators create them with /poll."))
        return
    lines = [_("<b>Polls in {group}</b>").format(group=html.escape(community.title))]
    for poll in recent:
        if poll.status is PollStatus.OPEN:
            state = _("open until {when}").format(when=_local(poll.deadline, community))
        elif poll.status is PollStatus.NOTICE and poll.opens_at is not None:
            state = _("announced: voting opens {when}").format(
                when=_local(poll.opens_at, community))
        elif poll.status is PollStatus.CANCELLED:
            state = _("cancelled")
        else:
            state = _("closed: {outcome}").format(outcome=_verdict_short(poll, _))
        lines.append(f"{poll.ref} · {html.escape(poll.question[:80])} — {state}")
    await message.reply_text("\n".join(lines))


async def _poll_from_args(update: Update, context: YishiContext) -> tuple[Poll, Community] | None:
    """The poll named in the command (P-3 or 3) in this group; says so when there is none."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    raw = (context.args or [""])[0].upper().removeprefix("P-")
    poll = None
    if raw.isdigit():
        async with context.services.db.transaction() as conn:
            poll = await store.by_number(conn, community.id, int(raw))
    if poll is None:
        await message.reply_text(_("Name a poll of this group, e.g. P-3 (see /polls)."))
        return None
    return poll, community


HEAD = re.compile(r"\b[0-9a-f]{64}\b")
RECEIPT = re.compile(r"^[0-9a-f]{8,64}$")


async def audit_poll(update: Update, context: YishiContext) -> None:
    """/audit P-3 [RECEIPT]: recompute the vote log's hash chain, check the ballots against
    it and, once the poll is closed, its head against the head posted in the group (read
    back from Telegram, out of reach of anyone who rewrites the database); with a receipt,
    whether the ballot behind it is counted."""
    found = await _poll_from_args(update, context)
    if found is None:
        return
    poll, community = found
    message = update.effective_message
    _ = translator(community.language)
    async with context.services.db.transaction() as conn:
        links = await store.chain(conn, poll.id)
        rows = await store.ballot_rows(conn, poll.id)
        voided = await store.voids(conn, poll.id)
    check = verify(links)
    stored_ballots = {r["voter_key"]: list(r["choice"]) for r in rows}
    matches = check.intact and replay(link.entry for link in links) == stored_ballots
    if matches:
        text = _("{ref}: the vote log is intact ({entries} entries) and the ballots match it.")
    elif not check.intact:
        text = _("{ref}: the vote log is BROKEN at entry {entry}: a record was changed or "
                 "removed.")
    else:
        text = _("{ref}: the ballots do NOT match the vote log: a ballot was changed outside "
                 "the bot.")
    text = text.format(ref=poll.ref, entries=check.entries, entry=check.broken_at)
    args = context.args or []
    if len(args) > 1:
        text += "\n" + _receipt_text(args[1].strip().lower(), links, voided, poll, _)
    if poll.head_message_id is None or poll.head_chat_id is None:
        if poll.status is PollStatus.CLOSED and poll.head_hash is None:
            text += "\n" + _("This poll closed before heads were posted; only the chain "
                             "itself can be checked.")
        elif poll.status is not PollStatus.CLOSED:
            text += "\n" + _("Its head is posted in the group when the poll closes.")
        await message.reply_text(text)
        return
    # Answer under the posted result: Telegram sends back the message replied to, with the
    # head as the group read it.
    head = links[-1].hash if links else GENESIS
    sent = await message.chat.send_message(
        _("Checking {ref} against the head posted in the group…").format(ref=poll.ref),
        reply_parameters=ReplyParameters(message_id=poll.head_message_id,
                                         chat_id=poll.head_chat_id,
                                         allow_sending_without_reply=True))
    posted = sent.reply_to_message.text if sent.reply_to_message else None
    seen = HEAD.findall(posted or "")
    if not seen:
        text += "\n" + _("The message with the head posted at closing is gone, so the log "
                         "cannot be compared with it.")
    elif seen[-1] == head and matches:
        text += "\n" + _("Its head {head} is the one posted in the group at closing: the "
                         "log has not been changed since.").format(head=head[:16])
    else:
        text += "\n" + _("Its head {head} is NOT the one posted in the group at closing "
                         "({posted}): the log was rewritten after the poll closed.").format(
            head=head[:16], posted=seen[-1][:16])
    await sent.edit_text(text)


def _receipt_text(receipt: str, links: list[Link], voided: list[dict[str, Any]], poll: Poll,
                  _: Translator) -> str:
    """What became of the ballot a receipt was given for (names no one)."""
    if not RECEIPT.match(receipt):
        return _("A receipt is the code of letters and digits the bot showed when the vote "
                 "was recorded, e.g. /audit {ref} 3f2a9c01b7de.").format(ref=poll.ref)
    found = [link for link in links if link.hash.startswith(receipt)]
    if len(found) != 1:
        return _("Receipt {receipt}: no such ballot in the vote log of {ref}.").format(
            receipt=receipt, ref=poll.ref)
    entry = found[0]
    later = [link for link in links if link.seq > entry.seq
             and link.entry.get("voter") == entry.entry.get("voter")]
    if not later:
        if not entry.entry.get("choice"):
            return _("Receipt {receipt}: entry {seq} of the log withdrew a ballot; nothing "
                     "of it is counted.").format(receipt=receipt, seq=entry.seq)
        return _("Receipt {receipt}: the ballot is entry {seq} of the vote log and is counted "
                 "as cast.").format(receipt=receipt, seq=entry.seq)
    last = later[-1]
    if last.entry.get("void"):
        return _("Receipt {receipt}: the ballot (entry {seq}) was voided by a moderator at "
                 "entry {last}. Reason: {reason}").format(
            receipt=receipt, seq=entry.seq, last=last.seq,
            reason=html.escape(str(last.entry["void"])))
    return _("Receipt {receipt}: the ballot (entry {seq}) was replaced by a later one for the "
             "same vote (entry {last}); the later one counts.").format(
        receipt=receipt, seq=entry.seq, last=last.seq)


async def export_poll(update: Update, context: YishiContext) -> None:
    """/export P-3 (moderators, checked by handlers/export.py): the minutes as CSV and XLSX,
    sent in private."""
    found = await _poll_from_args(update, context)
    if found is None:
        return
    poll, community = found
    user = update.effective_user
    _ = translator(community.language)
    if user is None or update.effective_message.sender_chat is not None:
        await update.effective_message.reply_text(_("Send /export as yourself: the minutes go "
                                                    "to you in private."))
        return
    summary, table = await _minutes(context.application, poll, community, _)
    if not await send_tables(context, user.id, poll.ref, summary, table):
        await update.effective_message.reply_text(_("I can only send the minutes in private. "
                                                    "Start a chat with me, then send /export "
                                                    "again."))
        return
    await record_audit(context, community, update, "poll.export", poll=poll.id)
    await update.effective_message.reply_text(_("I sent you the minutes of {ref} in private.")
                                              .format(ref=poll.ref))


async def _minutes(app: YishiApp, poll: Poll, community: Community,
                   _: Translator) -> tuple[list[list[str]], list[list[str]]]:
    result, meaning, figures = await _count_now(app, poll)
    summary = [
        [_("Poll"), f"{poll.ref} {poll.question}"],
        [_("Group"), community.title],
        [_("Options"), " / ".join(poll.options)],
        [_("Deadline"), _local(poll.deadline, community)],
        *([re.split(r"[:：]\s*", line, maxsplit=1)
           for line in _describe(_settings_of(poll), _)]),
        [_("Turnout"), turnout_text(figures, _)],
        *[[option, f"{result.votes[i]} / {_weight(result.weights[i], poll)}"]
          for i, option in enumerate(poll.options)],
        [_("Status"), poll.status.value],
    ]
    if poll.status is PollStatus.CLOSED:
        summary.append([_("Verdict"), verdict_text(poll, meaning, _)])
    if poll.secret:
        # Who took part, never what they chose.
        async with app.bot_data.services.db.transaction() as conn:
            took_part = await people.names(conn, await store.participants(conn, poll.id))
        table = [[_("Took part (secret ballot)")],
                 *[[person.name] for person in took_part.values()]]
        return summary, table
    async with app.bot_data.services.db.transaction() as conn:
        rows = await store.ballot_rows(conn, poll.id)
        voided = await store.voids(conn, poll.id)
        named = await people.names(conn, [r["user_id"] for r in rows if r["user_id"]])
        roster = await residents.households(conn, poll.community_id)
    units_by_id = {h.unit_id: h for h in roster}

    def unit_code(unit_id: int | None) -> str:
        unit = units_by_id.get(unit_id) if unit_id else None
        return unit.address.code if unit else ""

    def voter(row: dict[str, Any]) -> str:
        if row.get("proxy_by") is not None or row.get("paper"):
            return _("{name} (paper ballot)").format(name=row.get("signed_by") or "—")
        person = named.get(row["user_id"]) if row.get("user_id") else None
        # Someone who asked to be forgotten: the unit stays, as the record needs.
        return person.name if person else _("(asked to be forgotten)")

    table = [[_("Unit"), _("Voter"), _("Choice"), _("Entered by a moderator"), _("Time")]]
    for row in rows:
        table.append([unit_code(row["unit_id"]), voter(row),
                      ballot_words(poll, row["choice"], _),
                      _("yes") if row["proxy_by"] else "",
                      _local(row["at"], community)])
    if voided:
        table += [[], [_("Voided ballots"), "", "", _("Reason"), _("Time")]]
        table += [[unit_code(v["unit_id"]), voter(v),
                   ballot_words(poll, v["choice"], _), v["reason"],
                   _local(v["at"], community)] for v in voided]
    return summary, table


async def not_voted(update: Update, context: YishiContext) -> None:
    """/notvoted P-3 [building]: the households that have not voted yet, with the owners on
    the register, to knock on doors. Moderators see every building (or the one named); a
    building lead sees the buildings they live in. Sent in private: it names people."""
    found = await _poll_from_args(update, context)
    if found is None:
        return
    poll, community = found
    message, user = update.effective_message, update.effective_user
    _ = translator(community.language)
    role = await role_of(context, community, update)
    if user is None or message.sender_chat is not None \
            or role not in (Role.MODERATOR, Role.BUILDING_LEAD):
        await message.reply_text(_("Only moderators and building leads can see which "
                                   "households have not voted."))
        return
    if poll.status is not PollStatus.OPEN or not poll.counts_units:
        await message.reply_text(_("{ref} is not an open poll counted by household.").format(
            ref=poll.ref))
        return
    async with context.services.db.transaction() as conn:
        roster = await residents.households(conn, community.id)
        voted = await store.household_voters(conn, poll.id)
    reader = translator(await person_language(context, user))
    buildings: set[str] | None = None
    if role is Role.BUILDING_LEAD:
        buildings = {h.address.building for h in roster
                     if any(m.user_id == user.id for m in h.members)}
    if len(context.args or []) > 1:
        named = context.args[1].upper()
        buildings = {named} if buildings is None or named in buildings else set()
    missing = [h for h in units_not_voted(roster, poll.scope, voted)
               if buildings is None or h.address.building in buildings]
    lines = [reader(N_("<b>{ref}: households that have not voted</b> ({count})")).format(
        ref=poll.ref, count=len(missing))]
    for household in missing:
        owners = [o.name for o in household.registered]
        line = f"{household.address.code}"
        if household.area_m2 is not None:
            line += " · " + reader(N_("{area} m²")).format(area=m2(area(household.area_m2)))
        if owners:
            line += " · " + html.escape(reader.join(owners))
        if not household.members:
            line += " · " + reader(N_("not on Telegram: a paper ballot"))
        lines.append(line)
    if not missing:
        lines.append(reader(N_("Every household in scope has voted.")))
    try:
        for chunk in chunks(lines):
            await context.bot.send_message(user.id, chunk)
    except Forbidden:
        await message.reply_text(_("I can only send the list in private. Start a chat with "
                                   "me, then send /notvoted again."))
        return
    if message.chat.id != user.id:
        await message.reply_text(_("I sent you the list in private."))
