"""/polls, /audit P-n (the vote log's chain checked) and the minutes of a poll for
/export P-n."""

from __future__ import annotations

import html
import re

from telegram import Update
from telegram.error import Forbidden

from bot.context import YishiApp, YishiContext
from bot.domain.chain import replay, verify
from bot.domain.models import Community
from bot.domain.polls import (
    Poll,
    PollStatus,
)
from bot.exports import csv_bytes, xlsx_bytes
from bot.i18n import Translator, translator
from handlers.common import (
    ensure_community,
    record_audit,
)
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


async def audit_poll(update: Update, context: YishiContext) -> None:
    """/audit P-3: recompute the vote log's hash chain and check the ballots against it."""
    found = await _poll_from_args(update, context)
    if found is None:
        return
    poll, community = found
    _ = translator(community.language)
    async with context.services.db.transaction() as conn:
        links = await store.chain(conn, poll.id)
        rows = await store.ballot_rows(conn, poll.id)
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
    await update.effective_message.reply_text(text.format(
        ref=poll.ref, entries=check.entries, entry=check.broken_at))


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
    try:
        await context.bot.send_document(user.id, csv_bytes(summary, table),
                                        filename=f"{poll.ref}.csv")
        await context.bot.send_document(user.id, xlsx_bytes(summary, table),
                                        filename=f"{poll.ref}.xlsx")
    except Forbidden:
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
        named = await people.names(conn, [r["user_id"] for r in rows if r["user_id"]])
        roster = await residents.households(conn, poll.community_id)
    units_by_id = {h.unit_id: h for h in roster}
    table = [[_("Unit"), _("Voter"), _("Choice"), _("Entered by a moderator"), _("Time")]]
    for row in rows:
        unit = units_by_id.get(row["unit_id"])
        person = named.get(row["user_id"]) if row["user_id"] else None
        table.append([unit.address.code if unit else "",
                      person.name if person else "",
                      " / ".join(poll.options[i] for i in row["choice"]),
                      _("yes") if row["proxy_by"] else "",
                      _local(row["at"], community)])
    return summary, table
