"""What the scheduler runs for announcements: each run, at its time or after quiet
hours; a run missed while the bot was down goes if it is at most
``[announcements] grace_minutes`` late."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import YishiApp
from bot.domain.announcements import (
    Status,
    next_run,
)
from bot.domain.models import DueWork
from bot.scheduler import Defer, Done, Outcome
from handlers.announcements.lifecycle import run_messages
from storage import announcements as store
from storage import communities, outbox

log = logging.getLogger(__name__)


async def run(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``announcement``: send this run (or skip it if it is too late), then arm
    the next one."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        announcement = await store.get(conn, work.payload["announcement"])
        community = await communities.by_id(conn, announcement.community_id) \
            if announcement else None
    if announcement is None or community is None or announcement.status is not Status.ACTIVE:
        return Done()
    now = services.clock.now()
    following = next_run(announcement.cron, community.timezone, now) \
        if announcement.cron else None
    if announcement.run_at is not None and announcement.run_at > now:
        # This run went and the next is noted (the process died before the scheduler noted
        # it; its lease moved the item's own time on): not again.
        return Defer(announcement.run_at)
    grace = timedelta(minutes=services.settings.announcements.grace_minutes)
    if now - work.due_at > grace or not community.active:
        log.warning("announcement run skipped", extra={
            "announcement": announcement.id, "due": work.due_at.isoformat(),
            "late_minutes": int((now - work.due_at).total_seconds() // 60)})
        async with services.db.transaction() as conn:
            await store.skipped(conn, announcement.id, next_run=following)
        return Defer(following) if following else Done()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None and not announcement.in_quiet_hours:
        return Defer(quiet_until)
    async with services.db.transaction() as conn:
        # The run counted and its message queued together; run again after a crash, the
        # same key is not queued twice.
        await outbox.queue(conn, run_messages(announcement, community,
                                              announcement.run_at or work.due_at), now)
        await store.ran(conn, announcement.id, now=now, next_run=following)
    services.outbox.kick()
    return Defer(following) if following else Done()
