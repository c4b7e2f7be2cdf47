"""/survey in the group, the schedule of rounds, and a round's export.

- ``/survey``: the open round and its link (anyone), or when the next one opens;
  ``/survey S-2``: a closed round's results again.
- ``/survey open`` (moderators): a round now; ``/survey open named`` one whose comments
  carry their writer's name; ``/survey close``: the open round ends now, results posted.
- Every few months (``/settings survey``, quarterly by default) a round opens by itself,
  out of quiet hours; each closes two weeks later.
- ``/export S-2`` (moderators): the results, the handlers' record and the comments.
"""

from __future__ import annotations

from telegram import Update

from bot.context import YishiApp, YishiContext
from bot.domain.models import Community, DueWork, Role
from bot.domain.surveys import every, next_round_at, subject_category
from bot.i18n import N_, translator
from bot.scheduler import Defer, Done, Outcome
from handlers.common import ensure_community, record_audit, refuse, role_of, send_tables
from handlers.surveys import lifecycle
from storage import communities, due_work, people
from storage import surveys as store

ROUND_DUE = "survey_round"  # due work per community: the next round opens by itself


def _ref_number(text: str) -> int | None:
    body = text.upper().removeprefix("S-")
    return int(body) if text.upper().startswith("S-") and body.isascii() and body.isdigit() \
        else None


async def survey_in_group(update: Update, context: YishiContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    args = [a.lower() for a in context.args or []]
    services = context.services
    now = services.clock.now()
    if args and args[0] in ("open", "close"):
        if await role_of(context, community, update) is not Role.MODERATOR:
            await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                             "Nothing was changed."))
            return
        await (_open if args[0] == "open" else _close)(update, context, community, args[1:])
        return
    async with services.db.transaction() as conn:
        number = _ref_number(args[0]) if args else None
        asked = await store.by_number(conn, community.id, number) if number else None
        current = await store.open_in(conn, community.id)
        last = await store.last_opened(conn, community.id)
        before = await store.closed_before(conn, community.id, number) if number else None
    if args and number is None:
        await message.reply_text(_("Usage: /survey, /survey S-2, /survey open [named], "
                                   "/survey close"))
        return
    if number is not None:
        if asked is None or asked.closed_at is None:
            await message.reply_text(_("{ref} has no results yet.").format(ref=f"S-{number}"))
            return
        await message.reply_text(lifecycle.results_text(asked, before, community, _))
        return
    if current is not None:
        await message.reply_text(lifecycle.post_text(current, community, _),
                                 reply_markup=lifecycle.post_markup(services, current, _))
        return
    months = every(community.survey_months)
    await message.reply_text(
        _("No survey round is open. Rounds are off in this group (/settings survey).")
        if not months else
        _("No survey round is open. The next opens about {day}; moderators can open one now "
          "with /survey open.").format(day=lifecycle.local_day(
              max(now, next_round_at(last, community.created_at, months)), community)))


async def _open(update: Update, context: YishiContext, community: Community,
                args: list[str]) -> None:
    message = update.effective_message
    assert message is not None
    _ = translator(community.language)
    services = context.services
    now = services.clock.now()
    user = update.effective_user
    async with services.db.transaction() as conn:
        current = await store.open_in(conn, community.id)
        if current is None:
            opened = await lifecycle.open_round(
                conn, services, community, anonymous=args[:1] != ["named"], now=now,
                opened_by=user.id if user and message.sender_chat is None else None)
    if current is not None:
        await message.reply_text(_("{ref} is open until {day}; /survey close ends it now.")
                                 .format(ref=current.ref, day=lifecycle.local_day(
                                     current.closes_at, community)))
        return
    services.outbox.kick()
    await record_audit(context, community, update, "survey.open", round=opened.ref,
                       anonymous=opened.anonymous)


async def _close(update: Update, context: YishiContext, community: Community,
                 _args: list[str]) -> None:
    message = update.effective_message
    assert message is not None
    _ = translator(community.language)
    services = context.services
    async with services.db.transaction() as conn:
        current = await store.open_in(conn, community.id)
        closed = current is not None and await lifecycle.close_round(
            conn, services, current, community, services.clock.now())
    if not closed:
        await message.reply_text(_("No survey round is open."))
        return
    assert current is not None
    await services.db.flush_journal()
    services.outbox.kick()
    await record_audit(context, community, update, "survey.close", round=current.ref)


async def close_due(app: YishiApp, work: DueWork) -> Outcome:
    """Due work at a round's end: its results, out of quiet hours."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        survey = await store.get(conn, int(work.payload["round"]))
        community = await communities.by_id(conn, survey.community_id) if survey else None
    if survey is None or community is None or not survey.is_open:
        return Done()
    now = services.clock.now()
    if (quiet_until := community.quiet_until(now)) is not None:
        return Defer(quiet_until)
    async with services.db.transaction() as conn:
        closed = await lifecycle.close_round(conn, services, survey, community, now)
    if closed:
        await services.db.flush_journal()
        services.outbox.kick()
    return Done()


async def round_due(app: YishiApp, work: DueWork) -> Outcome:
    """Due work per community: a round opens by itself every few months (none while one
    is open, or sooner than that after one opened by hand)."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, int(work.payload["community"]))
    months = every(community.survey_months) if community else 0
    if community is None or not community.active or not months:
        return Done()
    now = services.clock.now()
    async with services.db.transaction() as conn:
        last = await store.last_opened(conn, community.id)
        current = await store.open_in(conn, community.id)
    due = next_round_at(last, community.created_at, months)
    if current is not None or due > now:
        return Defer(max(due, current.closes_at if current else due))
    if (quiet_until := community.quiet_until(now)) is not None:
        return Defer(quiet_until)
    async with services.db.transaction() as conn:
        await lifecycle.open_round(conn, services, community, opened_by=None, anonymous=True,
                                   now=now)
    services.outbox.kick()
    return Defer(next_round_at(now, community.created_at, months))


async def arm(app: YishiApp, community: Community) -> None:
    """The community's next round is armed for when it falls due (settings changed, or
    the bot joined); with rounds off, nothing is."""
    services = app.bot_data.services
    months = every(community.survey_months)
    async with services.db.transaction() as conn:
        if not months:
            await due_work.cancel(conn, kind=ROUND_DUE, key=str(community.id))
            return
        last = await store.last_opened(conn, community.id)
        await due_work.schedule(conn, kind=ROUND_DUE, key=str(community.id),
                                due_at=next_round_at(last, community.created_at, months),
                                now=services.clock.now(), payload={"community": community.id})


async def arm_all(app: YishiApp) -> None:
    """At start: every active community with rounds on has its next round armed."""
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        armed = await due_work.pending_keys(conn, kind=ROUND_DUE)
        for community in await communities.active(conn):
            months = every(community.survey_months)
            if months and str(community.id) not in armed:
                last = await store.last_opened(conn, community.id)
                await due_work.schedule(
                    conn, kind=ROUND_DUE, key=str(community.id),
                    due_at=next_round_at(last, community.created_at, months), now=now,
                    payload={"community": community.id})


async def export_round(update: Update, context: YishiContext, community: Community) -> None:
    """/export S-2 (moderators, checked by handlers/export.py): the results, the handlers'
    record and the comments (signed only in a named round), as CSV and XLSX in private."""
    message, user = update.effective_message, update.effective_user
    assert message is not None
    _ = translator(community.language)
    number = _ref_number((context.args or [""])[0]) or 0
    async with context.services.db.transaction() as conn:
        survey = await store.by_number(conn, community.id, number)
        notes = await store.comments(conn, survey.id) if survey else []
        names = await people.names(conn, [u for _s, _t, u in notes if u is not None])
    if survey is None or survey.closed_at is None:
        await message.reply_text(_("{ref} has no results yet.").format(ref=f"S-{number}"))
        return
    if user is None or message.sender_chat is not None:
        await message.reply_text(_("Send /export as yourself: the minutes go to you in "
                                   "private."))
        return
    results = survey.results or {}
    summary = [[_("Survey"), survey.ref], [_("Group"), community.title],
               [_("Open"), f"{lifecycle.local_day(survey.opened_at, community)} – "
                           f"{lifecycle.local_day(survey.closed_at, community)}"],
               [_("Households taking part"), str(results.get("households", 0))],
               [_("Subject"), _("Answers"), _("Mean"), "1★", "2★", "3★", "4★", "5★",
                _("Reports"), _("Hours to acknowledge"), _("Hours to resolve"),
                _("Reporters' rating")]]
    for result in lifecycle.thaw(results).values():
        record = (results.get("handlers") or {}).get(subject_category(result.subject), {})
        summary.append([lifecycle.subject_name(result.subject, _), str(result.answers),
                        _fmt(result.mean), *[str(n) for n in result.counts],
                        *[_fmt(record.get(k)) for k in ("reports", "ack", "resolve",
                                                         "rating")]])
    table = [[_("Subject"), _("Comment"), _("Written by")],
             *[[lifecycle.subject_name(subject, _), text,
                names[u].name if u is not None and u in names else ""]
               for subject, text, u in notes]]
    if not await send_tables(context, user.id, survey.ref, summary, table):
        await message.reply_text(_("I can only send the results in private. Start a chat "
                                   "with me, then send /export again."))
        return
    await message.reply_text(_("The results of {ref} are sent to you in private.").format(
        ref=survey.ref))


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.1f}"  # type: ignore[arg-type]
