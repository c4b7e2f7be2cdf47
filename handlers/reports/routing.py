"""A new report on its way to its handlers, kept from being lost: the filing arms a due
item that sends the copies again later unless they went at once (the bot dying, or
Telegram failing, right after the reporter was thanked would otherwise leave the report
unseen until its acknowledgement limit ran out)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.domain.models import Community
from bot.domain.reports import Report
from bot.services import Services
from handlers.reports.lifecycle import _group_notice, _route
from storage import Connection, due_work

log = logging.getLogger(__name__)

# Due work, armed with a new report: if its copies have not reached the handlers by then
# (the bot died, or Telegram failed, right after the reporter was thanked), they go again.
ROUTE = "report_route"
ROUTE_AGAIN_AFTER = timedelta(minutes=10)


async def route_armed(conn: Connection, report_id: int, now: datetime) -> None:
    """In the filing's transaction: the copies go again later unless :func:`deliver_new`
    says they went."""
    await due_work.schedule(conn, kind=ROUTE, key=str(report_id),
                            due_at=now + ROUTE_AGAIN_AFTER, now=now,
                            payload={"report": report_id})


async def deliver_new(bot: Bot, services: Services, community: Community,
                      report: Report) -> bool:
    """A new report's copies to its handlers and, if the group is told of new reports,
    the group's notice; True once they went (and the item armed with the filing is done).
    Telegram failing on the way is logged and left to that item, which comes back to it."""
    try:
        await _route(bot, services, community, report)
    except TelegramError as exc:
        log.warning("a new report's copies did not go; trying again later",
                    extra={"report": report.id, "error": str(exc)})
        return False
    if services.settings.reports.post_to_group:
        await _group_notice(services, community, report, "new")
    async with services.db.transaction() as conn:
        await due_work.cancel(conn, kind=ROUTE, key=str(report.id))
    return True
