"""What the scheduler runs for reports: the handlers' reminders before each time limit,
the moderators' escalation when one passes, the overdue reminders after it, the wait for
the reporter's answer, the check weeks later, and group notices held back by quiet hours."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.context import YishiApp
from bot.domain.models import Community, DueWork
from bot.domain.reports import (
    OPEN_STATUSES,
    WARNS_OF,
    Report,
    ReportStatus,
    Timer,
    reminder_useful,
)
from bot.i18n import N_
from bot.report_names import (
    CATEGORY_NAMES,
    STATUS_NAMES,
    display_name,
)
from bot.scheduler import Defer, Done, Outcome
from bot.services import Services
from handlers import outgoing
from handlers.moderators import moderator_ids
from handlers.reports import callbacks
from handlers.reports.lifecycle import (
    _send_group_notice,
    _tell_handlers,
    change_status,
)
from handlers.reports.routing import ROUTE_AGAIN_AFTER, deliver_new
from handlers.reports.texts import _handler_buttons
from storage import Connection, communities, due_work, outbox
from storage import reports as store


async def _live(services: Services, work: DueWork) -> tuple[Report, Community] | None:
    """The report a due item is about, with its community, unless either is gone."""
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None or not community.active:
        return None
    return report, community


async def group_notice(app: YishiApp, work: DueWork) -> Outcome:
    """A group notice held back by quiet hours."""
    services = app.bot_data.services
    found = await _live(services, work)
    if found is None:
        return Done()
    report, community = found
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    await _send_group_notice(app.bot_data.services, community, report,
                             work.payload["what"])
    return Done()


async def route_again(app: YishiApp, work: DueWork) -> Outcome:
    """A new report whose copies never reached its handlers (the bot died, or Telegram
    failed, right after it was filed): they go now; while Telegram fails, again later."""
    services = app.bot_data.services
    found = await _live(services, work)
    if found is None:
        return Done()
    report, community = found
    if report.notices:  # they went; only the note that they had was lost
        return Done()
    if not await deliver_new(app.bot, services, community, report):
        return Defer(services.clock.now() + ROUTE_AGAIN_AFTER)
    return Done()


async def still_fixed(app: YishiApp, work: DueWork) -> Outcome:
    """Weeks after closing (FixMyStreet asks after four), the reporter and the followers are
    asked once whether it stayed fixed."""
    found = await _still_due(app, work, (ReportStatus.CLOSED,))
    if not isinstance(found, tuple):
        return found
    report, _community = found
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # Keyed by the report as it was closed and the person: handled again after a crash
        # (the scheduler's lease moves the item's time on, so not by that), nobody is
        # asked twice; a later fix of the same report asks again.
        followers = await store.followers(conn, report.id)
        await outbox.queue(conn, await outgoing.to_people(
            conn, [u for u in (report.reporter_id, *followers) if u],
            f"report:{report.id}:still-fixed:{report.updated_at.isoformat()}",
            services.default_language,
            lambda _: _("A few weeks ago {ref} ({category}) was fixed. Is it still "
                        "fixed?").format(ref=report.ref, category=display_name(
                            CATEGORY_NAMES, report.category, _)),
            buttons=lambda _: InlineKeyboardMarkup([[
                InlineKeyboardButton(_("Yes, still fixed"), callback_data=callbacks
                                     .STILL_FIXED.data(report.id, "yes")),
                InlineKeyboardButton(_("No, it is broken again"), callback_data=callbacks
                                     .STILL_FIXED.data(report.id, "no"))]])), now)
    services.outbox.kick()
    return Done()


async def _still_due(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...], *,
                    quiet: bool = True) -> tuple[Report, Community] | Outcome:
    """The report a due item is about and its community, if the report is still in one of
    ``still``; otherwise what the scheduler is to do: Done (it was handled in time, or is
    gone), or, with ``quiet``, Defer to the end of the group's quiet hours."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        report = await store.get(conn, work.payload["report"])
        community = await communities.by_id(conn, report.community_id) if report else None
    if report is None or community is None or report.status not in still:
        return Done()
    quiet_until = community.quiet_until(services.clock.now()) if quiet else None
    if quiet_until is not None:
        return Defer(quiet_until)
    return report, community


async def _escalate(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...],
                    msgid: str, *,
                    then: Callable[[Connection, datetime], Awaitable[None]] | None = None,
                    ) -> Outcome:
    """The moderators hear that a limit passed; ``then`` arms what follows, in the same
    transaction."""
    found = await _still_due(app, work, still)
    if not isinstance(found, tuple):
        return found
    report, community = found
    services = app.bot_data.services
    now = services.clock.now()
    recipients = await moderator_ids(app.bot, services, community)
    async with services.db.transaction() as conn:
        # Each moderator's word is queued under the limit's name and the report's round (a
        # reopened report has its limits again): an escalation run again after a crash, or
        # a send retried, reaches nobody twice.
        rounds = sum(e.status is ReportStatus.REOPENED
                     for e in await store.timeline(conn, report.id))
        key = f"report:{report.id}:{work.kind}:{rounds}"
        owed = await outgoing.to_people(
            conn, recipients, key, services.default_language, lambda _: _(msgid).format(
                ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _),
                status=_(STATUS_NAMES[report.status]), group=html.escape(community.title)),
            buttons=lambda _: _handler_buttons(report, _))
        await outbox.queue(conn, owed, now)
        if then is not None:
            await then(conn, now)
    services.outbox.kick()
    return Done()


async def _remind_handlers(app: YishiApp, work: DueWork, still: tuple[ReportStatus, ...],
                           msgid: str) -> Outcome:
    """Before a limit passes: whoever has the report (else its handlers) hears — unless
    quiet hours would hold the reminder back until the limit has passed."""
    found = await _still_due(app, work, still, quiet=False)
    if not isinstance(found, tuple):
        return found
    report, community = found
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        limit = await due_work.pending(conn, kind=WARNS_OF[Timer(work.kind)].value,
                                       key=str(report.id))
    now = services.clock.now()
    quiet_until = community.quiet_until(now)
    if not reminder_useful(quiet_until or now, limit.due_at if limit else None):
        return Done()
    if quiet_until is not None:
        return Defer(quiet_until)
    await _tell_handlers(app.bot, app.bot_data.services, community, report, msgid,
                         about=work.kind)
    return Done()


async def acknowledge_soon(app: YishiApp, work: DueWork) -> Outcome:
    return await _remind_handlers(app, work, (ReportStatus.NEW,), N_(
        "Reminder: {ref} ({category}) needs acknowledging soon; it is still {status}."))


async def resolve_soon(app: YishiApp, work: DueWork) -> Outcome:
    return await _remind_handlers(app, work, OPEN_STATUSES, N_(
        "Reminder: {ref} ({category}) should be resolved soon; it is {status}."))


async def acknowledge_limit(app: YishiApp, work: DueWork) -> Outcome:
    return await _escalate(app, work, (ReportStatus.NEW,), N_(
        "Overdue in {group}: {ref} ({category}) was not acknowledged in time; it is still "
        "{status}."))


async def resolve_limit(app: YishiApp, work: DueWork) -> Outcome:
    days = app.bot_data.services.settings.reports.overdue_reminder_days

    async def remind_from_now_on(conn: Connection, now: datetime) -> None:
        # The moderators heard once; from now on whoever has it is reminded until it is
        # resolved, so an overdue report never just sits.
        await due_work.schedule(conn, kind=Timer.OVERDUE.value, key=str(work.payload["report"]),
                                due_at=now + timedelta(days=days), now=now,
                                payload={"report": work.payload["report"]})

    return await _escalate(app, work, OPEN_STATUSES, N_(
        "Overdue in {group}: {ref} ({category}) was not resolved in time; it is {status}."),
        then=remind_from_now_on)


async def overdue_reminder(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``report_overdue``: remind whoever has an overdue report, every
    overdue_reminder_days, until it is resolved (or rejected)."""
    found = await _still_due(app, work, OPEN_STATUSES)
    if not isinstance(found, tuple):
        return found
    report, community = found
    services = app.bot_data.services
    now = services.clock.now()
    late = now - report.created_at
    await _tell_handlers(app.bot, app.bot_data.services, community, report, N_(
        "Still overdue: {ref} ({category}) was filed {days} days ago and is {status}. "
        "Please resolve it or say what is holding it up."), days=str(late.days),
        about=f"overdue:{late.days}")
    return Defer(now + timedelta(days=services.settings.reports.overdue_reminder_days))


async def confirm_wait(app: YishiApp, work: DueWork) -> Outcome:
    """No answer to "is it fixed?" within confirm_days: closed as resolved, unconfirmed."""
    found = await _still_due(app, work, (ReportStatus.RESOLVED,), quiet=False)
    if not isinstance(found, tuple):
        return found
    report, community = found
    # System notes are stored as their English source and translated for each reader.
    await change_status(app.bot_data.services, report, community, ReportStatus.CLOSED,
                        actor=None,
                        note=N_("Resolved, unconfirmed: the reporter did not answer."))
    return Done()
